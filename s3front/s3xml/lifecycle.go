package s3xml

import (
	"encoding/xml"
	"io"
	"time"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// MaxNewerNoncurrentVersions bounds NewerNoncurrentVersions, as in AWS.
const MaxNewerNoncurrentVersions = 100

// LifecycleConfiguration is the PutBucketLifecycleConfiguration request
// body and the GetBucketLifecycleConfiguration response. In Sluice a
// Transition's StorageClass names a location.
type LifecycleConfiguration struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration"`
	Rules   []LifecycleRule `xml:"Rule"`
}

// MarshalXML writes the document with the S3 namespace.
func (c LifecycleConfiguration) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain LifecycleConfiguration
	return nsMarshal(e, start, "LifecycleConfiguration", plain(c))
}

// LifecycleRule is one <Rule>: a selector (Filter, or the legacy Prefix)
// and at least one action.
type LifecycleRule struct {
	ID     string           `xml:"ID,omitempty"`
	Filter *LifecycleFilter `xml:"Filter,omitempty"`
	// Prefix is the legacy selector; nil when absent.
	Prefix                         *string                         `xml:"Prefix,omitempty"`
	Status                         string                          `xml:"Status"`
	Expiration                     *Expiration                     `xml:"Expiration,omitempty"`
	Transitions                    []Transition                    `xml:"Transition,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration    `xml:"NoncurrentVersionExpiration,omitempty"`
	NoncurrentVersionTransitions   []NoncurrentVersionTransition   `xml:"NoncurrentVersionTransition,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncompleteMultipartUpload `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

// LifecycleFilter selects objects; at most one field is set, and an empty
// filter selects every object.
type LifecycleFilter struct {
	Prefix                *string       `xml:"Prefix,omitempty"`
	Tag                   *Tag          `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64        `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64        `xml:"ObjectSizeLessThan,omitempty"`
	And                   *LifecycleAnd `xml:"And,omitempty"`
}

// LifecycleAnd is the conjunction of its predicates.
type LifecycleAnd struct {
	Prefix                string `xml:"Prefix,omitempty"`
	Tags                  []Tag  `xml:"Tag"`
	ObjectSizeGreaterThan *int64 `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64 `xml:"ObjectSizeLessThan,omitempty"`
}

// Expiration expires current versions after Days, on Date, or removes
// expired delete markers; exactly one is set.
type Expiration struct {
	Days                      *int  `xml:"Days,omitempty"`
	Date                      Time  `xml:"Date"`
	ExpiredObjectDeleteMarker *bool `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

// Transition moves current versions to StorageClass after Days or on Date;
// exactly one of Days and Date is set.
type Transition struct {
	Days         *int   `xml:"Days,omitempty"`
	Date         Time   `xml:"Date"`
	StorageClass string `xml:"StorageClass"`
}

// NoncurrentVersionExpiration expires noncurrent versions NoncurrentDays
// after they became noncurrent, keeping NewerNoncurrentVersions of them.
type NoncurrentVersionExpiration struct {
	NoncurrentDays          int  `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions,omitempty"`
}

// NoncurrentVersionTransition moves noncurrent versions to StorageClass.
type NoncurrentVersionTransition struct {
	NoncurrentDays          int    `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int   `xml:"NewerNoncurrentVersions,omitempty"`
	StorageClass            string `xml:"StorageClass"`
}

// AbortIncompleteMultipartUpload aborts uploads DaysAfterInitiation days
// after they started.
type AbortIncompleteMultipartUpload struct {
	DaysAfterInitiation int `xml:"DaysAfterInitiation"`
}

// Selector returns the predicates an object must satisfy for r to apply:
// key prefix, tags, and size bounds (nil when unbounded).
func (r *LifecycleRule) Selector() (prefix string, tags []Tag, greaterThan, lessThan *int64) {
	if r.Filter == nil {
		if r.Prefix != nil {
			return *r.Prefix, nil, nil, nil
		}
		return "", nil, nil, nil
	}
	switch f := r.Filter; {
	case f.Prefix != nil:
		return *f.Prefix, nil, nil, nil
	case f.Tag != nil:
		return "", []Tag{*f.Tag}, nil, nil
	case f.ObjectSizeGreaterThan != nil:
		return "", nil, f.ObjectSizeGreaterThan, nil
	case f.ObjectSizeLessThan != nil:
		return "", nil, nil, f.ObjectSizeLessThan
	case f.And != nil:
		return f.And.Prefix, f.And.Tags, f.And.ObjectSizeGreaterThan, f.And.ObjectSizeLessThan
	}
	return "", nil, nil, nil
}

// Validate checks the configuration against the AWS rules:
//   - 1 to MaxRules rules (none: MalformedXML; too many: InvalidRequest);
//   - IDs at most MaxRuleIDLen bytes and unique (InvalidArgument);
//   - Status Enabled or Disabled (MalformedXML);
//   - exactly one of Filter and Prefix, and at most one predicate directly
//     in Filter (MalformedXML); valid tags (InvalidTag), unique tag keys
//     in And (InvalidRequest); sizes non-negative with greater-than below
//     less-than, prefixes at most MaxPrefixLen (InvalidArgument);
//   - at least one action (InvalidRequest);
//   - Expiration: exactly one of Days, Date, ExpiredObjectDeleteMarker
//     (MalformedXML); Days positive, Date at midnight UTC
//     (InvalidArgument); ExpiredObjectDeleteMarker not with a tag filter
//     (InvalidRequest);
//   - Transitions: exactly one of Days (>= 0) and Date (midnight UTC) each,
//     all of one kind (InvalidRequest), a StorageClass (MalformedXML),
//     distinct storage classes and times (InvalidArgument), and all before
//     the Expiration (InvalidArgument);
//   - NoncurrentVersionExpiration: NoncurrentDays positive,
//     NewerNoncurrentVersions 1..MaxNewerNoncurrentVersions
//     (InvalidArgument);
//   - NoncurrentVersionTransitions: NoncurrentDays >= 0, a StorageClass
//     (MalformedXML), distinct classes and days, all before the
//     NoncurrentVersionExpiration (InvalidArgument);
//   - AbortIncompleteMultipartUpload: DaysAfterInitiation positive
//     (InvalidArgument), not with a tag filter (InvalidRequest).
func (c *LifecycleConfiguration) Validate() error {
	if len(c.Rules) == 0 {
		return s3err.New(s3err.MalformedXML, "A lifecycle configuration must have at least one rule.")
	}
	if len(c.Rules) > MaxRules {
		return s3err.Newf(s3err.InvalidRequest, "A lifecycle configuration can have at most %d rules.", MaxRules)
	}
	ids := make(map[string]struct{}, len(c.Rules))
	for i := range c.Rules {
		if err := c.Rules[i].validate(ids); err != nil {
			return err
		}
	}
	return nil
}

func (r *LifecycleRule) validate(ids map[string]struct{}) error {
	if err := validateRuleID(r.ID, ids); err != nil {
		return err
	}
	if !enabledDisabled(r.Status) {
		return s3err.New(s3err.MalformedXML, "Rule Status must be Enabled or Disabled.")
	}
	if (r.Filter == nil) == (r.Prefix == nil) {
		return s3err.New(s3err.MalformedXML, "A rule must have exactly one of Filter and Prefix.")
	}
	if r.Prefix != nil && len(*r.Prefix) > MaxPrefixLen {
		return prefixTooLong()
	}
	if err := r.Filter.validate(); err != nil {
		return err
	}
	_, tags, _, _ := r.Selector()
	if r.Expiration == nil && len(r.Transitions) == 0 && r.NoncurrentVersionExpiration == nil &&
		len(r.NoncurrentVersionTransitions) == 0 && r.AbortIncompleteMultipartUpload == nil {
		return s3err.New(s3err.InvalidRequest, "At least one action needs to be specified in a rule.")
	}
	if err := r.Expiration.validate(len(tags) > 0); err != nil {
		return err
	}
	if err := validateTransitions(r.Transitions, r.Expiration); err != nil {
		return err
	}
	if err := validateNoncurrent(r.NoncurrentVersionExpiration, r.NoncurrentVersionTransitions); err != nil {
		return err
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation <= 0 {
			return s3err.New(s3err.InvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer.").WithArgument("DaysAfterInitiation", "")
		}
		if len(tags) > 0 {
			return s3err.New(s3err.InvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
	}
	return nil
}

func (f *LifecycleFilter) validate() error {
	if f == nil {
		return nil
	}
	set := 0
	for _, ok := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if ok {
			set++
		}
	}
	if set > 1 {
		return s3err.New(s3err.MalformedXML, "A Filter can have only one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And.")
	}
	if f.Prefix != nil && len(*f.Prefix) > MaxPrefixLen {
		return prefixTooLong()
	}
	if f.Tag != nil {
		if err := ValidateTag(*f.Tag); err != nil {
			return err
		}
	}
	if err := validateSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan); err != nil {
		return err
	}
	if a := f.And; a != nil {
		if len(a.Prefix) > MaxPrefixLen {
			return prefixTooLong()
		}
		if err := validateFilterTags(a.Tags); err != nil {
			return err
		}
		if err := validateSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan); err != nil {
			return err
		}
	}
	return nil
}

func validateSizes(gt, lt *int64) error {
	if (gt != nil && *gt < 0) || (lt != nil && *lt < 0) {
		return s3err.New(s3err.InvalidArgument, "Object size filters must be non-negative.")
	}
	if gt != nil && lt != nil && *gt >= *lt {
		return s3err.New(s3err.InvalidArgument, "ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
	}
	return nil
}

func midnightUTC(t time.Time) bool {
	t = t.UTC()
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

func (e *Expiration) validate(tagFilter bool) error {
	if e == nil {
		return nil
	}
	set := 0
	for _, ok := range []bool{e.Days != nil, !e.Date.IsZero(), e.ExpiredObjectDeleteMarker != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return s3err.New(s3err.MalformedXML, "Expiration must have exactly one of Days, Date and ExpiredObjectDeleteMarker.")
	}
	if e.Days != nil && *e.Days <= 0 {
		return s3err.New(s3err.InvalidArgument, "'Days' for Expiration action must be a positive integer.").WithArgument("Days", "")
	}
	if !e.Date.IsZero() && !midnightUTC(e.Date.Time) {
		return s3err.New(s3err.InvalidArgument, "'Date' must be at midnight GMT.").WithArgument("Date", "")
	}
	if e.ExpiredObjectDeleteMarker != nil && tagFilter {
		return s3err.New(s3err.InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with tags.")
	}
	return nil
}

func validateTransitions(ts []Transition, exp *Expiration) error {
	classes := make(map[string]struct{}, len(ts))
	days := make(map[int]struct{}, len(ts))
	dates := make(map[time.Time]struct{}, len(ts))
	for _, t := range ts {
		hasDays, hasDate := t.Days != nil, !t.Date.IsZero()
		if hasDays == hasDate {
			return s3err.New(s3err.MalformedXML, "Transition must have exactly one of Days and Date.")
		}
		if t.StorageClass == "" {
			return s3err.New(s3err.MalformedXML, "Transition must have a StorageClass.")
		}
		if _, dup := classes[t.StorageClass]; dup {
			return s3err.New(s3err.InvalidArgument, "'StorageClass' must be different for 'Transition' actions in same 'Rule'.").WithArgument("StorageClass", t.StorageClass)
		}
		classes[t.StorageClass] = struct{}{}
		if hasDays {
			if *t.Days < 0 {
				return s3err.New(s3err.InvalidArgument, "'Days' for Transition action must be a non-negative integer.").WithArgument("Days", "")
			}
			if _, dup := days[*t.Days]; dup {
				return s3err.New(s3err.InvalidArgument, "'Days' must be different for 'Transition' actions in same 'Rule'.").WithArgument("Days", "")
			}
			days[*t.Days] = struct{}{}
			if exp != nil && exp.Days != nil && *exp.Days <= *t.Days {
				return s3err.New(s3err.InvalidArgument, "'Days' in the Expiration action must be greater than 'Days' in the Transition action.").WithArgument("Days", "")
			}
		} else {
			if !midnightUTC(t.Date.Time) {
				return s3err.New(s3err.InvalidArgument, "'Date' must be at midnight GMT.").WithArgument("Date", "")
			}
			if _, dup := dates[t.Date.Time]; dup {
				return s3err.New(s3err.InvalidArgument, "'Date' must be different for 'Transition' actions in same 'Rule'.").WithArgument("Date", "")
			}
			dates[t.Date.Time] = struct{}{}
			if exp != nil && !exp.Date.IsZero() && !exp.Date.After(t.Date.Time) {
				return s3err.New(s3err.InvalidArgument, "'Date' in the Expiration action must be later than 'Date' in the Transition action.").WithArgument("Date", "")
			}
		}
	}
	if len(days) > 0 && len(dates) > 0 {
		return s3err.New(s3err.InvalidRequest, "Found mixed 'Date' and 'Days' based Transition actions in a lifecycle rule.")
	}
	return nil
}

func validateNewer(n *int) error {
	if n != nil && (*n < 1 || *n > MaxNewerNoncurrentVersions) {
		return s3err.Newf(s3err.InvalidArgument, "NewerNoncurrentVersions must be between 1 and %d.", MaxNewerNoncurrentVersions).WithArgument("NewerNoncurrentVersions", "")
	}
	return nil
}

func validateNoncurrent(exp *NoncurrentVersionExpiration, ts []NoncurrentVersionTransition) error {
	if exp != nil {
		if exp.NoncurrentDays <= 0 {
			return s3err.New(s3err.InvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer.").WithArgument("NoncurrentDays", "")
		}
		if err := validateNewer(exp.NewerNoncurrentVersions); err != nil {
			return err
		}
	}
	classes := make(map[string]struct{}, len(ts))
	days := make(map[int]struct{}, len(ts))
	for _, t := range ts {
		if t.StorageClass == "" {
			return s3err.New(s3err.MalformedXML, "NoncurrentVersionTransition must have a StorageClass.")
		}
		if t.NoncurrentDays < 0 {
			return s3err.New(s3err.InvalidArgument, "'NoncurrentDays' for NoncurrentVersionTransition action must be a non-negative integer.").WithArgument("NoncurrentDays", "")
		}
		if err := validateNewer(t.NewerNoncurrentVersions); err != nil {
			return err
		}
		if _, dup := classes[t.StorageClass]; dup {
			return s3err.New(s3err.InvalidArgument, "'StorageClass' must be different for 'NoncurrentVersionTransition' actions in same 'Rule'.").WithArgument("StorageClass", t.StorageClass)
		}
		classes[t.StorageClass] = struct{}{}
		if _, dup := days[t.NoncurrentDays]; dup {
			return s3err.New(s3err.InvalidArgument, "'NoncurrentDays' must be different for 'NoncurrentVersionTransition' actions in same 'Rule'.").WithArgument("NoncurrentDays", "")
		}
		days[t.NoncurrentDays] = struct{}{}
		if exp != nil && exp.NoncurrentDays <= t.NoncurrentDays {
			return s3err.New(s3err.InvalidArgument, "'NoncurrentDays' in the NoncurrentVersionExpiration action must be greater than 'NoncurrentDays' in the NoncurrentVersionTransition action.").WithArgument("NoncurrentDays", "")
		}
	}
	return nil
}

// ParseLifecycleConfiguration reads a PutBucketLifecycleConfiguration body
// of at most MaxConfigBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, and those of Validate.
func ParseLifecycleConfiguration(r io.Reader) (*LifecycleConfiguration, error) {
	c := &LifecycleConfiguration{}
	if err := decode(r, MaxConfigBody, "LifecycleConfiguration", c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
