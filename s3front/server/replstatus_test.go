package server_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/server"
)

// asReplica makes a call carry the replica marker header.
var asReplica = s3.WithAPIOptions(smithyhttp.AddHeaderValue(server.ReplicaHeader, "1"))

// replicatedBucket creates alice's versioned bucket "repl" with rules:
//
//	r1  prefix a/          → other, priority 1, delete markers
//	r2  prefix b/ and t=1  → local, priority 2
//	r3  disabled, all keys → local
//	r4  prefix a/x         → local, priority 5
func replicatedBucket(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	e.mkBucket(e.alice, "repl")
	if _, err := e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("repl"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	rule := func(id string, prio int32, status types.ReplicationRuleStatus, dest string, dm bool, f *types.ReplicationRuleFilter) types.ReplicationRule {
		d := types.DeleteMarkerReplicationStatusDisabled
		if dm {
			d = types.DeleteMarkerReplicationStatusEnabled
		}
		return types.ReplicationRule{ID: aws.String(id), Priority: aws.Int32(prio), Status: status, Filter: f,
			DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: d},
			Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::" + dest)}}
	}
	rs := []types.ReplicationRule{
		rule("r1", 1, types.ReplicationRuleStatusEnabled, "other", true, &types.ReplicationRuleFilter{Prefix: aws.String("a/")}),
		rule("r2", 2, types.ReplicationRuleStatusEnabled, "local", false, &types.ReplicationRuleFilter{And: &types.ReplicationRuleAndOperator{
			Prefix: aws.String("b/"), Tags: []types.Tag{{Key: aws.String("t"), Value: aws.String("1")}}}}),
		rule("r3", 3, types.ReplicationRuleStatusDisabled, "local", true, &types.ReplicationRuleFilter{Prefix: aws.String("")}),
		rule("r4", 5, types.ReplicationRuleStatusEnabled, "local", false, &types.ReplicationRuleFilter{Prefix: aws.String("a/x")}),
	}
	if _, err := e.alice.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("repl"),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: rs}}); err != nil {
		t.Fatalf("PutBucketReplication: %v", err)
	}
}

// TestReplicationStatusAtWrite: the rules that select a new version make it
// PENDING for their destinations, in the version and in its event.
func TestReplicationStatusAtWrite(t *testing.T) {
	e := newEnv(t)
	replicatedBucket(t, e)
	ctx := context.Background()
	tests := []struct {
		key, tagging string
		replica      bool
		want         string
		dests        map[string]string
	}{
		{key: "a/1", want: "PENDING", dests: map[string]string{"other": "PENDING"}},
		{key: "a/x1", want: "PENDING", dests: map[string]string{"other": "PENDING", "local": "PENDING"}},
		{key: "b/1", want: ""},
		{key: "b/2", tagging: "t=1", want: "PENDING", dests: map[string]string{"local": "PENDING"}},
		{key: "b/3", tagging: "t=2", want: ""},
		{key: "c", tagging: "t=1", want: ""},
		{key: "a/replica", replica: true, want: "REPLICA"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			e.drainOutbox()
			in := &s3.PutObjectInput{Bucket: aws.String("repl"), Key: aws.String(tc.key), Body: strings.NewReader("x")}
			if tc.tagging != "" {
				in.Tagging = aws.String(tc.tagging)
			}
			var opts []func(*s3.Options)
			if tc.replica {
				opts = append(opts, asReplica)
			}
			if _, err := e.alice.PutObject(ctx, in, opts...); err != nil {
				t.Fatal(err)
			}
			o, err := e.store.GetObject(ctx, "repl", tc.key, "")
			if err != nil {
				t.Fatal(err)
			}
			if o.ReplicationStatus != tc.want || !maps.Equal(o.Replication, tc.dests) {
				t.Fatalf("stored %q %v, want %q %v", o.ReplicationStatus, o.Replication, tc.want, tc.dests)
			}
			head, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("repl"), Key: aws.String(tc.key)})
			if err != nil || string(head.ReplicationStatus) != tc.want {
				t.Fatalf("HEAD x-amz-replication-status %q (%v), want %q", head.ReplicationStatus, err, tc.want)
			}
			evs := e.outbox()
			if len(evs) != 1 || evs[0].Record.Sluice.ReplicationStatus != tc.want || !maps.Equal(evs[0].Record.Sluice.Replication, tc.dests) {
				t.Fatalf("events %+v, want one with %q and %v", evs, tc.want, tc.dests)
			}
		})
	}
}

