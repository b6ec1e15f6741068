package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func enableVersioning(t *testing.T, c *s3.Client, bucket string) {
	t.Helper()
	if _, err := c.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestVersioning(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "ver")
	enableVersioning(t, e.alice, "ver")
	e.drainOutbox()
	b, k := aws.String("ver"), aws.String("doc")

	v1 := aws.ToString(e.put(e.alice, "ver", "doc", "one").VersionId)
	v2 := aws.ToString(e.put(e.alice, "ver", "doc", "two").VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if got := getBody(t, out, err); got != "two" || aws.ToString(out.VersionId) != v2 {
		t.Fatalf("latest = %q (%s)", got, aws.ToString(out.VersionId))
	}
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	if got := getBody(t, out, err); got != "one" {
		t.Fatalf("v1 = %q", got)
	}
	h, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	if err != nil || aws.ToString(h.VersionId) != v1 || aws.ToInt64(h.ContentLength) != 3 {
		t.Fatalf("head v1 = %+v, %v", h, err)
	}
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String("nonexistent-version")})
	if c := apiCode(err); c != "NoSuchVersion" && c != "InvalidArgument" {
		t.Fatalf("unknown version: %v", err)
	}

	// Delete without version: a delete marker.
	del, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	marker := aws.ToString(del.VersionId)
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	wantCode(t, "get behind delete marker", err, "NoSuchKey")
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String(marker)})
	wantCode(t, "get the delete marker itself", err, "MethodNotAllowed")
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String(v2)})
	if got := getBody(t, out, err); got != "two" {
		t.Fatalf("v2 after marker = %q", got)
	}

	lv, err := e.alice.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.Versions) != 2 || len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) ||
		aws.ToString(lv.Versions[0].VersionId) != v2 || aws.ToString(lv.Versions[1].VersionId) != v1 {
		t.Fatalf("versions = %+v / markers = %+v", lv.Versions, lv.DeleteMarkers)
	}
	// Paging through versions one at a time.
	var seen []string
	in := &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(1)}
	for i := 0; i < 10; i++ {
		p, err := e.alice.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			seen = append(seen, aws.ToString(v.VersionId))
		}
		for _, m := range p.DeleteMarkers {
			seen = append(seen, aws.ToString(m.VersionId))
		}
		if !aws.ToBool(p.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = p.NextKeyMarker, p.NextVersionIdMarker
	}
	if len(seen) != 3 || seen[0] != marker || seen[1] != v2 || seen[2] != v1 {
		t.Fatalf("paged versions = %v", seen)
	}

	// Removing the marker by version id restores v2.
	del, err = e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(marker)})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != marker {
		t.Fatalf("delete marker by id = %+v, %v", del, err)
	}
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if got := getBody(t, out, err); got != "two" {
		t.Fatalf("after removing marker = %q", got)
	}
	// Permanently delete v1.
	if _, err := e.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	wantCode(t, "deleted version", err, "NoSuchVersion")

	evs := e.outbox()
	want := []string{"ObjectCreated:Put", "ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated", "ObjectRemoved:Delete", "ObjectRemoved:Delete"}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		wantEvent(t, evs[i], "ver", "doc", w)
		if i > 0 && !(evs[i-1].Record.S3.Object.Sequencer < evs[i].Record.S3.Object.Sequencer) {
			t.Fatalf("sequencer %d not increasing", i)
		}
	}
	if evs[0].Record.S3.Object.VersionID != v1 || evs[2].Record.S3.Object.VersionID != marker {
		t.Fatalf("event version ids %q %q", evs[0].Record.S3.Object.VersionID, evs[2].Record.S3.Object.VersionID)
	}

	// Suspended: writes replace the null version.
	if _, err := e.alice.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(e.put(e.alice, "ver", "doc", "three").VersionId); v != "null" {
		t.Fatalf("suspended put version %q", v)
	}
	e.put(e.alice, "ver", "doc", "four")
	lv, err = e.alice.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	if err != nil || len(lv.Versions) != 2 {
		t.Fatalf("versions after suspended puts = %d, %v", len(lv.Versions), err)
	}
}

func TestObjectTagging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "tags")
	enableVersioning(t, e.alice, "tags")
	b, k := aws.String("tags"), aws.String("obj")
	v1 := aws.ToString(e.put(e.alice, "tags", "obj", "one").VersionId)
	e.put(e.alice, "tags", "obj", "two")
	e.drainOutbox()

	tg, err := e.alice.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k})
	if err != nil || len(tg.TagSet) != 0 {
		t.Fatalf("initial tags %+v %v", tg, err)
	}
	if _, err := e.alice.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v1),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k1"), Value: aws.String("v1")}}}}); err != nil {
		t.Fatal(err)
	}
	tg, err = e.alice.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v1)})
	if err != nil || len(tg.TagSet) != 1 || aws.ToString(tg.VersionId) != v1 {
		t.Fatalf("v1 tags %+v %v", tg, err)
	}
	tg, err = e.alice.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k})
	if err != nil || len(tg.TagSet) != 0 {
		t.Fatalf("latest tags %+v %v", tg, err)
	}
	if _, err := e.alice.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: b, Key: k, VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: aws.String("missing"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
	wantCode(t, "tag missing object", err, "NoSuchKey")
	tooMany := make([]types.Tag, 11)
	for i := range tooMany {
		tooMany[i] = types.Tag{Key: aws.String(string(rune('a' + i))), Value: aws.String("v")}
	}
	_, err = e.alice.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k, Tagging: &types.Tagging{TagSet: tooMany}})
	wantCode(t, "11 tags", err, "BadRequest")

	evs := e.outbox()
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	wantEvent(t, evs[0], "tags", "obj", "ObjectTagging:Put")
	wantEvent(t, evs[1], "tags", "obj", "ObjectTagging:Delete")
	if evs[0].Record.S3.Object.VersionID != v1 || evs[0].Record.Sluice.Tags["k1"] != "v1" {
		t.Fatalf("tagging event %+v", evs[0].Record)
	}
}
