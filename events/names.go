package events

import (
	"fmt"
	"strings"
)

// EventName is an S3 event name as AWS writes it in a record's eventName field,
// without the "s3:" prefix that notification configurations use:
// "ObjectCreated:Put", "LifecycleTransition".
//
// A name is a category, optionally followed by ":" and an action.
type EventName string

// The event names Sluice produces and accepts (AWS's names; see DESIGN.md).
const (
	ObjectCreatedPut                     EventName = "ObjectCreated:Put"
	ObjectCreatedPost                    EventName = "ObjectCreated:Post"
	ObjectCreatedCopy                    EventName = "ObjectCreated:Copy"
	ObjectCreatedCompleteMultipartUpload EventName = "ObjectCreated:CompleteMultipartUpload"

	ObjectRemovedDelete              EventName = "ObjectRemoved:Delete"
	ObjectRemovedDeleteMarkerCreated EventName = "ObjectRemoved:DeleteMarkerCreated"

	ObjectTaggingPut    EventName = "ObjectTagging:Put"
	ObjectTaggingDelete EventName = "ObjectTagging:Delete"

	ObjectRestorePost      EventName = "ObjectRestore:Post"
	ObjectRestoreCompleted EventName = "ObjectRestore:Completed"
	ObjectRestoreDelete    EventName = "ObjectRestore:Delete"

	ReplicationOperationFailedReplication        EventName = "Replication:OperationFailedReplication"
	ReplicationOperationMissedThreshold          EventName = "Replication:OperationMissedThreshold"
	ReplicationOperationReplicatedAfterThreshold EventName = "Replication:OperationReplicatedAfterThreshold"
	ReplicationOperationNotTracked               EventName = "Replication:OperationNotTracked"
	LifecycleExpirationDelete                    EventName = "LifecycleExpiration:Delete"
	LifecycleExpirationDeleteMarkerCreated       EventName = "LifecycleExpiration:DeleteMarkerCreated"
	LifecycleTransition                          EventName = "LifecycleTransition"
	TestEvent                                    EventName = "TestEvent"
)

// The event categories: the part of an EventName before the ":".
const (
	CategoryObjectCreated       = "ObjectCreated"
	CategoryObjectRemoved       = "ObjectRemoved"
	CategoryObjectTagging       = "ObjectTagging"
	CategoryObjectRestore       = "ObjectRestore"
	CategoryReplication         = "Replication"
	CategoryLifecycleExpiration = "LifecycleExpiration"
	CategoryLifecycleTransition = "LifecycleTransition"
	CategoryTestEvent           = "TestEvent"
)

// S3Prefix is the prefix notification configurations put before event names
// ("s3:ObjectCreated:Put").
const S3Prefix = "s3:"

// allNames lists every known name in a stable order.
var allNames = []EventName{
	ObjectCreatedPut, ObjectCreatedPost, ObjectCreatedCopy, ObjectCreatedCompleteMultipartUpload,
	ObjectRemovedDelete, ObjectRemovedDeleteMarkerCreated,
	ObjectTaggingPut, ObjectTaggingDelete,
	ObjectRestorePost, ObjectRestoreCompleted, ObjectRestoreDelete,
	ReplicationOperationFailedReplication, ReplicationOperationMissedThreshold,
	ReplicationOperationReplicatedAfterThreshold, ReplicationOperationNotTracked,
	LifecycleExpirationDelete, LifecycleExpirationDeleteMarkerCreated,
	LifecycleTransition,
	TestEvent,
}

var knownNames = func() map[EventName]bool {
	m := make(map[EventName]bool, len(allNames))
	for _, n := range allNames {
		m[n] = true
	}
	return m
}()

// categoriesWithActions are the categories whose names carry an action, and
// so the only ones a "Category:*" pattern may name.
var categoriesWithActions = map[string]bool{
	CategoryObjectCreated: true, CategoryObjectRemoved: true, CategoryObjectTagging: true,
	CategoryObjectRestore: true, CategoryReplication: true, CategoryLifecycleExpiration: true,
}

// AllEventNames returns every known event name, in a stable order. The caller
// owns the returned slice.
func AllEventNames() []EventName {
	return append([]EventName(nil), allNames...)
}

// Valid reports whether n is one of the known event names (without "s3:").
func (n EventName) Valid() bool { return knownNames[n] }

// Category returns the part of n before the first ":" (all of n if it has none).
func (n EventName) Category() string {
	c, _, _ := strings.Cut(string(n), ":")
	return c
}

// Action returns the part of n after the first ":", or "" when n has no action
// (LifecycleTransition, TestEvent).
func (n EventName) Action() string {
	_, a, _ := strings.Cut(string(n), ":")
	return a
}

// S3 returns the "s3:"-prefixed form used in notification configurations:
// "s3:ObjectCreated:Put".
func (n EventName) S3() string { return S3Prefix + string(n) }

// String returns n as written in a record's eventName field.
func (n EventName) String() string { return string(n) }

// ParseEventName accepts a known event name with or without the "s3:" prefix
// and returns it without the prefix. It returns an error wrapping
// ErrUnknownEventName for anything else (including patterns with "*").
func ParseEventName(s string) (EventName, error) {
	n := EventName(strings.TrimPrefix(s, S3Prefix))
	if !n.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownEventName, s)
	}
	return n, nil
}

// Pattern is an event-name pattern from a notification configuration, with
// AWS semantics: either one exact name ("s3:ObjectCreated:Put") or every
// action of one category ("s3:ObjectCreated:*").
type Pattern struct {
	// Category is the event category ("ObjectCreated").
	Category string
	// Action is the exact action ("Put"); "" when Wildcard is set or when the
	// category has no actions (LifecycleTransition).
	Action string
	// Wildcard is set for "Category:*" patterns.
	Wildcard bool
}

// ParsePattern parses an event-name pattern, with or without the "s3:" prefix.
// Accepted forms are a known event name and "Category:*" for a category that
// has actions. Anything else (unknown names, "s3:*", "ObjectCreated:P*",
// "LifecycleTransition:*") returns an error wrapping ErrUnknownEventName, as
// AWS rejects such configurations.
func ParsePattern(s string) (Pattern, error) {
	body := strings.TrimPrefix(s, S3Prefix)
	if cat, ok := strings.CutSuffix(body, ":*"); ok {
		if !categoriesWithActions[cat] {
			return Pattern{}, fmt.Errorf("%w: %q", ErrUnknownEventName, s)
		}
		return Pattern{Category: cat, Wildcard: true}, nil
	}
	n, err := ParseEventName(s)
	if err != nil {
		return Pattern{}, err
	}
	return Pattern{Category: n.Category(), Action: n.Action()}, nil
}

// Match reports whether the event name n (without "s3:") is selected by p.
func (p Pattern) Match(n EventName) bool {
	if p.Wildcard {
		return n.Category() == p.Category && n.Action() != ""
	}
	return n.Category() == p.Category && n.Action() == p.Action
}

// String returns the "s3:"-prefixed form of p ("s3:ObjectCreated:*").
func (p Pattern) String() string {
	switch {
	case p.Wildcard:
		return S3Prefix + p.Category + ":*"
	case p.Action == "":
		return S3Prefix + p.Category
	default:
		return S3Prefix + p.Category + ":" + p.Action
	}
}
