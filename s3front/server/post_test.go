package server_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// postForm sends a browser-style upload: fields (in order), then the file.
func (e *env) postForm(url string, fields map[string]string, extra [][2]string, file string) rawResponse {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, kv := range extra {
		_ = mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", "upload.txt")
	_, _ = io.WriteString(fw, file)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.raw.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
	var xe struct{ Code, Message string }
	if xml.Unmarshal(b, &xe) == nil {
		out.Code, out.Msg = xe.Code, xe.Message
	}
	return out
}

func TestPostObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket(e.alice, "forms")
	e.drainOutbox()
	ps := s3.NewPresignClient(e.alice)
	presign := func(key string, conds []any) *s3.PresignedPostRequest {
		t.Helper()
		p, err := ps.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("forms"), Key: aws.String(key)},
			func(o *s3.PresignPostOptions) { o.Expires = 5 * time.Minute; o.Conditions = conds })
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := presign("uploads/a.txt", []any{
		[]any{"content-length-range", 1, 100},
		[]any{"starts-with", "$Content-Type", "text/"},
		map[string]string{"success_action_status": "201"},
		[]any{"starts-with", "$x-amz-meta-origin", ""},
	})
	r := e.postForm(p.URL, p.Values, [][2]string{{"Content-Type", "text/plain"}, {"success_action_status", "201"},
		{"x-amz-meta-origin", "browser"}}, "posted body")
	if r.Status != 201 || !strings.Contains(string(r.Body), "<Key>uploads/a.txt</Key>") {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	out, err := e.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("forms"), Key: aws.String("uploads/a.txt")})
	if got := getBody(t, out, err); got != "posted body" || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["origin"] != "browser" {
		t.Fatalf("posted object %q %+v", got, out)
	}
	evs := e.outbox()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	wantEvent(t, evs[0], "forms", "uploads/a.txt", "ObjectCreated:Post")

	// Failures.
	for _, c := range []struct {
		name   string
		fields func() map[string]string
		extra  [][2]string
		file   string
		code   string
	}{
		{"too large", func() map[string]string { return p.Values }, [][2]string{{"Content-Type", "text/plain"}, {"success_action_status", "201"},
			{"x-amz-meta-origin", "b"}}, strings.Repeat("x", 101), "EntityTooLarge"},
		{"wrong content type", func() map[string]string { return p.Values }, [][2]string{{"Content-Type", "image/png"}, {"success_action_status", "201"},
			{"x-amz-meta-origin", "b"}}, "x", "AccessDenied"},
		{"extra field", func() map[string]string { return p.Values }, [][2]string{{"Content-Type", "text/plain"}, {"success_action_status", "201"},
			{"x-amz-meta-origin", "b"}, {"x-amz-meta-sneaky", "1"}}, "x", "AccessDenied"},
		{"tampered policy", func() map[string]string {
			m := map[string]string{}
			for k, v := range p.Values {
				m[k] = v
			}
			m["X-Amz-Signature"] = strings.Repeat("0", 64)
			return m
		}, nil, "x", "SignatureDoesNotMatch"},
		{"other key", func() map[string]string {
			q := presign("fixed", nil)
			m := map[string]string{}
			for k, v := range q.Values {
				m[k] = v
			}
			m["key"] = "elsewhere"
			return m
		}, nil, "x", "AccessDenied"},
		{"no policy", func() map[string]string { return map[string]string{"key": "anon"} }, nil, "x", "AccessDenied"},
	} {
		r := e.postForm(p.URL, c.fields(), c.extra, c.file)
		if r.Code != c.code {
			t.Errorf("%s: %d %s %s", c.name, r.Status, r.Code, r.Msg)
		}
	}
	// Bob's signed form cannot write into alice's bucket.
	bp, err := s3.NewPresignClient(e.bob).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("forms"), Key: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.postForm(bp.URL, bp.Values, nil, "x"); r.Code != "AccessDenied" {
		t.Fatalf("bob's post: %d %s", r.Status, r.Code)
	}
	if n := countDataFiles(t, e.dataDir); n != 1 {
		t.Fatalf("%d data files after failed posts", n)
	}
}
