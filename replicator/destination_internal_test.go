package replicator

import (
	"maps"
	"testing"

	"github.com/sluice-io/sluice/services/location"
	s3loc "github.com/sluice-io/sluice/services/location/s3"
)

func TestDestinationConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   location.Config
		want map[string]string // Options of the result
	}{
		{"s3 without options", location.Config{Type: location.TypeS3}, map[string]string{s3loc.OptionReplicaMarker: "true"}},
		{"s3 with other options", location.Config{Type: location.TypeS3, Options: map[string]string{"partSize": "16MiB"}},
			map[string]string{"partSize": "16MiB", s3loc.OptionReplicaMarker: "true"}},
		{"s3 marker off", location.Config{Type: location.TypeS3, Options: map[string]string{s3loc.OptionReplicaMarker: "false"}},
			map[string]string{s3loc.OptionReplicaMarker: "false"}},
		{"azure", location.Config{Type: location.TypeAzure}, nil},
		{"fs", location.Config{Type: location.TypeFS, Path: "/x", Options: map[string]string{"a": "b"}}, map[string]string{"a": "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.in.Options)
			got := destinationConfig(tc.in)
			if !maps.Equal(got.Options, tc.want) {
				t.Errorf("Options = %v, want %v", got.Options, tc.want)
			}
			if !maps.Equal(tc.in.Options, before) {
				t.Errorf("the shared config changed: %v, was %v", tc.in.Options, before)
			}
		})
	}
}
