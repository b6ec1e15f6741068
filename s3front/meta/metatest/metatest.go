// Package metatest is the conformance suite every meta.Store implementation must
// pass. Call Run from the implementation's tests with a constructor that returns a
// fresh, empty store for each subtest.
package metatest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

// NewStore returns a fresh, empty store whose cleanup is registered on t.
type NewStore func(t *testing.T) meta.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Buckets", testBuckets},
		{"BucketConfigs", testBucketConfigs},
		{"BucketNotEmpty", testBucketNotEmpty},
		{"PutGetUnversioned", testPutGetUnversioned},
		{"FieldsRoundTrip", testFieldsRoundTrip},
		{"Versioned", testVersioned},
		{"DeleteMarkers", testDeleteMarkers},
		{"Suspended", testSuspended},
		{"UnversionedToEnabled", testUnversionedToEnabled},
		{"DeleteMissing", testDeleteMissing},
		{"Tags", testTags},
		{"SequencerIncreasing", testSequencerIncreasing},
		{"ListObjectsOrder", testListObjectsOrder},
		{"ListObjectsDelimiter", testListObjectsDelimiter},
		{"ListObjectsPagination", testListObjectsPagination},
		{"ListObjectsHidesDeleted", testListObjectsHidesDeleted},
		{"ListVersions", testListVersions},
		{"ListVersionsPagination", testListVersionsPagination},
		{"Multipart", testMultipart},
		{"MultipartErrors", testMultipartErrors},
		{"ListUploads", testListUploads},
		{"ListParts", testListParts},
		{"OutboxAtomic", testOutboxAtomic},
		{"OutboxRollback", testOutboxRollback},
		{"OutboxClaim", testOutboxClaim},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"ConcurrentEventFailures", testConcurrentEventFailures},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ReplicationApply", testReplicationApply},
		{"ReplicationMissing", testReplicationMissing},
		{"ReplicationMarkers", testReplicationMarkers},
		{"ReplicationOrderIndependent", testReplicationOrderIndependent},
		{"ReplicationConcurrent", testReplicationConcurrent},
		{"InvalidText", testInvalidText},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// ctxT returns a context bounded by the test's deadline (or a minute).
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// result holds a call's two results so tests can write try(f()).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

// must fails the test on error and returns the value.
func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// mkBucket creates a bucket with the given versioning status.
func mkBucket(t *testing.T, s meta.Store, name, versioning string) meta.Bucket {
	t.Helper()
	ctx := ctxT(t)
	b := try(s.CreateBucket(ctx, meta.Bucket{Name: name, Owner: "owner", Location: "local"})).must(t)
	if versioning != "" {
		noErr(t, s.SetVersioning(ctx, name, versioning))
		b.Versioning = versioning
	}
	return b
}

// put writes a small object whose data key is unique.
func put(t *testing.T, s meta.Store, bucket, key string) meta.PutResult {
	t.Helper()
	return try(s.PutObject(ctxT(t), obj(bucket, key), nil)).must(t)
}

var dataSeq atomic.Int64

// obj returns an object whose data key is unique.
func obj(bucket, key string) meta.Object {
	return meta.Object{
		Bucket: bucket, Key: key, Size: int64(len(key)), ETag: "d41d8cd98f00b204e9800998ecf8427e",
		ContentType: "text/plain", Location: "local", DataKey: key + "#" + strconv.FormatInt(dataSeq.Add(1), 10), Owner: "owner",
	}
}

func refsEqual(a, b []meta.DataRef) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[meta.DataRef]int{}
	for _, r := range a {
		m[r]++
	}
	for _, r := range b {
		m[r]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}
