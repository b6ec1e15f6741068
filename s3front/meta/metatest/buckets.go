package metatest

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

func testBuckets(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	b := try(s.CreateBucket(ctx, meta.Bucket{Name: "b1", Owner: "alice", Location: "east", CreatedAt: created})).must(t)
	if !b.CreatedAt.Equal(created) {
		t.Fatalf("CreatedAt = %v, want %v", b.CreatedAt, created)
	}
	_, err := s.CreateBucket(ctx, meta.Bucket{Name: "b1", Owner: "bob", Location: "west"})
	wantErr(t, err, meta.ErrBucketExists)
	try(s.CreateBucket(ctx, meta.Bucket{Name: "a0", Owner: "bob", Location: "west"})).must(t)
	try(s.CreateBucket(ctx, meta.Bucket{Name: "c2", Owner: "alice", Location: "west"})).must(t)
	_, err = s.CreateBucket(ctx, meta.Bucket{Name: ""})
	wantErr(t, err, meta.ErrInvalidArgument)
	_, err = s.CreateBucket(ctx, meta.Bucket{Name: "x", Versioning: "On"})
	wantErr(t, err, meta.ErrInvalidArgument)

	got := try(s.GetBucket(ctx, "b1")).must(t)
	want := meta.Bucket{Name: "b1", Owner: "alice", Location: "east", CreatedAt: created}
	if got != want {
		t.Fatalf("GetBucket = %+v, want %+v", got, want)
	}
	_, err = s.GetBucket(ctx, "nope")
	wantErr(t, err, meta.ErrNoSuchBucket)

	tests := []struct {
		owner string
		want  []string
	}{
		{"alice", []string{"b1", "c2"}},
		{"bob", []string{"a0"}},
		{"", []string{"a0", "b1", "c2"}},
		{"carol", nil},
	}
	for _, tc := range tests {
		bs := try(s.ListBuckets(ctx, tc.owner)).must(t)
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		if !equalStrings(names, tc.want) {
			t.Errorf("ListBuckets(%q) = %v, want %v", tc.owner, names, tc.want)
		}
	}

	for _, tc := range []struct {
		status string
		err    error
	}{
		{meta.VersioningEnabled, nil},
		{meta.VersioningSuspended, nil},
		{meta.VersioningEnabled, nil},
		{meta.VersioningUnset, meta.ErrInvalidArgument},
		{"enabled", meta.ErrInvalidArgument},
	} {
		err := s.SetVersioning(ctx, "b1", tc.status)
		if tc.err == nil {
			noErr(t, err)
			if v := try(s.GetBucket(ctx, "b1")).must(t).Versioning; v != tc.status {
				t.Fatalf("Versioning = %q, want %q", v, tc.status)
			}
		} else {
			wantErr(t, err, tc.err)
		}
	}
	wantErr(t, s.SetVersioning(ctx, "nope", meta.VersioningEnabled), meta.ErrNoSuchBucket)

	noErr(t, s.DeleteBucket(ctx, "b1"))
	wantErr(t, s.DeleteBucket(ctx, "b1"), meta.ErrNoSuchBucket)
	_, err = s.GetBucket(ctx, "b1")
	wantErr(t, err, meta.ErrNoSuchBucket)
	// The name is free again.
	try(s.CreateBucket(ctx, meta.Bucket{Name: "b1", Owner: "bob", Location: "west"})).must(t)
	if v := try(s.GetBucket(ctx, "b1")).must(t).Versioning; v != meta.VersioningUnset {
		t.Fatalf("recreated bucket Versioning = %q", v)
	}
}

