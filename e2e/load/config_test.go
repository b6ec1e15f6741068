package load

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	base := Config{Endpoint: "http://127.0.0.1:9000", AccessKey: "ak", SecretKey: "sk"}.WithDefaults()
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring; empty means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"ops only", func(c *Config) { c.Duration, c.Ops = 0, 10 }, ""},
		{"https", func(c *Config) { c.Endpoint = "https://s3.example:443" }, ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint"},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://x" }, "endpoint"},
		{"no keys", func(c *Config) { c.SecretKey = "" }, "secret key"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket"},
		{"bad workload", func(c *Config) { c.Workload = "delete" }, "workload"},
		{"zero size", func(c *Config) { c.ObjectSize = 0 }, "object size"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"no bound", func(c *Config) { c.Duration, c.Ops = 0, 0 }, "duration"},
		{"negative ops", func(c *Config) { c.Ops = -1 }, "duration"},
		{"zero keys", func(c *Config) { c.Keys = 0 }, "keys"},
		{"ratio above one", func(c *Config) { c.GetRatio = 1.5 }, "get ratio"},
		{"bad checksum", func(c *Config) { c.Checksum = "always" }, "checksum"},
		{"negative verify", func(c *Config) { c.VerifyEvery = -1 }, "verify"},
		{"zero op timeout", func(c *Config) { c.OpTimeout = 0 }, "op timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.Duration != DefaultDuration || c.Concurrency != DefaultConcurrency || c.ObjectSize != DefaultObjectSize ||
		c.Workload != WorkloadPut || c.Checksum != ChecksumSupported || c.GetRatio != DefaultGetRatio || c.Keys != DefaultKeys {
		t.Fatalf("WithDefaults() = %+v", c)
	}
	if c := (Config{Ops: 5}).WithDefaults(); c.Duration != 0 {
		t.Fatalf("an op count alone must not get a default duration, got %s", c.Duration)
	}
	if c := (Config{Duration: time.Second, GetRatio: 0.9}).WithDefaults(); c.Duration != time.Second || c.GetRatio != 0.9 {
		t.Fatalf("WithDefaults overwrote set fields: %+v", c)
	}
}

func TestParseWorkloadAndChecksum(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Workload
		ok   bool
	}{{"put", WorkloadPut, true}, {"GET", WorkloadGet, true}, {" Mixed ", WorkloadMixed, true}, {"list", "", false}, {"", "", false}} {
		got, err := ParseWorkload(tc.in)
		if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("ParseWorkload(%q) = %q, %v", tc.in, got, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want ChecksumMode
		ok   bool
	}{{"supported", ChecksumSupported, true}, {"when_required", ChecksumRequired, true}, {"Required", ChecksumRequired, true}, {"never", "", false}} {
		got, err := ParseChecksumMode(tc.in)
		if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("ParseChecksumMode(%q) = %q, %v", tc.in, got, err)
		}
	}
}
