package location

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"fs", Config{Type: TypeFS, Path: "/data"}, true},
		{"fs without path", Config{Type: TypeFS}, false},
		{"no type", Config{Path: "/data"}, false},
		{"blank type", Config{Type: " "}, false},
		{"s3", Config{Type: TypeS3, S3: &S3Config{Bucket: "b"}}, true},
		{"s3 settings on fs", Config{Type: TypeFS, Path: "/d", S3: &S3Config{}}, false},
		{"azure settings on gcs", Config{Type: TypeGCS, Azure: &AzureConfig{}}, false},
		{"gcs", Config{Type: TypeGCS, GCS: &GCSConfig{Bucket: "b"}}, true},
		{"unknown type is the registry's business", Config{Type: "tape"}, true},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	const secret = "hunter2-very-secret"
	cfg := Config{Type: TypeS3, S3: &S3Config{Bucket: "b", AccessKeyID: "AKID", SecretAccessKey: secret, SessionToken: secret}}
	core, logs := observer.New(zap.InfoLevel)
	zap.New(core).Info("config", zap.Any("location", cfg), zap.Stringer("secret", cfg.S3.SecretAccessKey))
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", *cfg.S3),
		"%+v":  fmt.Sprintf("%+v", *cfg.S3),
		"%#v":  fmt.Sprintf("%#v", *cfg.S3),
		"%s":   fmt.Sprintf("%s", cfg.S3.SecretAccessKey),
		"json": string(js),
		"zap":  fmt.Sprint(logs.All()[0].ContextMap()),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s output leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s output does not show the redaction: %s", name, out)
		}
	}
	var back Config
	if err := json.Unmarshal([]byte(`{"type":"s3","s3":{"bucket":"b","secretAccessKey":"`+secret+`"}}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.S3.SecretAccessKey.Value() != secret {
		t.Errorf("unmarshalled secret = %q", back.S3.SecretAccessKey.Value())
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print empty")
	}
}
