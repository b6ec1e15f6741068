package metatest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/s3front/meta"
)

func part(n int, key string) meta.Part {
	return meta.Part{PartNumber: n, Size: 5 << 20, ETag: fmt.Sprintf("%032x", n), DataKey: key}
}

func testMultipart(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "mp", "")
	init := time.Date(2024, 2, 3, 4, 5, 6, 7000, time.UTC)
	in := meta.Upload{Bucket: "mp", Key: "big", Owner: "alice", ContentType: "video/mp4",
		Headers: map[string]string{"Cache-Control": "max-age=1"}, UserMetadata: map[string]string{"m": "1"},
		Tags: map[string]string{"t": "1"}, ChecksumAlgorithm: "CRC32C", ChecksumType: "COMPOSITE", StorageClass: "STANDARD",
		Location: "local", Initiated: init}
	u := try(s.CreateUpload(ctx, in)).must(t)
	if u.ID == "" {
		t.Fatal("no upload id assigned")
	}
	in.ID = u.ID
	if got := try(s.GetUpload(ctx, "mp", "big", u.ID)).must(t); !reflect.DeepEqual(got, in) {
		t.Fatalf("GetUpload:\n got %+v\nwant %+v", got, in)
	}
	// An existing object under the key is replaced (null version) on completion.
	old := put(t, s, "mp", "big")

	if r := try(s.PutPart(ctx, "mp", "big", u.ID, part(1, "p1a"))).must(t); len(r) != 0 {
		t.Fatalf("first part replaced %v", r)
	}
	r := try(s.PutPart(ctx, "mp", "big", u.ID, part(1, "p1b"))).must(t)
	if want := []meta.DataRef{{Location: "local", Key: "p1a"}}; !refsEqual(r, want) {
		t.Fatalf("re-upload replaced %v, want %v", r, want)
	}
	if r := try(s.PutPart(ctx, "mp", "big", u.ID, part(1, "p1b"))).must(t); len(r) != 0 {
		t.Fatalf("same data key replaced %v", r)
	}
	p2 := part(2, "p2")
	p2.Checksums = map[string]string{"CRC32C": "AAAAAA=="}
	try(s.PutPart(ctx, "mp", "big", u.ID, p2)).must(t)
	try(s.PutPart(ctx, "mp", "big", u.ID, part(3, "p3"))).must(t)
	try(s.PutPart(ctx, "mp", "big", u.ID, part(5, "p5"))).must(t)

	lp := try(s.ListParts(ctx, "mp", "big", u.ID, 0, 100)).must(t)
	if len(lp.Parts) != 4 || lp.IsTruncated || lp.Parts[0].DataKey != "p1b" || lp.Parts[1].Checksums["CRC32C"] != "AAAAAA==" ||
		lp.Parts[0].LastModified.IsZero() {
		t.Fatalf("ListParts = %+v", lp)
	}

	var changes []meta.Change
	fn := func(_ context.Context, ch meta.Change) ([]meta.OutboxMsg, error) {
		changes = append(changes, ch)
		return nil, nil
	}
	final := meta.Object{Bucket: "mp", Key: "big", Size: 10 << 20, ETag: "abc-2", ContentType: "video/mp4", Owner: "alice",
		Parts: []meta.Part{{PartNumber: 1, Size: 5 << 20, ETag: lp.Parts[0].ETag}, {PartNumber: 3, Size: 5 << 20, ETag: lp.Parts[2].ETag, DataKey: "p3"}}}
	res := try(s.CompleteUpload(ctx, u.ID, final, fn)).must(t)
	wantDisplaced := []meta.DataRef{{Location: "local", Key: "p2"}, {Location: "local", Key: "p5"}, {Location: "local", Key: old.Object.DataKey}}
	if !refsEqual(res.Displaced, wantDisplaced) {
		t.Fatalf("Displaced = %v, want %v", res.Displaced, wantDisplaced)
	}
	o := try(s.GetObject(ctx, "mp", "big", "")).must(t)
	if o.PartsCount != 2 || len(o.Parts) != 2 || o.Parts[0].DataKey != "p1b" || o.Parts[1].DataKey != "p3" || o.Location != "local" ||
		o.ETag != "abc-2" || o.VersionID != meta.NullVersion || o.Sequencer != res.Object.Sequencer {
		t.Fatalf("completed object = %+v", o)
	}
	if len(changes) != 1 || changes[0].Kind != meta.ChangeCreated || changes[0].Object.Sequencer != o.Sequencer {
		t.Fatalf("changes = %+v", changes)
	}
	// The upload is gone.
	_, err := s.GetUpload(ctx, "mp", "big", u.ID)
	wantErr(t, err, meta.ErrNoSuchUpload)
	_, err = s.CompleteUpload(ctx, u.ID, final, nil)
	wantErr(t, err, meta.ErrNoSuchUpload)
	if l := try(s.ListUploads(ctx, meta.ListUploadsInput{Bucket: "mp", MaxUploads: 10})).must(t); len(l.Uploads) != 0 {
		t.Fatalf("uploads left: %+v", l.Uploads)
	}
	// Deleting the object returns the part data.
	d := try(s.DeleteObject(ctx, "mp", "big", "", nil)).must(t)
	if !refsEqual(d.Displaced, []meta.DataRef{{Location: "local", Key: "p1b"}, {Location: "local", Key: "p3"}}) {
		t.Fatalf("delete displaced %v", d.Displaced)
	}

	// Abort returns every part.
	u2 := try(s.CreateUpload(ctx, meta.Upload{Bucket: "mp", Key: "big", Location: "far"})).must(t)
	try(s.PutPart(ctx, "mp", "big", u2.ID, part(1, "a1"))).must(t)
	q := part(2, "a2")
	q.Location = "near"
	try(s.PutPart(ctx, "mp", "big", u2.ID, q)).must(t)
	refs := try(s.AbortUpload(ctx, "mp", "big", u2.ID)).must(t)
	if !refsEqual(refs, []meta.DataRef{{Location: "far", Key: "a1"}, {Location: "near", Key: "a2"}}) {
		t.Fatalf("abort refs = %v", refs)
	}
	_, err = s.AbortUpload(ctx, "mp", "big", u2.ID)
	wantErr(t, err, meta.ErrNoSuchUpload)
	noErr(t, s.DeleteBucket(ctx, "mp"))
}

