package load

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestClientRequestSettings checks, against a recording HTTP server, that the checksum
// and payload-signing settings reach the wire and that requests are path-style.
func TestClientRequestSettings(t *testing.T) {
	cases := []struct {
		name         string
		checksum     ChecksumMode
		unsigned     bool
		wantCRC      bool
		wantUnsigned bool
	}{
		{"sdk default", ChecksumSupported, false, true, false},
		{"when required", ChecksumRequired, false, false, false},
		{"unsigned payload", ChecksumRequired, true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var puts []*http.Request
			var bodyLens []int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				if r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") > 1 {
					mu.Lock()
					puts = append(puts, r)
					bodyLens = append(bodyLens, int(n))
					mu.Unlock()
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer srv.Close()
			res, err := Run(context.Background(), Config{
				Endpoint: srv.URL, AccessKey: "ak", SecretKey: "sk", Bucket: "bkt", ObjectSize: 1000,
				Ops: 3, Concurrency: 1, Checksum: tc.checksum, UnsignedPayload: tc.unsigned,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total.Ops != 3 || res.Total.Errors != 0 {
				t.Fatalf("ops %d errors %d %v", res.Total.Ops, res.Total.Errors, res.ErrorSamples)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(puts) != 3 {
				t.Fatalf("server saw %d object PUTs, want 3", len(puts))
			}
			for i, r := range puts {
				if !strings.HasPrefix(r.URL.Path, "/bkt/load/obj-") || r.Host != strings.TrimPrefix(srv.URL, "http://") {
					t.Errorf("request %s host %s is not path-style", r.URL.Path, r.Host)
				}
				if bodyLens[i] != 1000 {
					t.Errorf("body of %d bytes, want 1000", bodyLens[i])
				}
				hasCRC := r.Header.Get("X-Amz-Checksum-Crc32") != ""
				if hasCRC != tc.wantCRC {
					t.Errorf("x-amz-checksum-crc32 present = %t, want %t", hasCRC, tc.wantCRC)
				}
				sha := r.Header.Get("X-Amz-Content-Sha256")
				if (sha == "UNSIGNED-PAYLOAD") != tc.wantUnsigned || sha == "" {
					t.Errorf("x-amz-content-sha256 = %q, want unsigned %t", sha, tc.wantUnsigned)
				}
			}
		})
	}
}

// TestNoRetries checks that a failed request is counted once and never retried.
func TestNoRetries(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") > 1 {
			mu.Lock()
			attempts++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `<Error><Code>SlowDown</Code><Message>busy</Message></Error>`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Endpoint: srv.URL, AccessKey: "ak", SecretKey: "sk", Ops: 4, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if res.Total.Errors != 4 || res.Total.Ops != 0 || attempts != 4 {
		t.Fatalf("errors %d ops %d attempts %d; want 4 errors from 4 attempts", res.Total.Errors, res.Total.Ops, attempts)
	}
	if len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], "SlowDown") {
		t.Fatalf("error samples %v lack the S3 error code", res.ErrorSamples)
	}
}