func testBucketConfigs(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "cfg", "")
	for _, kind := range meta.ConfigKinds {
		_, err := s.GetBucketConfig(ctx, "cfg", kind)
		wantErr(t, err, meta.ErrNoSuchConfig)
		doc := []byte("<" + kind + "/>")
		noErr(t, s.PutBucketConfig(ctx, "cfg", kind, doc))
		if got := try(s.GetBucketConfig(ctx, "cfg", kind)).must(t); !bytes.Equal(got, doc) {
			t.Fatalf("%s: got %q", kind, got)
		}
		doc2 := []byte("<" + kind + " v='2'/>")
		noErr(t, s.PutBucketConfig(ctx, "cfg", kind, doc2))
		if got := try(s.GetBucketConfig(ctx, "cfg", kind)).must(t); !bytes.Equal(got, doc2) {
			t.Fatalf("%s after replace: got %q", kind, got)
		}
	}
	noErr(t, s.DeleteBucketConfig(ctx, "cfg", meta.ConfigCORS))
	noErr(t, s.DeleteBucketConfig(ctx, "cfg", meta.ConfigCORS)) // missing is fine
	_, err := s.GetBucketConfig(ctx, "cfg", meta.ConfigCORS)
	wantErr(t, err, meta.ErrNoSuchConfig)
	try(s.GetBucketConfig(ctx, "cfg", meta.ConfigPolicy)).must(t)

	wantErr(t, s.PutBucketConfig(ctx, "cfg", "website", nil), meta.ErrInvalidArgument)
	_, err = s.GetBucketConfig(ctx, "cfg", "website")
	wantErr(t, err, meta.ErrInvalidArgument)
	wantErr(t, s.DeleteBucketConfig(ctx, "cfg", "website"), meta.ErrInvalidArgument)
	wantErr(t, s.PutBucketConfig(ctx, "nope", meta.ConfigCORS, nil), meta.ErrNoSuchBucket)
	_, err = s.GetBucketConfig(ctx, "nope", meta.ConfigCORS)
	wantErr(t, err, meta.ErrNoSuchBucket)
	wantErr(t, s.DeleteBucketConfig(ctx, "nope", meta.ConfigCORS), meta.ErrNoSuchBucket)

	// Deleting the bucket deletes its configs.
	noErr(t, s.DeleteBucket(ctx, "cfg"))
	mkBucket(t, s, "cfg", "")
	_, err = s.GetBucketConfig(ctx, "cfg", meta.ConfigPolicy)
	wantErr(t, err, meta.ErrNoSuchConfig)
}

func testBucketNotEmpty(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	tests := []struct {
		name  string
		fill  func(t *testing.T, bucket string)
		empty func(t *testing.T, bucket string)
	}{
		{
			name: "object",
			fill: func(t *testing.T, b string) { put(t, s, b, "k") },
			empty: func(t *testing.T, b string) {
				try(s.DeleteObject(ctx, b, "k", "", nil)).must(t)
			},
		},
		{
			name: "delete marker only",
			fill: func(t *testing.T, b string) {
				noErr(t, s.SetVersioning(ctx, b, meta.VersioningEnabled))
				r := try(s.DeleteObject(ctx, b, "k", "", nil)).must(t)
				if r.Kind != meta.ChangeDeleteMarkerCreated {
					t.Fatalf("Kind = %q", r.Kind)
				}
			},
			empty: func(t *testing.T, b string) {
				vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: b, MaxKeys: 10})).must(t)
				for _, v := range vs.Versions {
					try(s.DeleteObject(ctx, b, v.Key, v.VersionID, nil)).must(t)
				}
			},
		},
		{
			name: "noncurrent version",
			fill: func(t *testing.T, b string) {
				noErr(t, s.SetVersioning(ctx, b, meta.VersioningEnabled))
				put(t, s, b, "k")
				put(t, s, b, "k")
			},
			empty: func(t *testing.T, b string) {
				vs := try(s.ListObjectVersions(ctx, meta.ListVersionsInput{Bucket: b, MaxKeys: 10})).must(t)
				if len(vs.Versions) != 2 {
					t.Fatalf("versions = %d", len(vs.Versions))
				}
				try(s.DeleteObject(ctx, b, "k", vs.Versions[0].VersionID, nil)).must(t)
				wantErr(t, s.DeleteBucket(ctx, b), meta.ErrBucketNotEmpty)
				try(s.DeleteObject(ctx, b, "k", vs.Versions[1].VersionID, nil)).must(t)
			},
		},
		{
			name: "upload",
			fill: func(t *testing.T, b string) {
				try(s.CreateUpload(ctx, meta.Upload{ID: "up-" + b, Bucket: b, Key: "k"})).must(t)
			},
			empty: func(t *testing.T, b string) {
				try(s.AbortUpload(ctx, b, "k", "up-"+b)).must(t)
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := "ne" + string(rune('a'+i))
			mkBucket(t, s, b, "")
			tc.fill(t, b)
			wantErr(t, s.DeleteBucket(ctx, b), meta.ErrBucketNotEmpty)
			try(s.GetBucket(ctx, b)).must(t)
			tc.empty(t, b)
			noErr(t, s.DeleteBucket(ctx, b))
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
