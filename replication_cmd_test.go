package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
)

func TestReplicatorConfig(t *testing.T) {
	fsOnly := map[string]location.Config{
		"local":  {Type: location.TypeFS, Path: "/tmp/a"},
		"backup": {Type: location.TypeFS, Path: "/tmp/b"},
	}
	withCloud := map[string]location.Config{
		"local": {Type: location.TypeFS, Path: "/tmp/a"},
		"aws":   {Type: location.TypeS3, S3: &location.S3Config{Bucket: "b"}},
		"gcp":   {Type: location.TypeGCS, GCS: &location.GCSConfig{Bucket: "b"}},
	}
	cases := []struct {
		name         string
		listen       string
		override     string
		locs         map[string]location.Config
		dests        []string
		wantEndpoint string
		wantDests    string
		wantErr      string
		wantIdle     bool
	}{
		{name: "defaults: one local location, idle", listen: "127.0.0.1:9600", wantIdle: true, wantErr: "no destination"},
		{name: "fs locations only, idle", listen: "127.0.0.1:9600", locs: fsOnly, wantIdle: true, wantErr: "no destination"},
		{name: "cloud locations are the default destinations", listen: "0.0.0.0:9700", locs: withCloud, wantEndpoint: "http://127.0.0.1:9700", wantDests: "aws,gcp"},
		{name: "named destination", listen: ":9700", locs: fsOnly, dests: []string{"backup"}, wantEndpoint: "http://127.0.0.1:9700", wantDests: "backup"},
		{name: "ipv6 host kept", listen: "[::1]:9700", locs: withCloud, dests: []string{"gcp"}, wantEndpoint: "http://[::1]:9700", wantDests: "gcp"},
		{name: "override", listen: "127.0.0.1:0", override: "http://s3.example:80", locs: withCloud, wantEndpoint: "http://s3.example:80", wantDests: "aws,gcp"},
		{name: "port 0 without override", listen: "127.0.0.1:0", locs: withCloud, wantErr: "no fixed port"},
		{name: "bad listen", listen: "nohostport", locs: withCloud, wantErr: "s3.listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &fileConfig{}
			cfg.SetDefaults()
			cfg.DataDir = t.TempDir()
			cfg.S3.SetDefaults()
			cfg.S3.Listen = tc.listen
			cfg.S3.Locations = tc.locs
			cfg.Replication.Destinations = tc.dests
			cfg.Replication.SourceEndpoint = tc.override
			if got := replicationIdle(cfg); got != tc.wantIdle {
				t.Errorf("idle = %v, want %v", got, tc.wantIdle)
			}
			rc, err := replicatorConfig(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Source.Endpoint != tc.wantEndpoint || rc.Source.AccessKeyID != devRootAccessKey ||
				string(rc.Source.SecretAccessKey) != devRootSecretKey || strings.Join(rc.Destinations, ",") != tc.wantDests {
				t.Fatalf("config = %+v", rc)
			}
			if err := rc.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if len(rc.Locations) != len(tc.locs) {
				t.Fatalf("locations = %v, want s3front's %v", rc.Locations, tc.locs)
			}
		})
	}
}

func TestReplicationSectionValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		sec  replicationSection
		ok   bool
	}{
		{"zero", replicationSection{}, true},
		{"set", replicationSection{Concurrency: 4, MaxDeliver: 3}, true},
		{"negative", replicationSection{Concurrency: -1}, false},
	} {
		if err := tc.sec.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

func TestReplicationCLIUsage(t *testing.T) {
	withEnv(t, nil)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage: sluice replication"},
		{[]string{"-h"}, exitOK, "usage: sluice replication"},
		{[]string{"pause"}, exitUsage, "name a destination"},
		{[]string{"resync", "aws"}, exitUsage, "-bucket is required"},
		{[]string{"object", "b"}, exitUsage, "name a bucket and a key"},
		{[]string{"frobnicate", "x"}, exitUsage, "unknown command"},
		{[]string{"-admin", "not a url", "status"}, exitUsage, "not an http(s) URL"},
		// Nothing listens on port 1: the command fails rather than hangs.
		{[]string{"-admin", "http://127.0.0.1:1", "status"}, exitFailed, "sluice replication status"},
	}
	for _, tc := range cases {
		var out, errb syncBuffer
		code := runCLI(context.Background(), append([]string{"replication"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("replication %v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}
