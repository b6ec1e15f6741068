// Package filter implements S3 bucket notification filter rules: which
// events of a bucket a notification configuration selects.
//
// A Rule holds what one configuration (QueueConfiguration, TopicConfiguration,
// ... in PutBucketNotificationConfiguration) says: event-name patterns
// (<Event>), key filter rules (<Filter><S3Key><FilterRule>), and the Ceph
// extensions <S3Tags> and <S3Metadata>. An event matches a Rule when its name
// matches one of the patterns and every filter rule holds.
package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/events"
)

// Sentinel errors returned (wrapped) by Validate and ValidateConfig.
var (
	// ErrNoEvents: a rule lists no event pattern (AWS requires one).
	ErrNoEvents = errors.New("filter: rule has no events")
	// ErrInvalidFilterName: a key filter rule is not named prefix or suffix,
	// or a tag or metadata filter rule has an empty name.
	ErrInvalidFilterName = errors.New("filter: invalid filter rule name")
	// ErrDuplicateFilterRule: more than one prefix or suffix rule, or a tag or
	// metadata name listed twice.
	ErrDuplicateFilterRule = errors.New("filter: duplicate filter rule")
	// ErrInvalidFilterValue: a filter value is longer than MaxValueLen.
	ErrInvalidFilterValue = errors.New("filter: invalid filter rule value")
	// ErrOverlap: two rules of one configuration can select the same event
	// (ValidateConfig).
	ErrOverlap = errors.New("filter: overlapping rules")
)

// Key filter rule names (matched without regard to case, as AWS does).
const (
	NamePrefix = "prefix"
	NameSuffix = "suffix"
)

// MaxValueLen is the longest filter value AWS accepts.
const MaxValueLen = 1024

// MetaPrefix is the header prefix of user metadata; metadata filter names may
// carry it or not ("x-amz-meta-camera" and "camera" are the same).
const MetaPrefix = "x-amz-meta-"

// FilterRule is one name/value pair of a filter.
type FilterRule struct {
	Name  string
	Value string
}

// Rule is one notification configuration's selection.
type Rule struct {
	// ID is the configuration id (for messages only).
	ID string
	// Events are event-name patterns: "s3:ObjectCreated:*",
	// "s3:ObjectRemoved:Delete", with or without "s3:" (see events.ParsePattern).
	Events []string
	// Key holds at most one "prefix" and one "suffix" rule; the object key
	// must start with the prefix and end with the suffix (case-sensitive).
	Key []FilterRule
	// Tags (Ceph's S3Tags): the object must carry every listed tag with
	// exactly that value. Names and values are case-sensitive.
	Tags []FilterRule
	// Metadata (Ceph's S3Metadata): the object must carry every listed user
	// metadata entry with exactly that value. Names are case-insensitive and
	// may carry MetaPrefix; values are case-sensitive.
	Metadata []FilterRule
}

// Object is what a rule is matched against.
type Object struct {
	EventName events.EventName
	// Key is the real (decoded) object key.
	Key string
	// Tags are the object's tags.
	Tags map[string]string
	// Metadata is the object's user metadata (names as in Rule.Metadata).
	Metadata map[string]string
}

// ObjectFromRecord takes the event name, decoded key, tags and user metadata
// from a record. It returns an error wrapping events.ErrInvalidKey when the
// record's key is not valid encoding.
func ObjectFromRecord(rec events.Record) (Object, error) {
	key, err := rec.ObjectKey()
	if err != nil {
		return Object{}, err
	}
	o := Object{EventName: rec.EventName, Key: key}
	if rec.Sluice != nil {
		o.Tags, o.Metadata = rec.Sluice.Tags, rec.Sluice.UserMetadata
	}
	return o, nil
}

