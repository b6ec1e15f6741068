package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

func TestParseArgs(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "envak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsk")
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, o options)
		bad   string // substring of the error; empty means success
	}{
		{"defaults", nil, func(t *testing.T, o options) {
			c := o.cfg
			if c.Workload != load.WorkloadPut || c.ObjectSize != 64<<10 || c.Concurrency != 16 ||
				c.Duration != 10*time.Second || c.AccessKey != "envak" || c.SecretKey != "envsk" || o.json {
				t.Fatalf("cfg = %+v", c)
			}
		}, ""},
		{"all flags", []string{"-endpoint", "http://h:1", "-access-key", "a", "-secret-key", "s", "-workload", "MIXED",
			"-size", "4MiB", "-concurrency", "3", "-duration", "2s", "-ops", "9", "-keys", "7", "-get-ratio", "0.9",
			"-checksum", "required", "-unsigned-payload", "-verify", "1", "-json", "-bucket", "b", "-region", "eu-west-1"},
			func(t *testing.T, o options) {
				c := o.cfg
				if c.Endpoint != "http://h:1" || c.AccessKey != "a" || c.SecretKey != "s" || c.Workload != load.WorkloadMixed ||
					c.ObjectSize != 4<<20 || c.Concurrency != 3 || c.Duration != 2*time.Second || c.Ops != 9 || c.Keys != 7 ||
					c.GetRatio != 0.9 || c.Checksum != load.ChecksumRequired || !c.UnsignedPayload || c.VerifyEvery != 1 ||
					!o.json || c.Bucket != "b" || c.Region != "eu-west-1" {
					t.Fatalf("cfg = %+v", c)
				}
			}, ""},
		{"ops only has no duration", []string{"-ops", "5"}, func(t *testing.T, o options) {
			if o.cfg.Duration != 0 || o.cfg.Ops != 5 {
				t.Fatalf("cfg = %+v", o.cfg)
			}
		}, ""},
		{"compare", []string{"-compare", "sluice, minio,versitygw", "-sizes", "4KiB,1MiB", "-workloads", "get"},
			func(t *testing.T, o options) {
				if len(o.compare) != 3 || o.subject != peers.Sluice || len(o.sizes) != 2 || o.sizes[1] != 1<<20 ||
					len(o.workloads) != 1 || o.workloads[0] != load.WorkloadGet {
					t.Fatalf("options = %+v", o)
				}
			}, ""},
		{"bad size", []string{"-size", "4XB"}, nil, "invalid size"},
		{"bad workload", []string{"-workload", "list"}, nil, "workload"},
		{"bad checksum", []string{"-checksum", "never"}, nil, "checksum"},
		{"bad endpoint", []string{"-endpoint", "localhost:9000"}, nil, "endpoint"},
		{"stray argument", []string{"extra"}, nil, "unexpected"},
		{"unknown peer", []string{"-compare", "ceph"}, nil, "unknown server kind"},
		{"bad compare size", []string{"-compare", "minio", "-sizes", "big"}, nil, "invalid size"},
		{"empty compare lists", []string{"-compare", "minio", "-sizes", ","}, nil, "at least one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args, io.Discard)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("parseArgs(%v) = %v, want an error mentioning %q", tc.args, err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%v) = %v", tc.args, err)
			}
			tc.check(t, o)
		})
	}
}

func TestRunUsage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-size", "x"}, io.Discard, &stderr); code != exitUsage {
		t.Fatalf("exit code %d, want %d", code, exitUsage)
	}
	if code := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); code != exitOK {
		t.Fatalf("-h exit code %d, want 0", code)
	}
}

// requirePeers skips the test unless both MinIO and versitygw are installed, or fails it
// when $SLUICE_REQUIRE_PEERS is 1.
func requirePeers(t *testing.T) {
	for _, k := range []peers.Kind{peers.MinIO, peers.VersityGW} {
		if _, err := peers.Find(k); err != nil {
			if os.Getenv(peers.RequirePeersEnv) == "1" {
				t.Fatal(err)
			}
			t.Skipf("%v; set $%s=1 to make this a failure", err, peers.RequirePeersEnv)
		}
	}
}

// TestCompareMode runs the comparison end to end with two peers and tiny settings and
// checks the JSON it prints.
func TestCompareMode(t *testing.T) {
	requirePeers(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-compare", "minio,versitygw", "-subject", "versitygw",
		"-sizes", "4KiB", "-workloads", "put,get", "-duration", "1s", "-concurrency", "2", "-keys", "5",
		"-verify", "1", "-fail-on-errors", "-json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d\nstderr:\n%s", code, stderr.String())
	}
	var comps []load.Comparison
	if err := json.Unmarshal(stdout.Bytes(), &comps); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(comps) != 2 {
		t.Fatalf("got %d comparisons, want 2: %s", len(comps), stdout.String())
	}
	for i, w := range []load.Workload{load.WorkloadPut, load.WorkloadGet} {
		c := comps[i]
		if c.Workload != w || c.ObjectSize != 4096 || c.Subject != "versitygw" || c.BestPeer != "minio" ||
			c.Ratio <= 0 || len(c.Rows) != 2 {
			t.Errorf("comparison %d = %+v", i, c)
		}
		for _, r := range c.Rows {
			if r.Result.Total.Ops == 0 || r.Result.Total.Errors != 0 {
				t.Errorf("%s %s: ops %d errors %d", r.Server, w, r.Result.Total.Ops, r.Result.Total.Errors)
			}
		}
	}
}

// TestSingleRun runs the CLI once against a peer and checks the table.
func TestSingleRun(t *testing.T) {
	srv := peers.StartTest(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-endpoint", srv.Endpoint, "-workload", "mixed", "-size", "1KiB",
		"-ops", "40", "-concurrency", "2", "-keys", "4", "-verify", "1", "-fail-on-errors"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, s := range []string{"workload mixed", "size 1KiB", "PUT", "GET", "ALL"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, stdout.String())
		}
	}
}
