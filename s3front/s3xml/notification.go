package s3xml

import (
	"encoding/xml"
	"io"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/events/filter"
	"github.com/sluice-io/sluice/s3front/s3err"
)

// Notification limits.
const (
	// MaxNotificationConfigurations bounds the Topic, Queue and
	// CloudFunction configurations of one bucket together.
	MaxNotificationConfigurations = 1000
	// MaxNotificationIDLen bounds a configuration Id.
	MaxNotificationIDLen = 255
	// MaxFilterValueLen bounds a key filter rule value (a key prefix or
	// suffix).
	MaxFilterValueLen = 1024
)

// notificationEvents is the set of event names a configuration may
// subscribe to (the AWS names, with the "s3:" prefix).
var notificationEvents = map[string]struct{}{
	"s3:ObjectCreated:*":                               {},
	"s3:ObjectCreated:Put":                             {},
	"s3:ObjectCreated:Post":                            {},
	"s3:ObjectCreated:Copy":                            {},
	"s3:ObjectCreated:CompleteMultipartUpload":         {},
	"s3:ObjectRemoved:*":                               {},
	"s3:ObjectRemoved:Delete":                          {},
	"s3:ObjectRemoved:DeleteMarkerCreated":             {},
	"s3:ObjectRestore:*":                               {},
	"s3:ObjectRestore:Post":                            {},
	"s3:ObjectRestore:Completed":                       {},
	"s3:ObjectRestore:Delete":                          {},
	"s3:ReducedRedundancyLostObject":                   {},
	"s3:Replication:*":                                 {},
	"s3:Replication:OperationFailedReplication":        {},
	"s3:Replication:OperationMissedThreshold":          {},
	"s3:Replication:OperationReplicatedAfterThreshold": {},
	"s3:Replication:OperationNotTracked":               {},
	"s3:LifecycleExpiration:*":                         {},
	"s3:LifecycleExpiration:Delete":                    {},
	"s3:LifecycleExpiration:DeleteMarkerCreated":       {},
	"s3:LifecycleTransition":                           {},
	"s3:IntelligentTiering":                            {},
	"s3:ObjectTagging:*":                               {},
	"s3:ObjectTagging:Put":                             {},
	"s3:ObjectTagging:Delete":                          {},
	"s3:ObjectAcl:Put":                                 {},
}

// ValidEventName reports whether name is an S3 notification event name
// such as "s3:ObjectCreated:*" or "s3:ObjectRemoved:Delete".
func ValidEventName(name string) bool {
	_, ok := notificationEvents[name]
	return ok
}

// EventNames returns every accepted event name, in no particular order.
func EventNames() []string {
	out := make([]string, 0, len(notificationEvents))
	for n := range notificationEvents {
		out = append(out, n)
	}
	return out
}

// NotificationConfiguration is the PutBucketNotificationConfiguration
// request body and the GetBucketNotificationConfiguration response. An
// empty document removes all notifications.
type NotificationConfiguration struct {
	XMLName                     xml.Name                     `xml:"NotificationConfiguration"`
	TopicConfigurations         []TopicConfiguration         `xml:"TopicConfiguration"`
	QueueConfigurations         []QueueConfiguration         `xml:"QueueConfiguration"`
	CloudFunctionConfigurations []CloudFunctionConfiguration `xml:"CloudFunctionConfiguration"`
	// EventBridgeConfiguration, when non-nil, is the empty
	// <EventBridgeConfiguration/> element that turns EventBridge delivery on.
	EventBridgeConfiguration *EventBridgeConfiguration `xml:"EventBridgeConfiguration,omitempty"`
}

// MarshalXML writes the document with the S3 namespace.
func (n NotificationConfiguration) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain NotificationConfiguration
	return nsMarshal(e, start, "NotificationConfiguration", plain(n))
}

// EventBridgeConfiguration is the empty marker element enabling EventBridge
// delivery.
type EventBridgeConfiguration struct{}

// TopicConfiguration sends events to a topic ARN.
type TopicConfiguration struct {
	ID     string              `xml:"Id,omitempty"`
	Topic  string              `xml:"Topic"`
	Events []string            `xml:"Event"`
	Filter *NotificationFilter `xml:"Filter,omitempty"`
}

