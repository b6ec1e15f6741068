package s3front_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/events/deliver"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/services/config"
)

func noEnv(string) (string, bool) { return "", false }

func TestConfigLoad(t *testing.T) {
	var cfg s3front.Config
	if err := config.LoadFrom("testdata/s3front.yaml", &cfg, noEnv); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9700" || cfg.Region != "eu-west-1" || cfg.Domain != "s3.local" || cfg.MaxSkew != 5*time.Minute ||
		len(cfg.Users) != 2 || cfg.Metadata.Driver != "postgres" || len(cfg.Locations) != 2 || cfg.DefaultLocation != "primary" {
		t.Fatalf("loaded %+v", cfg)
	}
	red, err := config.RedactedYAML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"alice-secret-key", "bob-secret-key-00", "hunter2-password"} {
		if strings.Contains(string(red), secret) {
			t.Fatalf("secret %q in redacted config:\n%s", secret, red)
		}
	}

	// Environment overrides reach the section's leaves.
	env := map[string]string{"SLUICE_REGION": "ap-south-1", "SLUICE_MAX_SKEW": "1m"}
	var over s3front.Config
	if err := config.LoadFrom("testdata/s3front.yaml", &over, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if over.Region != "ap-south-1" || over.MaxSkew != time.Minute {
		t.Fatalf("env overrides not applied: %s %s", over.Region, over.MaxSkew)
	}

	var bad s3front.Config
	err = config.LoadFrom("testdata/bad.yaml", &bad, noEnv)
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("bad config: %v", err)
	}
	for _, want := range []string{"listen", "metadata.driver", "secret_key", "default_location", "path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestConfigWithEvents(t *testing.T) {
	good := deliver.Config{Targets: []deliver.TargetConfig{{Name: "hook", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:9/h"}}}
	bad := deliver.Config{Targets: []deliver.TargetConfig{{Name: "bad name", Kind: deliver.KindWebhook, URL: "http://127.0.0.1:9/h"}}}
	tests := []struct {
		name    string
		events  deliver.Config
		wantErr bool
	}{
		{"none", deliver.Config{}, false},
		{"one webhook", good, false},
		{"invalid target", bad, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c s3front.Config
			c.SetDefaults()
			c = c.WithEvents(tc.events)
			if len(c.Events.Targets) != len(tc.events.Targets) {
				t.Fatalf("WithEvents kept %d targets, want %d", len(c.Events.Targets), len(tc.events.Targets))
			}
			err := c.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("Validate() = %v, want config.ErrInvalid", err)
			}
		})
	}
}