// TestReplicationStatusOfDeleteMarkers: a delete marker is PENDING for the
// destinations whose highest-priority rule matching its key replicates
// delete markers without a tag filter; a replicator's delete makes a
// REPLICA marker; deleting a version for good changes no status, but its
// event is marked REPLICA when a replicator did it.
func TestReplicationStatusOfDeleteMarkers(t *testing.T) {
	e := newEnv(t)
	replicatedBucket(t, e)
	ctx := context.Background()
	tests := []struct {
		key     string
		replica bool
		multi   bool
		want    string
		dests   map[string]string
	}{
		{key: "a/1", want: "PENDING", dests: map[string]string{"other": "PENDING"}},
		{key: "a/x1", want: "PENDING", dests: map[string]string{"other": "PENDING"}}, // r4 (local) keeps markers
		{key: "b/1", want: ""},
		{key: "a/multi", multi: true, want: "PENDING", dests: map[string]string{"other": "PENDING"}},
		{key: "a/replica", replica: true, want: "REPLICA"},
		{key: "a/multi-replica", replica: true, multi: true, want: "REPLICA"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			e.drainOutbox()
			var opts []func(*s3.Options)
			if tc.replica {
				opts = append(opts, asReplica)
			}
			var err error
			if tc.multi {
				_, err = e.alice.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("repl"),
					Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(tc.key)}}}}, opts...)
			} else {
				_, err = e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("repl"), Key: aws.String(tc.key)}, opts...)
			}
			if err != nil {
				t.Fatal(err)
			}
			info, err := e.store.GetReplication(ctx, "repl", tc.key, "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for d, s := range info.Destinations {
				got[d] = s.Status
			}
			if !info.IsDeleteMarker || info.Status != tc.want || !maps.Equal(got, tc.dests) {
				t.Fatalf("marker %+v, want %q %v", info, tc.want, tc.dests)
			}
			evs := e.outbox()
			if len(evs) != 1 || evs[0].Record.Sluice.ReplicationStatus != tc.want {
				t.Fatalf("events %+v, want one with %q", evs, tc.want)
			}
			// Removing the marker for good: a version delete, no new status.
			e.drainOutbox()
			if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("repl"), Key: aws.String(tc.key),
				VersionId: aws.String(info.VersionID)}, opts...); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.GetReplication(ctx, "repl", tc.key, ""); !errors.Is(err, meta.ErrNoSuchKey) {
				t.Fatalf("after removing the marker: %v", err)
			}
			evs = e.outbox()
			if len(evs) != 1 || evs[0].Record.Sluice.ReplicationStatus != tc.want {
				t.Fatalf("removal events %+v, want one with %q", evs, tc.want)
			}
		})
	}
}

// TestReplicationStatusFollowsConfiguration: writes before any rule stay
// "", and changing or deleting the configuration applies to the next write
// at once (the rules cache is invalidated by this server's changes).
func TestReplicationStatusFollowsConfiguration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "repl")
	e.put(e.alice, "repl", "a/before", "x")
	configure := func() {
		if _, err := e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("repl"),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.alice.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("repl"),
			ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: []types.ReplicationRule{{
				ID: aws.String("all"), Priority: aws.Int32(1), Status: types.ReplicationRuleStatusEnabled,
				Filter:                  &types.ReplicationRuleFilter{Prefix: aws.String("")},
				DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusDisabled},
				Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::other")},
			}}}}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(key string) string {
		t.Helper()
		o, err := e.store.GetObject(ctx, "repl", key, "")
		if err != nil {
			t.Fatal(err)
		}
		return o.ReplicationStatus
	}
	e.put(e.alice, "repl", "a/none", "x") // caches "no rules"
	configure()
	e.put(e.alice, "repl", "a/after", "x")
	if _, err := e.alice.DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String("repl")}); err != nil {
		t.Fatal(err)
	}
	e.put(e.alice, "repl", "a/removed", "x")
	for key, want := range map[string]string{"a/before": "", "a/none": "", "a/after": "PENDING", "a/removed": ""} {
		if got := status(key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
}