// QueueConfiguration sends events to a queue ARN.
type QueueConfiguration struct {
	ID     string              `xml:"Id,omitempty"`
	Queue  string              `xml:"Queue"`
	Events []string            `xml:"Event"`
	Filter *NotificationFilter `xml:"Filter,omitempty"`
}

// CloudFunctionConfiguration sends events to a function ARN.
type CloudFunctionConfiguration struct {
	ID            string              `xml:"Id,omitempty"`
	CloudFunction string              `xml:"CloudFunction"`
	Events        []string            `xml:"Event"`
	Filter        *NotificationFilter `xml:"Filter,omitempty"`
}

// NotificationFilter selects the objects whose events are sent. S3Key is
// the AWS key filter; S3Tags and S3Metadata are the Ceph RGW extensions
// matching object tags and user metadata (rule Name is the tag key or
// metadata key, Value the required value).
type NotificationFilter struct {
	S3Key      *FilterRules `xml:"S3Key,omitempty"`
	S3Tags     *FilterRules `xml:"S3Tags,omitempty"`
	S3Metadata *FilterRules `xml:"S3Metadata,omitempty"`
}

// FilterRules is a list of <FilterRule> elements.
type FilterRules struct {
	Rules []FilterRule `xml:"FilterRule"`
}

// FilterRule is one Name/Value filter rule.
type FilterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

// KeyFilter returns the S3Key prefix and suffix of f (empty when unset).
// Rule names are matched case-insensitively, as AWS does.
func (f *NotificationFilter) KeyFilter() (prefix, suffix string) {
	if f == nil || f.S3Key == nil {
		return "", ""
	}
	for _, r := range f.S3Key.Rules {
		switch strings.ToLower(r.Name) {
		case "prefix":
			prefix = r.Value
		case "suffix":
			suffix = r.Value
		}
	}
	return prefix, suffix
}

// Target is one notification configuration, whatever its kind, as a
// uniform view for callers that route events.
type Target struct {
	// Kind is "Topic", "Queue" or "CloudFunction".
	Kind   string
	ID     string
	ARN    string
	Events []string
	Filter *NotificationFilter
}

// Targets returns every configuration of n in document order: topics, then
// queues, then functions.
func (n *NotificationConfiguration) Targets() []Target {
	var out []Target
	for _, c := range n.TopicConfigurations {
		out = append(out, Target{"Topic", c.ID, c.Topic, c.Events, c.Filter})
	}
	for _, c := range n.QueueConfigurations {
		out = append(out, Target{"Queue", c.ID, c.Queue, c.Events, c.Filter})
	}
	for _, c := range n.CloudFunctionConfigurations {
		out = append(out, Target{"CloudFunction", c.ID, c.CloudFunction, c.Events, c.Filter})
	}
	return out
}

