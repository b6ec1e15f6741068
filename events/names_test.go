package events

import (
	"errors"
	"testing"
)

func TestEventNames(t *testing.T) {
	cases := []struct {
		name             EventName
		category, action string
	}{
		{ObjectCreatedPut, "ObjectCreated", "Put"},
		{ObjectCreatedPost, "ObjectCreated", "Post"},
		{ObjectCreatedCopy, "ObjectCreated", "Copy"},
		{ObjectCreatedCompleteMultipartUpload, "ObjectCreated", "CompleteMultipartUpload"},
		{ObjectRemovedDelete, "ObjectRemoved", "Delete"},
		{ObjectRemovedDeleteMarkerCreated, "ObjectRemoved", "DeleteMarkerCreated"},
		{ObjectTaggingPut, "ObjectTagging", "Put"},
		{ObjectTaggingDelete, "ObjectTagging", "Delete"},
		{ObjectRestorePost, "ObjectRestore", "Post"},
		{ObjectRestoreCompleted, "ObjectRestore", "Completed"},
		{ObjectRestoreDelete, "ObjectRestore", "Delete"},
		{ReplicationOperationFailedReplication, "Replication", "OperationFailedReplication"},
		{ReplicationOperationMissedThreshold, "Replication", "OperationMissedThreshold"},
		{ReplicationOperationReplicatedAfterThreshold, "Replication", "OperationReplicatedAfterThreshold"},
		{ReplicationOperationNotTracked, "Replication", "OperationNotTracked"},
		{LifecycleExpirationDelete, "LifecycleExpiration", "Delete"},
		{LifecycleExpirationDeleteMarkerCreated, "LifecycleExpiration", "DeleteMarkerCreated"},
		{LifecycleTransition, "LifecycleTransition", ""},
		{TestEvent, "TestEvent", ""},
	}
	if len(AllEventNames()) != len(cases) {
		t.Fatalf("AllEventNames has %d names, table %d", len(AllEventNames()), len(cases))
	}
	for i, c := range cases {
		if AllEventNames()[i] != c.name {
			t.Errorf("AllEventNames()[%d] = %q, want %q", i, AllEventNames()[i], c.name)
		}
		if !c.name.Valid() || c.name.Category() != c.category || c.name.Action() != c.action {
			t.Errorf("%q: Valid=%v Category=%q Action=%q", c.name, c.name.Valid(), c.name.Category(), c.name.Action())
		}
		if c.name.S3() != "s3:"+string(c.name) {
			t.Errorf("%q.S3() = %q", c.name, c.name.S3())
		}
		for _, in := range []string{string(c.name), c.name.S3()} {
			if got, err := ParseEventName(in); err != nil || got != c.name {
				t.Errorf("ParseEventName(%q) = %q, %v", in, got, err)
			}
		}
	}
	for _, bad := range []string{"", "s3:", "ObjectCreated", "ObjectCreated:*", "objectcreated:put", "ObjectCreated:Put ", "s3:s3:ObjectCreated:Put", "ObjectAccessed:Get"} {
		if EventName(bad).Valid() {
			t.Errorf("%q is Valid", bad)
		}
		if _, err := ParseEventName(bad); !errors.Is(err, ErrUnknownEventName) {
			t.Errorf("ParseEventName(%q) error = %v", bad, err)
		}
	}
}

var patternCases = []struct {
	in    string
	want  Pattern
	str   string
	match []EventName
	miss  []EventName
}{
	{"s3:ObjectCreated:*", Pattern{Category: "ObjectCreated", Wildcard: true}, "s3:ObjectCreated:*",
		[]EventName{ObjectCreatedPut, ObjectCreatedCopy, ObjectCreatedCompleteMultipartUpload},
		[]EventName{ObjectRemovedDelete, LifecycleTransition}},
	{"ObjectRemoved:*", Pattern{Category: "ObjectRemoved", Wildcard: true}, "s3:ObjectRemoved:*",
		[]EventName{ObjectRemovedDelete, ObjectRemovedDeleteMarkerCreated},
		[]EventName{LifecycleExpirationDelete, ObjectCreatedPut}},
	{"s3:ObjectCreated:Put", Pattern{Category: "ObjectCreated", Action: "Put"}, "s3:ObjectCreated:Put",
		[]EventName{ObjectCreatedPut},
		[]EventName{ObjectCreatedPost, ObjectTaggingPut}},
	{"s3:LifecycleTransition", Pattern{Category: "LifecycleTransition"}, "s3:LifecycleTransition",
		[]EventName{LifecycleTransition},
		[]EventName{LifecycleExpirationDelete}},
	{"s3:Replication:*", Pattern{Category: "Replication", Wildcard: true}, "s3:Replication:*",
		[]EventName{ReplicationOperationFailedReplication, ReplicationOperationNotTracked},
		[]EventName{ObjectRestorePost}},
}

func TestParsePattern(t *testing.T) {
	for _, c := range patternCases {
		p, err := ParsePattern(c.in)
		if err != nil || p != c.want {
			t.Errorf("ParsePattern(%q) = %+v, %v; want %+v", c.in, p, err, c.want)
			continue
		}
		if p.String() != c.str {
			t.Errorf("%+v.String() = %q, want %q", p, p.String(), c.str)
		}
		for _, n := range c.match {
			if !p.Match(n) {
				t.Errorf("%q does not match %q", c.in, n)
			}
		}
		for _, n := range c.miss {
			if p.Match(n) {
				t.Errorf("%q matches %q", c.in, n)
			}
		}
	}
	for _, bad := range []string{"", "*", "s3:*", "s3:ObjectCreated:P*", "s3:LifecycleTransition:*", "s3:TestEvent:*", "s3:Bogus:*", "s3:ObjectCreated", "s3:ObjectCreated:*:*"} {
		if _, err := ParsePattern(bad); !errors.Is(err, ErrUnknownEventName) {
			t.Errorf("ParsePattern(%q) error = %v, want ErrUnknownEventName", bad, err)
		}
	}
}
