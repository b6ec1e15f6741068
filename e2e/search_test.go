package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

// TestMetadataSearch writes objects with user metadata through the S3 API of `sluice run
// all` and finds them with Zenko's GET /{bucket}?search=<where clause>, which s3front
// answers through the indexer fed by the event stream. A malformed clause gets
// InvalidArgument, never a 5xx; anonymous requests are denied.
func TestMetadataSearch(t *testing.T) {
	skipShort(t)
	s := startSluice(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, done := load.NewClient(load.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: s.Region})
	defer done()

	bucket := "search-e2e"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for i, color := range []string{"red", "blue", "red"} {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:   aws.String(bucket),
			Key:      aws.String(fmt.Sprintf("img/%d.png", i)),
			Body:     strings.NewReader("pixels"),
			Metadata: map[string]string{"color": color, "year": fmt.Sprint(2019 + i)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	search := func(clause string) (int, string) {
		t.Helper()
		return signedGet(t, ctx, s, "/"+bucket+"?search="+url.QueryEscape(clause))
	}

	// The indexer follows the stream: poll until both red objects are found.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := search(`x-amz-meta-color = 'red'`)
		if code == http.StatusOK && strings.Count(body, "<Key>") == 2 &&
			strings.Contains(body, "<Key>img/0.png</Key>") && strings.Contains(body, "<Key>img/2.png</Key>") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search never found the red objects: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := search(`x-amz-meta-color = 'blue' AND key LIKE /^img\//`); code != http.StatusOK || strings.Count(body, "<Key>") != 1 || !strings.Contains(body, "img/1.png") {
		t.Errorf("blue search: %d %s", code, body)
	}
	code, body := search(`x-amz-meta-color = = 'red'`)
	if code != http.StatusBadRequest || !strings.Contains(body, "InvalidArgument") {
		t.Errorf("malformed clause: %d %s", code, body)
	}

	// Unsigned requests are denied before anything reaches the index.
	resp, err := http.Get(s.Endpoint + "/" + bucket + "?search=" + url.QueryEscape(`key = 'x'`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous search: %s", resp.Status)
	}
}

// signedGet sends a SigV4-signed GET of path (with its query) to s's S3 endpoint and
// returns the status and body.
func signedGet(t *testing.T, ctx context.Context, s *peers.Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payload, "s3", s.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestCatalog searches across buckets with the JSON catalog, GET /search?q=, and
// aggregates with GET /search?by=, through `sluice run all`.
func TestCatalog(t *testing.T) {
	skipShort(t)
	s := startSluice(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, done := load.NewClient(load.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: s.Region})
	defer done()

	want := map[string]int{"cat-photos": 3, "cat-docs": 2}
	for bucket, n := range want {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("f%d", i)),
				Body: strings.NewReader(strings.Repeat("x", 10*(i+1))), ContentType: aws.String("text/plain"),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}

	type result struct {
		Results []struct {
			Bucket string `json:"bucket"`
			Key    string `json:"key"`
			Size   int64  `json:"size"`
		} `json:"results"`
	}
	q := func(clause string) string { return "/search?q=" + url.QueryEscape(clause) }
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := signedGet(t, ctx, s, q("content-type = 'text/plain'"))
		var r result
		if code == http.StatusOK && json.Unmarshal([]byte(body), &r) == nil && len(r.Results) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalog never found the 5 objects: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body := signedGet(t, ctx, s, q("bucket = 'cat-docs' AND content-length >= 20"))
	var r result
	if err := json.Unmarshal([]byte(body), &r); code != http.StatusOK || err != nil || len(r.Results) != 1 ||
		r.Results[0].Bucket != "cat-docs" || r.Results[0].Key != "f1" || r.Results[0].Size != 20 {
		t.Errorf("narrowed catalog search: %d %s", code, body)
	}

	code, body = signedGet(t, ctx, s, "/search?by=bucket")
	var agg struct {
		Groups []struct {
			Value string `json:"value"`
			Count int64  `json:"count"`
			Bytes int64  `json:"bytes"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(body), &agg); code != http.StatusOK || err != nil {
		t.Fatalf("aggregate: %d %s", code, body)
	}
	got := map[string]int64{}
	for _, g := range agg.Groups {
		got[g.Value] = g.Count
	}
	if got["cat-photos"] != 3 || got["cat-docs"] != 2 || len(got) != 2 {
		t.Errorf("aggregate by bucket: %s", body)
	}

	if code, body := signedGet(t, ctx, s, q("content-length >")); code != http.StatusBadRequest || !strings.Contains(body, "InvalidArgument") {
		t.Errorf("malformed catalog clause: %d %s", code, body)
	}
	resp, err := http.Get(s.Endpoint + q("key = 'f0'"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous catalog request: %s", resp.Status)
	}
}