// Validate reports the first problem AWS (or, for tags and metadata, Ceph)
// would reject: no events (ErrNoEvents), an unknown event name or pattern
// (events.ErrUnknownEventName), a key rule not named prefix or suffix or an
// empty tag or metadata name (ErrInvalidFilterName), more than one prefix or
// suffix or a repeated tag or metadata name (ErrDuplicateFilterRule), a
// value longer than MaxValueLen (ErrInvalidFilterValue).
func (r Rule) Validate() error {
	if len(r.Events) == 0 {
		return fmt.Errorf("rule %q: %w", r.ID, ErrNoEvents)
	}
	for _, e := range r.Events {
		if _, err := events.ParsePattern(e); err != nil {
			return fmt.Errorf("rule %q: %w", r.ID, err)
		}
	}
	for _, fr := range slices.Concat(r.Key, r.Tags, r.Metadata) {
		if len(fr.Value) > MaxValueLen {
			return fmt.Errorf("rule %q: %w: %q is longer than %d bytes", r.ID, ErrInvalidFilterValue, fr.Name, MaxValueLen)
		}
	}
	seen := map[string]bool{}
	for _, k := range r.Key {
		name := strings.ToLower(k.Name)
		if name != NamePrefix && name != NameSuffix {
			return fmt.Errorf("rule %q: %w: %q (want prefix or suffix)", r.ID, ErrInvalidFilterName, k.Name)
		}
		if seen[name] {
			return fmt.Errorf("rule %q: %w: more than one %s rule", r.ID, ErrDuplicateFilterRule, name)
		}
		seen[name] = true
	}
	for _, set := range []struct {
		what  string
		rules []FilterRule
		norm  func(string) string
	}{{"tag", r.Tags, func(s string) string { return s }}, {"metadata", r.Metadata, metaName}} {
		names := map[string]bool{}
		for _, fr := range set.rules {
			n := set.norm(fr.Name)
			if n == "" {
				return fmt.Errorf("rule %q: %w: empty %s name", r.ID, ErrInvalidFilterName, set.what)
			}
			if names[n] {
				return fmt.Errorf("rule %q: %w: %s %q listed twice", r.ID, ErrDuplicateFilterRule, set.what, fr.Name)
			}
			names[n] = true
		}
	}
	return nil
}

// Match reports whether o is selected by r. Meant for validated rules; on an
// invalid one, unknown patterns and key rules with other names match nothing.
func (r Rule) Match(o Object) bool {
	return r.matchEvent(o.EventName) && r.matchKey(o.Key) && matchTags(r.Tags, o.Tags) && matchMetadata(r.Metadata, o.Metadata)
}

// MatchRecord is Match on ObjectFromRecord(rec); a record whose key does not
// decode matches nothing.
func (r Rule) MatchRecord(rec events.Record) bool {
	o, err := ObjectFromRecord(rec)
	return err == nil && r.Match(o)
}

func (r Rule) matchEvent(n events.EventName) bool {
	for _, e := range r.Events {
		if p, err := events.ParsePattern(e); err == nil && p.Match(n) {
			return true
		}
	}
	return false
}

func (r Rule) matchKey(key string) bool {
	for _, k := range r.Key {
		switch strings.ToLower(k.Name) {
		case NamePrefix:
			if !strings.HasPrefix(key, k.Value) {
				return false
			}
		case NameSuffix:
			if !strings.HasSuffix(key, k.Value) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func matchTags(want []FilterRule, have map[string]string) bool {
	for _, w := range want {
		if v, ok := have[w.Name]; !ok || v != w.Value {
			return false
		}
	}
	return true
}

func matchMetadata(want []FilterRule, have map[string]string) bool {
	if len(want) == 0 {
		return true
	}
	norm := make(map[string]string, len(have))
	for k, v := range have {
		norm[metaName(k)] = v
	}
	for _, w := range want {
		if v, ok := norm[metaName(w.Name)]; !ok || v != w.Value {
			return false
		}
	}
	return true
}

// metaName normalizes a user metadata name: lower case, without MetaPrefix.
func metaName(s string) string {
	return strings.TrimPrefix(strings.ToLower(s), MetaPrefix)
}

// keyFilter returns a rule's prefix and suffix ("" when absent).
func (r Rule) keyFilter() (prefix, suffix string) {
	for _, k := range r.Key {
		switch strings.ToLower(k.Name) {
		case NamePrefix:
			prefix = k.Value
		case NameSuffix:
			suffix = k.Value
		}
	}
	return prefix, suffix
}

// Overlaps reports whether some event could match both a and b judging by
// events and key filters only, as AWS does: they share an event name, their
// prefixes overlap (one starts with the other) and so do their suffixes (one
// ends with the other). Rules with tag or metadata filters are taken never to
// overlap, since those filters may tell them apart.
func Overlaps(a, b Rule) bool {
	if len(a.Tags)+len(a.Metadata)+len(b.Tags)+len(b.Metadata) > 0 {
		return false
	}
	shared := false
	for _, n := range events.AllEventNames() {
		if a.matchEvent(n) && b.matchEvent(n) {
			shared = true
			break
		}
	}
	if !shared {
		return false
	}
	ap, as := a.keyFilter()
	bp, bs := b.keyFilter()
	return (strings.HasPrefix(ap, bp) || strings.HasPrefix(bp, ap)) &&
		(strings.HasSuffix(as, bs) || strings.HasSuffix(bs, as))
}

// ValidateConfig validates each rule of one bucket's notification
// configuration (see Rule.Validate) and then rejects, as AWS does, two rules
// that overlap (ErrOverlap, see Overlaps).
func ValidateConfig(rules ...Rule) error {
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	for i := range rules {
		for j := i + 1; j < len(rules); j++ {
			if Overlaps(rules[i], rules[j]) {
				return fmt.Errorf("%w: rules %q and %q can match the same event", ErrOverlap, rules[i].ID, rules[j].ID)
			}
		}
	}
	return nil
}
