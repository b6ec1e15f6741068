package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const mib = 1 << 20

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	all := md5.Sum(sums)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), len(parts))
}

func TestMultipartUpload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "mpu")
	b, k := aws.String("mpu"), aws.String("big/object")
	e.drainOutbox()

	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k,
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"origin": "test"}, Tagging: aws.String("mp=yes")})
	if err != nil {
		t.Fatal(err)
	}
	uid := cr.UploadId
	p1, p2, p3 := pattern(5*mib, 1), pattern(5*mib, 2), pattern(1234, 3)
	var completed []types.CompletedPart
	for i, p := range [][]byte{p1, p2, p3} {
		up, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: uid,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		sum := md5.Sum(p)
		if aws.ToString(up.ETag) != `"`+hex.EncodeToString(sum[:])+`"` {
			t.Fatalf("part %d etag %s", i+1, aws.ToString(up.ETag))
		}
		completed = append(completed, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}

	lp, err := e.alice.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: k, UploadId: uid, MaxParts: aws.Int32(2)})
	if err != nil || len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" {
		t.Fatalf("list parts = %+v, %v", lp, err)
	}
	lu, err := e.alice.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(uid) {
		t.Fatalf("list uploads = %+v, %v", lu, err)
	}

	// Errors before the successful completion.
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: uid,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{ETag: aws.String(`"00000000000000000000000000000000"`), PartNumber: aws.Int32(1)}}}})
	wantCode(t, "wrong etag", err, "InvalidPart")
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: uid,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[0], {ETag: completed[1].ETag, PartNumber: aws.Int32(9)}}}})
	wantCode(t, "missing part", err, "InvalidPart")
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: uid,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[1], completed[0]}}})
	wantCode(t, "descending", err, "InvalidPartOrder")
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: uid,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[2], {ETag: completed[2].ETag, PartNumber: aws.Int32(4)}}}})
	if c := apiCode(err); c != "InvalidPart" {
		t.Fatalf("unknown part 4: %v", err)
	}
	_, err = e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: aws.String("no-such-upload"),
		PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	wantCode(t, "upload to missing upload", err, "NoSuchUpload")

	done, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: uid,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil {
		t.Fatal(err)
	}
	if want := multipartETag(p1, p2, p3); aws.ToString(done.ETag) != want {
		t.Fatalf("final etag %s, want %s", aws.ToString(done.ETag), want)
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, append(append(append([]byte{}, p1...), p2...), p3...)) {
		t.Fatalf("assembled object differs (%d bytes)", len(got))
	}
	if aws.ToString(out.ContentType) != "application/x-big" || out.Metadata["origin"] != "test" || aws.ToInt32(out.TagCount) != 1 || aws.ToInt32(out.PartsCount) != 3 {
		t.Fatalf("completed object attrs %+v", out)
	}
	// partNumber reads and ranges across part boundaries.
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, p2) || aws.ToInt32(out.PartsCount) != 3 {
		t.Fatalf("part 2 read %d bytes", len(got))
	}
	out, err = e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, Range: aws.String(fmt.Sprintf("bytes=%d-%d", 5*mib-2, 5*mib+1))})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, p1[5*mib-2:]...), p2[:2]...)) {
		t.Fatalf("cross-part range %v", got)
	}
	_, err = e.alice.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: k, UploadId: uid})
	wantCode(t, "list parts after completion", err, "NoSuchUpload")
	// Only the assembled object's data remains.
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("%d data files after completion, want 1", n)
	}

	evs := e.outbox()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	wantEvent(t, evs[0], "mpu", "big/object", "ObjectCreated:CompleteMultipartUpload")
	if evs[0].Record.S3.Object.Size != int64(len(p1)+len(p2)+len(p3)) {
		t.Fatalf("event size %d", evs[0].Record.S3.Object.Size)
	}
}

func TestMultipartErrorsAndAbort(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "mpe")
	b, k := aws.String("mpe"), aws.String("small")

	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i := 1; i <= 2; i++ {
		up, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i)), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i))})
	}
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	wantCode(t, "small first part", err, "EntityTooSmall")
	_, err = e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		PartNumber: aws.Int32(10001), Body: strings.NewReader("x")})
	wantCode(t, "part number 10001", err, "InvalidArgument")
	_, err = e.bob.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId})
	wantCode(t, "bob aborts", err, "AccessDenied")

	// A single small part is fine (the last part may be small).
	one, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts[:1]}})
	if err != nil || aws.ToString(one.ETag) != multipartETag([]byte("tiny")) {
		t.Fatalf("single part completion %+v, %v", one, err)
	}
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("unused part data kept: %d files", n)
	}

	// Abort deletes the parts' data.
	cr, err = e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("aborted"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("discard")}); err != nil {
		t.Fatal(err)
	}
	if n := countDataFiles(t, e.dataDir); n != 2 {
		t.Fatalf("%d files before abort", n)
	}
	if _, err := e.alice.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("aborted"), UploadId: cr.UploadId}); err != nil {
		t.Fatal(err)
	}
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("%d files after abort", n)
	}
	_, err = e.alice.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("aborted"), UploadId: cr.UploadId})
	wantCode(t, "abort twice", err, "NoSuchUpload")

	// Malformed completion body.
	_, err = e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: aws.String("x"),
		MultipartUpload: &types.CompletedMultipartUpload{}})
	wantCode(t, "empty part list", err, "MalformedXML")
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "upc")
	src := pattern(6*mib, 9)
	if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("upc"), Key: aws.String("src"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("upc"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := e.alice.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("upc/src")})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.alice.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(2), CopySource: aws.String("upc/src"), CopySourceRange: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.alice.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(3), CopySource: aws.String("upc/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", 6*mib))})
	wantCode(t, "range past end", err, "InvalidArgument")
	done, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{ETag: c1.CopyPartResult.ETag, PartNumber: aws.Int32(1)}, {ETag: c2.CopyPartResult.ETag, PartNumber: aws.Int32(2)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := multipartETag(src, src[10:20]); aws.ToString(done.ETag) != want {
		t.Fatalf("etag %s want %s", aws.ToString(done.ETag), want)
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("upc"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, src...), src[10:20]...)) {
		t.Fatalf("part-copied object differs")
	}
}

