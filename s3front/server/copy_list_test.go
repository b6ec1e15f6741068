package server_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "src")
	if _, err := e.alice.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dst"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "other"}}); err != nil {
		t.Fatal(err)
	}
	e.mkBucket(e.bob, "bobs")
	if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/ü.txt"),
		Body: strings.NewReader("copy me"), ContentType: aws.String("text/plain"),
		Metadata: map[string]string{"m": "1"}, Tagging: aws.String("t=1")}); err != nil {
		t.Fatal(err)
	}
	e.drainOutbox()
	src := "src/" + url.PathEscape("a b/ü.txt")

	// COPY directive, cross-bucket and cross-location.
	cp, err := e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String(src)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cp.CopyObjectResult.ETag) != `"`+md5hex("copy me")+`"` {
		t.Fatalf("copy etag %s", aws.ToString(cp.CopyObjectResult.ETag))
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if got := getBody(t, out, err); got != "copy me" || out.Metadata["m"] != "1" || aws.ToString(out.ContentType) != "text/plain" || aws.ToInt32(out.TagCount) != 1 {
		t.Fatalf("copy = %q %+v", got, out)
	}

	// REPLACE directive and tagging REPLACE.
	if _, err := e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("replaced"),
		CopySource: aws.String(src), MetadataDirective: types.MetadataDirectiveReplace,
		Metadata: map[string]string{"n": "2"}, ContentType: aws.String("application/json"),
		TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("x=1&y=2")}); err != nil {
		t.Fatal(err)
	}
	h, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("replaced")})
	if err != nil || h.Metadata["n"] != "2" || h.Metadata["m"] != "" || aws.ToString(h.ContentType) != "application/json" || aws.ToInt32(h.TagCount) != 2 {
		t.Fatalf("replaced = %+v, %v", h, err)
	}

	// Copy onto itself: only with REPLACE.
	_, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/ü.txt"), CopySource: aws.String(src)})
	wantCode(t, "self copy", err, "InvalidRequest")
	if _, err := e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/ü.txt"), CopySource: aws.String(src),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"fresh": "yes"}}); err != nil {
		t.Fatal(err)
	}

	// Conditions, missing source, foreign buckets.
	_, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c"), CopySource: aws.String(src),
		CopySourceIfMatch: aws.String(`"nope"`)})
	wantCode(t, "copy if-match", err, "PreconditionFailed")
	_, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c"), CopySource: aws.String(src),
		CopySourceIfNoneMatch: aws.String(`"` + md5hex("copy me") + `"`)})
	wantCode(t, "copy if-none-match", err, "PreconditionFailed")
	_, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c"), CopySource: aws.String("src/missing")})
	wantCode(t, "copy missing source", err, "NoSuchKey")
	e.put(e.bob, "bobs", "b", "bob's")
	_, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c"), CopySource: aws.String("bobs/b")})
	wantCode(t, "copy from foreign bucket", err, "AccessDenied")
	_, err = e.bob.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bobs"), Key: aws.String("c"), CopySource: aws.String(src)})
	wantCode(t, "copy into own bucket from foreign", err, "AccessDenied")

	// Versioned source with versionId.
	enableVersioning(t, e.alice, "src")
	v1 := aws.ToString(e.put(e.alice, "src", "v", "first").VersionId)
	e.put(e.alice, "src", "v", "second")
	cp, err = e.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("from-v1"),
		CopySource: aws.String("src/v?versionId=" + url.QueryEscape(v1))})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 {
		t.Fatalf("copy v1 = %+v, %v", cp, err)
	}
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("from-v1")})
	if got := getBody(t, out, err); got != "first" {
		t.Fatalf("copied v1 = %q", got)
	}

	evs := e.outbox()
	var copies int
	for _, ev := range evs {
		if ev.Type == "com.amazonaws.s3.ObjectCreated:Copy" {
			copies++
		}
	}
	if copies != 4 {
		t.Fatalf("%d copy events, want 4", copies)
	}
	if evs[0].Record.Sluice.Location != "other" {
		t.Fatalf("copy event location %q", evs[0].Record.Sluice.Location)
	}
}

func TestListObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "list")
	b := aws.String("list")
	keys := []string{"a/1", "a/2", "a/b/3", "b/4", "c", "d e+f", "z%"}
	for _, k := range keys {
		e.put(e.alice, "list", k, k)
	}

	// V2 full list.
	lo, err := e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	if err != nil || int(aws.ToInt32(lo.KeyCount)) != len(keys) {
		t.Fatalf("list v2 = %+v, %v", lo, err)
	}
	// Delimiter and prefix.
	lo, err = e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes, got []string
	for _, p := range lo.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	for _, o := range lo.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	if strings.Join(prefixes, ",") != "a/,b/" || strings.Join(got, ",") != "c,d e+f,z%" {
		t.Fatalf("delimited: prefixes %v keys %v", prefixes, got)
	}
	lo, err = e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("a/"), Delimiter: aws.String("/")})
	if err != nil || len(lo.Contents) != 2 || len(lo.CommonPrefixes) != 1 || aws.ToString(lo.CommonPrefixes[0].Prefix) != "a/b/" {
		t.Fatalf("prefix a/: %+v %v", lo, err)
	}
	// Paging with continuation tokens, max-keys 2.
	var paged []string
	in := &s3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(2)}
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("too many pages")
		}
		p, err := e.alice.ListObjectsV2(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Contents {
			paged = append(paged, aws.ToString(o.Key))
		}
		if !aws.ToBool(p.IsTruncated) {
			break
		}
		in.ContinuationToken = p.NextContinuationToken
	}
	if !slices.Equal(paged, keys) {
		t.Fatalf("paged = %v", paged)
	}
	// start-after, fetch-owner.
	lo, err = e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, StartAfter: aws.String("b/4"), FetchOwner: aws.Bool(true)})
	if err != nil || len(lo.Contents) != 3 || lo.Contents[0].Owner == nil || aws.ToString(lo.Contents[0].Owner.ID) != "alice" {
		t.Fatalf("start-after: %+v %v", lo, err)
	}
	// encoding-type=url: the SDK decodes keys back.
	lo, err = e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, EncodingType: types.EncodingTypeUrl, Prefix: aws.String("d")})
	if err != nil || len(lo.Contents) != 1 {
		t.Fatalf("url encoding: %+v %v", lo, err)
	}
	if k := aws.ToString(lo.Contents[0].Key); k != "d e+f" && k != url.QueryEscape("d e+f") {
		t.Fatalf("url-encoded key %q", k)
	}
	_, err = e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, ContinuationToken: aws.String("!!garbage!!")})
	wantCode(t, "bad token", err, "InvalidArgument")

	// V1 with marker.
	l1, err := e.alice.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Marker: aws.String("a/b/3"), MaxKeys: aws.Int32(2)})
	if err != nil || len(l1.Contents) != 2 || aws.ToString(l1.Contents[0].Key) != "b/4" || !aws.ToBool(l1.IsTruncated) {
		t.Fatalf("v1 = %+v %v", l1, err)
	}
	l1, err = e.alice.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000)})
	if err != nil || len(l1.CommonPrefixes) != 2 || len(l1.Contents) != 3 {
		t.Fatalf("v1 delimited = %+v %v", l1, err)
	}
	_, err = e.alice.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("nolist")})
	wantCode(t, "list missing bucket", err, "NoSuchBucket")
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "multi")
	for i := range 5 {
		e.put(e.alice, "multi", fmt.Sprintf("k%d", i), "x")
	}
	e.drainOutbox()
	objs := []types.ObjectIdentifier{{Key: aws.String("k0")}, {Key: aws.String("k1")}, {Key: aws.String("never-existed")}}
	out, err := e.alice.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("multi"), Delete: &types.Delete{Objects: objs}})
	if err != nil || len(out.Deleted) != 3 || len(out.Errors) != 0 {
		t.Fatalf("delete objects = %+v, %v", out, err)
	}
	out, err = e.alice.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("multi"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("k2")}, {Key: aws.String(strings.Repeat("x", 1025))}}, Quiet: aws.Bool(true)}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "KeyTooLongError" {
		t.Fatalf("quiet delete = %+v, %v", out, err)
	}
	lo, err := e.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("multi")})
	if err != nil || len(lo.Contents) != 2 {
		t.Fatalf("left %+v %v", lo, err)
	}
	evs := e.outbox()
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for i, k := range []string{"k0", "k1", "k2"} {
		wantEvent(t, evs[i], "multi", k, "ObjectRemoved:Delete")
	}
	_, err = e.bob.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("multi"), Delete: &types.Delete{Objects: objs}})
	wantCode(t, "bob deletes alice's objects", err, "AccessDenied")
}
