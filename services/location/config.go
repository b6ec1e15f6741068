package location

import (
	"fmt"
	"strings"
)

// Driver type names used in Config.Type.
const (
	TypeFS    = "fs"
	TypeS3    = "s3"
	TypeAzure = "azure"
	TypeGCS   = "gcs"
)

// Config configures one named location. Type selects the registered driver;
// the other fields are read by the driver of that type only.
type Config struct {
	// Type is the driver: "fs", "s3", "azure" or "gcs".
	Type string `yaml:"type" json:"type"`
	// Path is the root directory of an "fs" location.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// S3 configures an "s3" location.
	S3 *S3Config `yaml:"s3,omitempty" json:"s3,omitempty"`
	// Azure configures an "azure" location.
	Azure *AzureConfig `yaml:"azure,omitempty" json:"azure,omitempty"`
	// GCS configures a "gcs" location.
	GCS *GCSConfig `yaml:"gcs,omitempty" json:"gcs,omitempty"`
	// Options holds driver-specific settings that have no typed field.
	Options map[string]string `yaml:"options,omitempty" json:"options,omitempty"`
}

// S3Config configures a location in any S3-compatible store.
type S3Config struct {
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          string `yaml:"region,omitempty" json:"region,omitempty"`
	Bucket          string `yaml:"bucket" json:"bucket"`
	Prefix          string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	AccessKeyID     string `yaml:"accessKeyID,omitempty" json:"accessKeyID,omitempty"`
	SecretAccessKey Secret `yaml:"secretAccessKey,omitempty" json:"secretAccessKey,omitempty"`
	SessionToken    Secret `yaml:"sessionToken,omitempty" json:"sessionToken,omitempty"`
	ForcePathStyle  bool   `yaml:"forcePathStyle,omitempty" json:"forcePathStyle,omitempty"`
}

// AzureConfig configures a location in an Azure Blob Storage container.
type AzureConfig struct {
	Endpoint         string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	AccountName      string `yaml:"accountName,omitempty" json:"accountName,omitempty"`
	AccountKey       Secret `yaml:"accountKey,omitempty" json:"accountKey,omitempty"`
	ConnectionString Secret `yaml:"connectionString,omitempty" json:"connectionString,omitempty"`
	Container        string `yaml:"container" json:"container"`
	Prefix           string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
}

// GCSConfig configures a location in a Google Cloud Storage bucket.
type GCSConfig struct {
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Bucket          string `yaml:"bucket" json:"bucket"`
	Prefix          string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	CredentialsFile string `yaml:"credentialsFile,omitempty" json:"credentialsFile,omitempty"`
	CredentialsJSON Secret `yaml:"credentialsJSON,omitempty" json:"credentialsJSON,omitempty"`
}

// Validate checks what can be checked without the driver: Type is set, an
// "fs" location has a Path, and the typed sub-config present (if any)
// matches Type. Drivers validate the rest when opened. It returns an error
// wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Type) == "" {
		return fmt.Errorf("%w: type is required", ErrInvalidConfig)
	}
	if c.Type == TypeFS && c.Path == "" {
		return fmt.Errorf("%w: fs location needs a path", ErrInvalidConfig)
	}
	for typ, set := range map[string]bool{TypeS3: c.S3 != nil, TypeAzure: c.Azure != nil, TypeGCS: c.GCS != nil} {
		if set && c.Type != typ {
			return fmt.Errorf("%w: %s settings given for a location of type %q", ErrInvalidConfig, typ, c.Type)
		}
	}
	return nil
}

// Secret is a configuration string that must not appear in logs: it prints,
// and marshals to JSON, YAML or text, as "[redacted]" (or "" when empty).
// It unmarshals from a plain string. Use Value to read it.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts like String, for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts like String; encoding/json, yaml.v3 and zap use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText stores text as the secret.
func (s *Secret) UnmarshalText(text []byte) error {
	*s = Secret(text)
	return nil
}