// Validate checks the configuration:
//   - at most MaxNotificationConfigurations configurations;
//   - Ids at most MaxNotificationIDLen bytes and unique when set;
//   - every ARN is a Sluice target ARN (deliver.ParseARN:
//     arn:sluice:{webhook,function,nats}::<name>); whether it names a
//     configured target is the server's check;
//   - at least one Event, each a valid event name (ValidEventName), no
//     duplicates;
//   - S3Key rules named prefix or suffix (any case), each at most once,
//     values at most MaxFilterValueLen bytes;
//   - S3Tags and S3Metadata rules with non-empty, unique names.
//
// Errors (*s3err.Error): InvalidArgument, with ArgumentName set where AWS
// sets it.
func (n *NotificationConfiguration) Validate() error {
	targets := n.Targets()
	if len(targets) > MaxNotificationConfigurations {
		return s3err.Newf(s3err.InvalidArgument, "A bucket may have at most %d notification configurations.", MaxNotificationConfigurations)
	}
	ids := make(map[string]struct{}, len(targets))
	for _, t := range targets {
		if len(t.ID) > MaxNotificationIDLen {
			return s3err.Newf(s3err.InvalidArgument, "The Id of a notification configuration must be at most %d characters.", MaxNotificationIDLen)
		}
		if t.ID != "" {
			if _, dup := ids[t.ID]; dup {
				return s3err.New(s3err.InvalidArgument, "Configuration Ids must be unique.").WithArgument("Id", t.ID)
			}
			ids[t.ID] = struct{}{}
		}
		if _, err := deliver.ParseARN(t.ARN); err != nil {
			return UnknownDestination(t.ARN, "The ARN is not well formed").WithCause(err)
		}
		if len(t.Events) == 0 {
			return s3err.New(s3err.InvalidArgument, "A notification configuration must name at least one event.").WithArgument("Event", "")
		}
		seen := make(map[string]struct{}, len(t.Events))
		for _, ev := range t.Events {
			if !ValidEventName(ev) {
				return s3err.New(s3err.InvalidArgument, "The event is not supported for notifications.").WithArgument("Event", ev)
			}
			if _, dup := seen[ev]; dup {
				return s3err.New(s3err.InvalidArgument, "An event is listed more than once.").WithArgument("Event", ev)
			}
			seen[ev] = struct{}{}
		}
		if err := t.Filter.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (f *NotificationFilter) validate() error {
	if f == nil {
		return nil
	}
	if f.S3Key != nil {
		var prefix, suffix bool
		for _, r := range f.S3Key.Rules {
			var dup bool
			switch strings.ToLower(r.Name) {
			case "prefix":
				dup, prefix = prefix, true
			case "suffix":
				dup, suffix = suffix, true
			default:
				return s3err.New(s3err.InvalidArgument, "Filter rule name must be either prefix or suffix.").WithArgument("FilterRule", r.Name)
			}
			if dup {
				return s3err.Newf(s3err.InvalidArgument, "Cannot specify more than one %s rule in a filter.", strings.ToLower(r.Name)).WithArgument("FilterRule", r.Name)
			}
			if len(r.Value) > MaxFilterValueLen {
				return s3err.New(s3err.InvalidArgument, "The filter rule value is too long.").WithArgument("FilterRule", r.Name)
			}
		}
	}
	for _, rules := range []*FilterRules{f.S3Tags, f.S3Metadata} {
		if rules == nil {
			continue
		}
		seen := make(map[string]struct{}, len(rules.Rules))
		for _, r := range rules.Rules {
			if r.Name == "" {
				return s3err.New(s3err.InvalidArgument, "A filter rule must have a Name.").WithArgument("FilterRule", "")
			}
			if _, dup := seen[r.Name]; dup {
				return s3err.New(s3err.InvalidArgument, "A filter rule name is listed more than once.").WithArgument("FilterRule", r.Name)
			}
			seen[r.Name] = struct{}{}
		}
	}
	return nil
}

// UnknownDestination is the error AWS answers for a configuration naming a
// destination it cannot use: InvalidArgument "Unable to validate the
// following destination configurations", with the ARN as ArgumentName and
// why as ArgumentValue.
func UnknownDestination(arn, why string) *s3err.Error {
	return s3err.New(s3err.InvalidArgument, "Unable to validate the following destination configurations").WithArgument(arn, why)
}

// Subscriptions returns n's configurations as the delivery subscriptions
// of bucket, in document order (topics, queues, functions): the Id, the
// target ARN, the event patterns and the S3Key, S3Tags and S3Metadata
// rules. It validates nothing; call Validate first.
func (n *NotificationConfiguration) Subscriptions(bucket string) []deliver.Subscription {
	var out []deliver.Subscription
	for _, t := range n.Targets() {
		rule := filter.Rule{ID: t.ID, Events: slices.Clone(t.Events)}
		if f := t.Filter; f != nil {
			if f.S3Key != nil {
				for _, r := range f.S3Key.Rules {
					rule.Key = append(rule.Key, filter.FilterRule{Name: strings.ToLower(r.Name), Value: r.Value})
				}
			}
			if f.S3Tags != nil {
				for _, r := range f.S3Tags.Rules {
					rule.Tags = append(rule.Tags, filter.FilterRule(r))
				}
			}
			if f.S3Metadata != nil {
				for _, r := range f.S3Metadata.Rules {
					rule.Metadata = append(rule.Metadata, filter.FilterRule(r))
				}
			}
		}
		out = append(out, deliver.Subscription{Bucket: bucket, ID: t.ID, TargetARN: t.ARN, Rule: rule})
	}
	return out
}

// ParseNotificationConfiguration reads a PutBucketNotificationConfiguration
// body of at most MaxConfigBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, and those of Validate.
func ParseNotificationConfiguration(r io.Reader) (*NotificationConfiguration, error) {
	n := &NotificationConfiguration{}
	if err := decode(r, MaxConfigBody, "NotificationConfiguration", n); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}
