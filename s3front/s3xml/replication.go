package s3xml

import (
	"encoding/xml"
	"io"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Limits shared by replication and lifecycle rules.
const (
	MaxRules     = 1000 // rules per configuration
	MaxRuleIDLen = 255  // bytes in a rule ID
	MaxPrefixLen = 1024 // bytes in a filter prefix
)

// ReplicationConfiguration is the PutBucketReplication request body and the
// GetBucketReplication response. In Sluice, Role is optional and each
// rule's Destination StorageClass (or Bucket) names a location.
type ReplicationConfiguration struct {
	XMLName xml.Name          `xml:"ReplicationConfiguration"`
	Role    string            `xml:"Role,omitempty"`
	Rules   []ReplicationRule `xml:"Rule"`
}

// MarshalXML writes the document with the S3 namespace.
func (c ReplicationConfiguration) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain ReplicationConfiguration
	return nsMarshal(e, start, "ReplicationConfiguration", plain(c))
}

// ReplicationRule is one <Rule>. A rule with a Filter uses the current
// (V2) schema; a rule without one uses the legacy (V1) schema with Prefix.
type ReplicationRule struct {
	ID       string             `xml:"ID,omitempty"`
	Priority *int               `xml:"Priority,omitempty"`
	Status   string             `xml:"Status"`
	Filter   *ReplicationFilter `xml:"Filter,omitempty"`
	// Prefix is the legacy V1 selector; nil when absent.
	Prefix                    *string                  `xml:"Prefix,omitempty"`
	Destination               *Destination             `xml:"Destination,omitempty"`
	DeleteMarkerReplication   *StatusElement           `xml:"DeleteMarkerReplication,omitempty"`
	ExistingObjectReplication *StatusElement           `xml:"ExistingObjectReplication,omitempty"`
	SourceSelectionCriteria   *SourceSelectionCriteria `xml:"SourceSelectionCriteria,omitempty"`
}

// StatusElement is an element holding just <Status>.
type StatusElement struct {
	Status string `xml:"Status"`
}

// Enabled reports whether s is non-nil with Status Enabled.
func (s *StatusElement) Enabled() bool { return s != nil && s.Status == StatusEnabled }

// ReplicationFilter selects objects by prefix, one tag, or a conjunction;
// at most one of its fields is set. An empty filter selects every object.
type ReplicationFilter struct {
	Prefix *string         `xml:"Prefix,omitempty"`
	Tag    *Tag            `xml:"Tag,omitempty"`
	And    *ReplicationAnd `xml:"And,omitempty"`
}

// ReplicationAnd is the conjunction of a prefix and tags.
type ReplicationAnd struct {
	Prefix string `xml:"Prefix,omitempty"`
	Tags   []Tag  `xml:"Tag"`
}

// Destination says where a rule replicates to.
type Destination struct {
	Bucket                   string                    `xml:"Bucket"`
	Account                  string                    `xml:"Account,omitempty"`
	StorageClass             string                    `xml:"StorageClass,omitempty"`
	AccessControlTranslation *AccessControlTranslation `xml:"AccessControlTranslation,omitempty"`
	EncryptionConfiguration  *EncryptionConfiguration  `xml:"EncryptionConfiguration,omitempty"`
	ReplicationTime          *ReplicationTime          `xml:"ReplicationTime,omitempty"`
	Metrics                  *ReplicationMetrics       `xml:"Metrics,omitempty"`
}

// AccessControlTranslation changes replica ownership.
type AccessControlTranslation struct {
	Owner string `xml:"Owner"`
}

// EncryptionConfiguration names the KMS key for replicas.
type EncryptionConfiguration struct {
	ReplicaKmsKeyID string `xml:"ReplicaKmsKeyID,omitempty"`
}

// ReplicationTime is S3 Replication Time Control.
type ReplicationTime struct {
	Status string       `xml:"Status"`
	Time   *TimeMinutes `xml:"Time,omitempty"`
}

// ReplicationMetrics turns replication metrics on.
type ReplicationMetrics struct {
	Status         string       `xml:"Status"`
	EventThreshold *TimeMinutes `xml:"EventThreshold,omitempty"`
}

// TimeMinutes is a duration in minutes.
type TimeMinutes struct {
	Minutes int `xml:"Minutes"`
}