func TestMultipartChecksums(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "mpsum")
	p1, p2 := pattern(5*mib, 4), pattern(777, 5)
	whole := append(append([]byte{}, p1...), p2...)
	for _, c := range []struct {
		algo  types.ChecksumAlgorithm
		ctype types.ChecksumType
		want  string // expected type
	}{
		{types.ChecksumAlgorithmCrc64nvme, "", "FULL_OBJECT"},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, "FULL_OBJECT"},
		{types.ChecksumAlgorithmCrc32c, "", "COMPOSITE"},
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, "COMPOSITE"},
	} {
		key := aws.String("obj-" + string(c.algo))
		cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpsum"), Key: key,
			ChecksumAlgorithm: c.algo, ChecksumType: c.ctype})
		if err != nil {
			t.Fatalf("%s: %v", c.algo, err)
		}
		var parts []types.CompletedPart
		for i, p := range [][]byte{p1, p2} {
			up, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpsum"), Key: key, UploadId: cr.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p), ChecksumAlgorithm: c.algo})
			if err != nil {
				t.Fatalf("%s part %d: %v", c.algo, i+1, err)
			}
			parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1)),
				ChecksumCRC32: up.ChecksumCRC32, ChecksumCRC32C: up.ChecksumCRC32C, ChecksumCRC64NVME: up.ChecksumCRC64NVME,
				ChecksumSHA256: up.ChecksumSHA256})
		}
		done, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpsum"), Key: key,
			UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatalf("%s complete: %v", c.algo, err)
		}
		if string(done.ChecksumType) != c.want {
			t.Fatalf("%s: checksum type %q, want %s", c.algo, done.ChecksumType, c.want)
		}
		h, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpsum"), Key: key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got := aws.ToString(h.ChecksumCRC32) + aws.ToString(h.ChecksumCRC32C) + aws.ToString(h.ChecksumCRC64NVME) + aws.ToString(h.ChecksumSHA256)
		if c.want == "FULL_OBJECT" {
			if want := fullChecksum(t, string(c.algo), whole); got != want {
				t.Fatalf("%s: full-object checksum %s, want %s", c.algo, got, want)
			}
		} else if !strings.HasSuffix(got, "-2") {
			t.Fatalf("%s: composite checksum %q", c.algo, got)
		}
		// The SDK validates the whole-object checksum of a full GET itself.
		out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpsum"), Key: key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, out.Body); err != nil {
			t.Fatalf("%s: GET checksum validation: %v", c.algo, err)
		}
		out.Body.Close()
	}
	_, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String("x"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha1, ChecksumType: types.ChecksumTypeFullObject})
	wantCode(t, "full-object sha1", err, "InvalidRequest")

	// Without any algorithm the object still gets the default full-object CRC64NVME.
	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		up, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpsum"), Key: aws.String("plain"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpsum"), Key: aws.String("plain"),
		UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	h, err := e.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpsum"), Key: aws.String("plain"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(h.ChecksumCRC64NVME) != fullChecksum(t, "CRC64NVME", whole) || h.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("default multipart checksum %q %q (%v)", aws.ToString(h.ChecksumCRC64NVME), h.ChecksumType, err)
	}
}

func fullChecksum(t *testing.T, algo string, data []byte) string {
	t.Helper()
	var h hash.Hash
	switch algo {
	case "CRC32":
		h = crc32.NewIEEE()
	case "CRC32C":
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		h = crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	default:
		t.Fatalf("no full-object %s", algo)
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestConcurrentComplete: several clients completing one upload with the
// same parts all succeed with the same ETag, and the object is intact.
func TestConcurrentComplete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "race")
	b, k := aws.String("race"), aws.String("obj")
	cr, err := e.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := pattern(5*mib, 7), pattern(100, 8)
	var parts []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		up, err := e.alice.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	want := multipartETag(p1, p2)
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			out, err := e.alice.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
			if err == nil && aws.ToString(out.ETag) != want {
				err = fmt.Errorf("etag %s, want %s", aws.ToString(out.ETag), want)
			}
			errs <- err
		}()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, p1...), p2...)) {
		t.Fatal("object corrupted by concurrent completions")
	}
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("%d data files after concurrent completions, want 1", n)
	}
}