func testMultipartErrors(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "me", meta.VersioningEnabled)
	_, err := s.CreateUpload(ctx, meta.Upload{Bucket: "nope", Key: "k"})
	wantErr(t, err, meta.ErrNoSuchBucket)
	_, err = s.CreateUpload(ctx, meta.Upload{Bucket: "me"})
	wantErr(t, err, meta.ErrInvalidArgument)
	u := try(s.CreateUpload(ctx, meta.Upload{Bucket: "me", Key: "k"})).must(t)
	try(s.PutPart(ctx, "me", "k", u.ID, part(1, "x1"))).must(t)
	_, err = s.CreateUpload(ctx, meta.Upload{ID: u.ID, Bucket: "me", Key: "k2"})
	wantErr(t, err, meta.ErrInvalidArgument)

	for _, tc := range []struct {
		bucket, key, id string
	}{{"me", "k", "nope"}, {"me", "other", u.ID}, {"nope", "k", u.ID}} {
		_, err := s.GetUpload(ctx, tc.bucket, tc.key, tc.id)
		wantErr(t, err, meta.ErrNoSuchUpload)
		_, err = s.PutPart(ctx, tc.bucket, tc.key, tc.id, part(1, "y"))
		wantErr(t, err, meta.ErrNoSuchUpload)
		_, err = s.ListParts(ctx, tc.bucket, tc.key, tc.id, 0, 10)
		wantErr(t, err, meta.ErrNoSuchUpload)
		_, err = s.AbortUpload(ctx, tc.bucket, tc.key, tc.id)
		wantErr(t, err, meta.ErrNoSuchUpload)
	}
	for _, n := range []int{0, -1, 10001} {
		_, err := s.PutPart(ctx, "me", "k", u.ID, part(n, "z"))
		wantErr(t, err, meta.ErrInvalidArgument)
	}
	tests := []struct {
		name  string
		obj   meta.Object
		err   error
		extra string
	}{
		{"missing part", meta.Object{Bucket: "me", Key: "k", Parts: []meta.Part{part(1, ""), part(2, "")}}, meta.ErrInvalidPart, ""},
		{"wrong data key", meta.Object{Bucket: "me", Key: "k", Parts: []meta.Part{part(1, "other")}}, meta.ErrInvalidPart, ""},
		{"duplicate part", meta.Object{Bucket: "me", Key: "k", Parts: []meta.Part{part(1, ""), part(1, "")}}, meta.ErrInvalidPart, ""},
		{"other key", meta.Object{Bucket: "me", Key: "k2", Parts: []meta.Part{part(1, "")}}, meta.ErrNoSuchUpload, ""},
		{"missing bucket", meta.Object{Bucket: "nope", Key: "k", Parts: []meta.Part{part(1, "")}}, meta.ErrNoSuchBucket, ""},
	}
	for _, tc := range tests {
		_, err := s.CompleteUpload(ctx, u.ID, tc.obj, nil)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
	}
	// Failed completions leave the upload intact.
	try(s.GetUpload(ctx, "me", "k", u.ID)).must(t)
	res := try(s.CompleteUpload(ctx, u.ID, meta.Object{Bucket: "me", Key: "k", Parts: []meta.Part{part(1, "")}}, nil)).must(t)
	if res.Object.VersionID == meta.NullVersion || len(res.Displaced) != 0 {
		t.Fatalf("versioned completion = %+v", res)
	}
}