// SourceSelectionCriteria selects special source objects.
type SourceSelectionCriteria struct {
	SseKmsEncryptedObjects *StatusElement `xml:"SseKmsEncryptedObjects,omitempty"`
	ReplicaModifications   *StatusElement `xml:"ReplicaModifications,omitempty"`
}

// Selector returns the key prefix and tags an object must have to be
// replicated by r, whichever schema r uses.
func (r *ReplicationRule) Selector() (prefix string, tags []Tag) {
	if r.Filter == nil {
		if r.Prefix != nil {
			return *r.Prefix, nil
		}
		return "", nil
	}
	switch f := r.Filter; {
	case f.Prefix != nil:
		return *f.Prefix, nil
	case f.Tag != nil:
		return "", []Tag{*f.Tag}
	case f.And != nil:
		return f.And.Prefix, f.And.Tags
	}
	return "", nil
}

func enabledDisabled(s string) bool { return s == StatusEnabled || s == StatusDisabled }

// Validate checks the configuration against the AWS rules:
//   - 1 to MaxRules rules (none: MalformedXML; too many: InvalidRequest);
//   - IDs at most MaxRuleIDLen bytes and unique (InvalidArgument);
//   - Status Enabled or Disabled (MalformedXML), likewise every nested
//     Status;
//   - not both Filter and Prefix, at most one of Filter's Prefix, Tag, And
//     (MalformedXML); valid tags (InvalidTag), no duplicate tag keys in And
//     (InvalidRequest); prefixes at most MaxPrefixLen (InvalidArgument);
//   - all rules use the same schema (InvalidRequest);
//   - with Filter (V2): Priority present, non-negative and unique,
//     DeleteMarkerReplication present, and not Enabled together with a tag
//     filter (InvalidRequest; a negative Priority is InvalidArgument);
//   - a Destination with a Bucket (MalformedXML).
//
// Role is optional.
func (c *ReplicationConfiguration) Validate() error {
	if len(c.Rules) == 0 {
		return s3err.New(s3err.MalformedXML, "A replication configuration must have at least one rule.")
	}
	if len(c.Rules) > MaxRules {
		return s3err.Newf(s3err.InvalidRequest, "A replication configuration can have at most %d rules.", MaxRules)
	}
	ids := make(map[string]struct{}, len(c.Rules))
	priorities := make(map[int]struct{}, len(c.Rules))
	v2 := c.Rules[0].Filter != nil
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := validateRuleID(r.ID, ids); err != nil {
			return err
		}
		if !enabledDisabled(r.Status) {
			return s3err.New(s3err.MalformedXML, "Rule Status must be Enabled or Disabled.")
		}
		if (r.Filter != nil) != v2 {
			return s3err.New(s3err.InvalidRequest, "All rules must use the same replication configuration schema: either all with Filter or all with Prefix.")
		}
		if r.Filter != nil && r.Prefix != nil {
			return s3err.New(s3err.MalformedXML, "A rule cannot have both Filter and Prefix.")
		}
		if r.Prefix != nil && len(*r.Prefix) > MaxPrefixLen {
			return prefixTooLong()
		}
		if err := r.Filter.validate(); err != nil {
			return err
		}
		if v2 {
			if r.Priority == nil {
				return s3err.New(s3err.InvalidRequest, "Priority must be specified for this version of the replication configuration schema.")
			}
			if *r.Priority < 0 {
				return s3err.New(s3err.InvalidArgument, "Priority must be a non-negative integer.").WithArgument("Priority", "")
			}
			if _, dup := priorities[*r.Priority]; dup {
				return s3err.Newf(s3err.InvalidRequest, "Found duplicate priority %d in rules.", *r.Priority)
			}
			priorities[*r.Priority] = struct{}{}
			if r.DeleteMarkerReplication == nil {
				return s3err.New(s3err.InvalidRequest, "DeleteMarkerReplication must be specified for this version of the replication configuration schema.")
			}
			if _, tags := r.Selector(); len(tags) > 0 && r.DeleteMarkerReplication.Enabled() {
				return s3err.New(s3err.InvalidRequest, "Delete marker replication is not supported if any Tag filter is specified.")
			}
		}
		for _, s := range []*StatusElement{r.DeleteMarkerReplication, r.ExistingObjectReplication} {
			if s != nil && !enabledDisabled(s.Status) {
				return s3err.New(s3err.MalformedXML, "Status must be Enabled or Disabled.")
			}
		}
		if ssc := r.SourceSelectionCriteria; ssc != nil {
			for _, s := range []*StatusElement{ssc.SseKmsEncryptedObjects, ssc.ReplicaModifications} {
				if s != nil && !enabledDisabled(s.Status) {
					return s3err.New(s3err.MalformedXML, "Status must be Enabled or Disabled.")
				}
			}
		}
		if err := r.Destination.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (d *Destination) validate() error {
	if d == nil || d.Bucket == "" {
		return s3err.New(s3err.MalformedXML, "A replication rule must have a Destination with a Bucket.")
	}
	if d.ReplicationTime != nil && !enabledDisabled(d.ReplicationTime.Status) {
		return s3err.New(s3err.MalformedXML, "ReplicationTime Status must be Enabled or Disabled.")
	}
	if d.Metrics != nil && !enabledDisabled(d.Metrics.Status) {
		return s3err.New(s3err.MalformedXML, "Metrics Status must be Enabled or Disabled.")
	}
	for _, t := range []*TimeMinutes{timeOf(d.ReplicationTime), thresholdOf(d.Metrics)} {
		if t != nil && t.Minutes <= 0 {
			return s3err.New(s3err.InvalidArgument, "Minutes must be a positive integer.").WithArgument("Minutes", "")
		}
	}
	return nil
}

func timeOf(rt *ReplicationTime) *TimeMinutes {
	if rt == nil {
		return nil
	}
	return rt.Time
}

func thresholdOf(m *ReplicationMetrics) *TimeMinutes {
	if m == nil {
		return nil
	}
	return m.EventThreshold
}

func (f *ReplicationFilter) validate() error {
	if f == nil {
		return nil
	}
	set := 0
	for _, ok := range []bool{f.Prefix != nil, f.Tag != nil, f.And != nil} {
		if ok {
			set++
		}
	}
	if set > 1 {
		return s3err.New(s3err.MalformedXML, "A Filter can have only one of Prefix, Tag or And.")
	}
	if f.Prefix != nil && len(*f.Prefix) > MaxPrefixLen {
		return prefixTooLong()
	}
	if f.Tag != nil {
		if err := ValidateTag(*f.Tag); err != nil {
			return err
		}
	}
	if f.And != nil {
		if len(f.And.Prefix) > MaxPrefixLen {
			return prefixTooLong()
		}
		if err := validateFilterTags(f.And.Tags); err != nil {
			return err
		}
	}
	return nil
}

// validateFilterTags checks the tags of an And filter: each valid
// (InvalidTag) and keys unique (InvalidRequest).
func validateFilterTags(tags []Tag) error {
	seen := make(map[string]struct{}, len(tags))
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
		if _, dup := seen[t.Key]; dup {
			return s3err.New(s3err.InvalidRequest, "Duplicate Tag Keys are not allowed.")
		}
		seen[t.Key] = struct{}{}
	}
	return nil
}

func validateRuleID(id string, seen map[string]struct{}) error {
	if len(id) > MaxRuleIDLen {
		return s3err.Newf(s3err.InvalidArgument, "ID length should not exceed allowed limit of %d.", MaxRuleIDLen).WithArgument("ID", "")
	}
	if id == "" {
		return nil
	}
	if _, dup := seen[id]; dup {
		return s3err.New(s3err.InvalidArgument, "Rule ID must be unique. Found same ID for more than one rule.").WithArgument("ID", id)
	}
	seen[id] = struct{}{}
	return nil
}

func prefixTooLong() error {
	return s3err.Newf(s3err.InvalidArgument, "Prefix must be at most %d bytes.", MaxPrefixLen).WithArgument("Prefix", "")
}

// ParseReplicationConfiguration reads a PutBucketReplication body of at
// most MaxConfigBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, and those of Validate.
func ParseReplicationConfiguration(r io.Reader) (*ReplicationConfiguration, error) {
	c := &ReplicationConfiguration{}
	if err := decode(r, MaxConfigBody, "ReplicationConfiguration", c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
