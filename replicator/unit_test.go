package replicator_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/events/natstest"
	"github.com/sluice-io/sluice/services/health"
	"github.com/sluice-io/sluice/services/runtime"

	"github.com/sluice-io/sluice/replicator"
	"github.com/sluice-io/sluice/services/location"
)

func TestConfigValidate(t *testing.T) {
	locs := map[string]location.Config{"aws": {Type: "s3"}, "gcs": {Type: "gcs"}}
	src := replicator.SourceConfig{Endpoint: "http://127.0.0.1:9600", AccessKeyID: "k", SecretAccessKey: "s"}
	tests := []struct {
		name string
		cfg  replicator.Config
		ok   bool
	}{
		{"all locations by default", replicator.Config{Locations: locs, Source: src}, true},
		{"named destinations", replicator.Config{Destinations: []string{"aws"}, Locations: locs, Source: src}, true},
		{"unknown destination", replicator.Config{Destinations: []string{"azure"}, Locations: locs, Source: src}, false},
		{"dotted destination", replicator.Config{Destinations: []string{"a.b"}, Locations: map[string]location.Config{"a.b": {Type: "fs"}}, Source: src}, false},
		{"duplicate destination", replicator.Config{Destinations: []string{"aws", "aws"}, Locations: locs, Source: src}, false},
		{"no locations", replicator.Config{Source: src}, false},
		{"no endpoint", replicator.Config{Locations: locs, Source: replicator.SourceConfig{AccessKeyID: "k", SecretAccessKey: "s"}}, false},
		{"bad endpoint", replicator.Config{Locations: locs, Source: replicator.SourceConfig{Endpoint: "ftp://x", AccessKeyID: "k", SecretAccessKey: "s"}}, false},
		{"no keys", replicator.Config{Locations: locs, Source: replicator.SourceConfig{Endpoint: "http://x"}}, false},
		{"negative threshold", replicator.Config{Locations: locs, Source: src, Threshold: -time.Second}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, replicator.ErrInvalidConfig)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

var tagCases = []string{"", "a=b", "a=b&c=d%20e", "k=%ZZ", "x=1&x=2", "=v"}

func TestParseReplicaTags(t *testing.T) {
	got, err := replicator.ParseReplicaTags("class=pii&team=a%26b")
	if err != nil || got["class"] != "pii" || got["team"] != "a&b" || len(got) != 2 {
		t.Fatalf("ParseReplicaTags = %v, %v", got, err)
	}
	if _, err := replicator.ParseReplicaTags("k=%ZZ"); err == nil {
		t.Fatal("bad escape accepted")
	}
}

func FuzzParseReplicaTags(f *testing.F) {
	for _, c := range tagCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = replicator.ParseReplicaTags(s) // must not panic
	})
}

func TestMountAndReadiness(t *testing.T) {
	srv := natstest.RunJetStream(t)
	hh, err := health.New(prometheus.NewRegistry(), health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := replicator.Config{Locations: map[string]location.Config{"aws": {Type: "s3"}},
		Source: replicator.SourceConfig{Endpoint: "http://127.0.0.1:1", AccessKeyID: "k", SecretAccessKey: "s"}}
	if _, err := replicator.New(cfg, runtime.Settings{JetStream: srv.JetStream(), Admin: hh, Ready: hh}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/readyz", http.StatusServiceUnavailable},                             // Run has not started
		{"/admin/replication/destinations/aws", http.StatusServiceUnavailable}, // nor set up
		{"/admin/replication/destinations/nowhere", http.StatusNotFound},       // unknown destination
	} {
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.code {
			t.Fatalf("GET %s = %d %s, want %d", tc.path, rec.Code, rec.Body, tc.code)
		}
	}
	// A second service cannot mount the same routes.
	if _, err := replicator.New(cfg, runtime.Settings{JetStream: srv.JetStream(), Admin: hh}); !errors.Is(err, health.ErrBadRoute) {
		t.Fatalf("second mount = %v", err)
	}
}
