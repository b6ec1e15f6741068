package server_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestHostileKeys is guarantee (3): keys with "../", very long UTF-8 and
// exactly 1,024 bytes round-trip; NUL (sent as %00) and invalid UTF-8 are
// refused cleanly before any data is written; nothing is created outside
// the data root.
func TestHostileKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "keys")
	outside := filepath.Dir(e.dataDir)
	before := listTree(t, outside)

	keys := []string{
		"../escape",
		"../../../../../../etc/passwd",
		"a/../../b",
		"./.",
		"..",
		"trailing/",
		"//double//slash",
		"back\\slash",
		strings.Repeat("é", 512),  // 1,024 bytes of UTF-8
		strings.Repeat("k", 1024), // exactly the limit
		strings.Repeat("日本", 169) + "語/" + "x", // long multi-byte with a slash
		"%2e%2e/percent",
		"space and +plus",
		"emoji 🙂/" + strings.Repeat("🙂", 200),
	}
	for _, k := range keys {
		if len(k) > 1024 {
			t.Fatalf("test key of %d bytes", len(k))
		}
		if _, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k),
			Body: strings.NewReader("body of " + k)}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, k := range keys {
		out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keys"), Key: aws.String(k)})
		if got := getBody(t, out, err); got != "body of "+k {
			t.Fatalf("get %q = %q", k, got)
		}
	}
	// Listing returns every key byte for byte.
	got := map[string]bool{}
	in := &s3.ListObjectsV2Input{Bucket: aws.String("keys"), EncodingType: "url"}
	p := s3.NewListObjectsV2Paginator(e.alice, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			// aws-sdk-go-v2 does not decode encoding-type=url keys itself.
			k, err := url.QueryUnescape(aws.ToString(o.Key))
			if err != nil {
				t.Fatalf("listing key %q: %v", aws.ToString(o.Key), err)
			}
			got[k] = true
		}
	}
	for _, k := range keys {
		if !got[k] {
			t.Errorf("key %q missing from the listing", k)
		}
	}
	if len(got) != len(keys) {
		t.Errorf("listing has %d keys, want %d", len(got), len(keys))
	}

	// NUL (sent as %00) and invalid UTF-8 (%FF) are refused before any
	// data is written: the metadata stores hold UTF-8 text without NUL.
	for _, k := range []string{"nul\x00byte", "\x00", "bad\xffutf8"} {
		_, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k),
			Body: strings.NewReader("x")})
		wantCode(t, fmt.Sprintf("key %q", k), err, "InvalidArgument")
	}
	if n := countDataFiles(t, e.dataDir); n != len(keys) {
		t.Fatalf("%d data files for %d objects", n, len(keys))
	}

	// A key over 1,024 bytes is refused.
	_, err := e.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(strings.Repeat("k", 1025)),
		Body: strings.NewReader("x")})
	wantCode(t, "1025-byte key", err, "KeyTooLongError")

	// Raw requests that an SDK would normalise: literal dot segments.
	req, _ := http.NewRequest(http.MethodGet, e.url+"/keys/../escape", nil)
	resp, err := e.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous dot-segment request: %d", resp.StatusCode)
	}

	// Nothing was created outside the data root, and inside it only data
	// keys (bucket/uuid) exist: object keys never reach the filesystem.
	after := listTree(t, outside)
	for p := range after {
		if before[p] || strings.HasPrefix(p, "data"+string(filepath.Separator)) || p == "data" || strings.HasPrefix(p, "meta.db") {
			continue
		}
		t.Errorf("unexpected path %q outside the data root", p)
	}
	for p := range after {
		if strings.Contains(p, "passwd") || strings.Contains(p, "escape") {
			t.Errorf("object key reached the filesystem: %q", p)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "..", "escape")); err == nil {
		t.Error("file created above the test directory")
	}
}

// listTree returns every path under root, relative to it.
func listTree(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