func testListUploads(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lu", "")
	_, err := s.ListUploads(ctx, meta.ListUploadsInput{Bucket: "nope", MaxUploads: 1})
	wantErr(t, err, meta.ErrNoSuchBucket)
	type up struct{ key, id string }
	var all []up
	for _, k := range []string{"b", "a/1", "a/2", "é", "a/1", "c", "b"} {
		u := try(s.CreateUpload(ctx, meta.Upload{Bucket: "lu", Key: k})).must(t)
		all = append(all, up{k, u.ID})
	}
	// Expected: key order, then initiation order.
	want := []string{"a/1@" + all[1].id, "a/1@" + all[4].id, "a/2@" + all[2].id, "b@" + all[0].id, "b@" + all[6].id, "c@" + all[5].id, "é@" + all[3].id}
	entries := func(r meta.ListUploadsResult) []string {
		var out []string
		for _, u := range r.Uploads {
			out = append(out, u.Key+"@"+u.ID)
		}
		for _, p := range r.CommonPrefixes {
			out = append(out, "P:"+p)
		}
		return out
	}
	r := try(s.ListUploads(ctx, meta.ListUploadsInput{Bucket: "lu", MaxUploads: 100})).must(t)
	if got := entries(r); !equalStrings(got, want) {
		t.Fatalf("uploads:\n got %v\nwant %v", got, want)
	}
	for _, max := range []int{1, 2, 3} {
		var got []string
		in := meta.ListUploadsInput{Bucket: "lu", MaxUploads: max}
		for page := 0; page < 20; page++ {
			r := try(s.ListUploads(ctx, in)).must(t)
			got = append(got, entries(r)...)
			if !r.IsTruncated {
				break
			}
			in.KeyMarker, in.UploadIDMarker = r.NextKeyMarker, r.NextUploadIDMarker
		}
		if !equalStrings(got, want) {
			t.Errorf("max %d:\n got %v\nwant %v", max, got, want)
		}
	}
	r = try(s.ListUploads(ctx, meta.ListUploadsInput{Bucket: "lu", Delimiter: "/", MaxUploads: 100})).must(t)
	if got := entries(r); !equalStrings(got, []string{want[3], want[4], want[5], want[6], "P:a/"}) {
		t.Fatalf("delimited uploads = %v", got)
	}
	r = try(s.ListUploads(ctx, meta.ListUploadsInput{Bucket: "lu", Prefix: "a/", MaxUploads: 100})).must(t)
	if got := entries(r); !equalStrings(got, want[:3]) {
		t.Fatalf("prefixed uploads = %v", got)
	}
}

func testListParts(t *testing.T, s meta.Store) {
	ctx := ctxT(t)
	mkBucket(t, s, "lp", "")
	u := try(s.CreateUpload(ctx, meta.Upload{Bucket: "lp", Key: "k"})).must(t)
	nums := []int{10000, 1, 7, 3, 2, 9}
	for _, n := range nums {
		try(s.PutPart(ctx, "lp", "k", u.ID, part(n, fmt.Sprint("d", n)))).must(t)
	}
	want := []int{1, 2, 3, 7, 9, 10000}
	for _, max := range []int{1, 2, 4, 6, 100} {
		var got []int
		marker := 0
		for page := 0; page < 20; page++ {
			r := try(s.ListParts(ctx, "lp", "k", u.ID, marker, max)).must(t)
			if len(r.Parts) > max {
				t.Fatalf("page too big")
			}
			for _, p := range r.Parts {
				got = append(got, p.PartNumber)
			}
			if !r.IsTruncated {
				break
			}
			marker = r.NextPartNumberMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("max %d: got %v, want %v", max, got, want)
		}
	}
	if r := try(s.ListParts(ctx, "lp", "k", u.ID, 0, 0)).must(t); len(r.Parts) != 0 {
		t.Fatalf("max 0 returned parts")
	}
}
