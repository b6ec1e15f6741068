package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
		u := s.Endpoint + "/" + bucket + "?search=" + url.QueryEscape(clause)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
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
