package s3

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/sluice-io/sluice/services/location"
)

// TestReplicaMarker checks that the replicaMarker option, and only it, makes
// the driver's requests carry ReplicaHeader, signed like any other header.
// (s3front's tests check that a Sluice endpoint stores such writes as
// REPLICA, through every upload path of the driver.)
func TestReplicaMarker(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]string
		want    string
		bad     bool
	}{
		{name: "unset", options: nil, want: ""},
		{name: "true", options: map[string]string{OptionReplicaMarker: "true"}, want: "1"},
		{name: "false", options: map[string]string{OptionReplicaMarker: "false"}, want: ""},
		{name: "malformed", options: map[string]string{OptionReplicaMarker: "yes please"}, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got, signed []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r.Header.Get(ReplicaHeader))
				signed = append(signed, r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("ETag", `"0cc175b9c0f1b6a831c399e269772661"`)
				w.WriteHeader(http.StatusOK)
			}))
			t.Cleanup(srv.Close)
			cfg := location.Config{Type: Type, Options: tc.options, S3: &location.S3Config{
				Endpoint: srv.URL, Region: "us-east-1", Bucket: "b", AccessKeyID: "id", SecretAccessKey: "secret-key", ForcePathStyle: true,
			}}
			d, err := location.Open(t.Context(), "dest", cfg, zap.NewNop())
			if tc.bad {
				if !errors.Is(err, location.ErrInvalidConfig) {
					t.Fatalf("Open = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			if _, err := d.Put(t.Context(), "k", strings.NewReader("a"), location.PutOptions{Size: 1}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("%s on the requests = %q, want [%q]", ReplicaHeader, got, tc.want)
			}
			if inSigned := strings.Contains(strings.ToLower(signed[0]), strings.ToLower(ReplicaHeader)); inSigned != (tc.want != "") {
				t.Fatalf("Authorization %q: header signed = %v", signed[0], inSigned)
			}
		})
	}
}
