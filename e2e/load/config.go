package load

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Workload is the kind of operations a run performs.
type Workload string

// The workloads Run knows.
const (
	// WorkloadPut writes objects, cycling over Config.Keys keys so disk use stays bounded.
	WorkloadPut Workload = "put"
	// WorkloadGet reads objects from a key set it writes first (not measured).
	WorkloadGet Workload = "get"
	// WorkloadMixed reads and writes the prepared key set; Config.GetRatio of the
	// operations are GETs.
	WorkloadMixed Workload = "mixed"
)

// ParseWorkload accepts "put", "get" or "mixed" (any case) and returns an error wrapping
// ErrInvalidConfig otherwise.
func ParseWorkload(s string) (Workload, error) {
	switch w := Workload(lower(s)); w {
	case WorkloadPut, WorkloadGet, WorkloadMixed:
		return w, nil
	}
	return "", fmt.Errorf("%w: workload %q is not put, get or mixed", ErrInvalidConfig, s)
}

// ChecksumMode selects when the SDK computes request checksums and validates response
// checksums. Servers without streaming-trailer support can be measured fairly with
// ChecksumRequired.
type ChecksumMode string

// The checksum modes, mapped onto aws.RequestChecksumCalculation and
// aws.ResponseChecksumValidation.
const (
	// ChecksumSupported is the SDK default: a CRC32 on every PUT and validation of
	// checksums the server returns on GET.
	ChecksumSupported ChecksumMode = "supported"
	// ChecksumRequired computes and validates checksums only where an operation demands
	// them (not for PutObject or GetObject).
	ChecksumRequired ChecksumMode = "required"
)

// ParseChecksumMode accepts "supported" (or "when_supported") and "required" (or
// "when_required") and returns an error wrapping ErrInvalidConfig otherwise.
func ParseChecksumMode(s string) (ChecksumMode, error) {
	switch lower(s) {
	case "supported", "when_supported", "whensupported":
		return ChecksumSupported, nil
	case "required", "when_required", "whenrequired":
		return ChecksumRequired, nil
	}
	return "", fmt.Errorf("%w: checksum mode %q is not supported or required", ErrInvalidConfig, s)
}

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultRegion      = "us-east-1"
	DefaultBucket      = "sluice-load"
	DefaultObjectSize  = 64 << 10
	DefaultConcurrency = 16
	DefaultDuration    = 10 * time.Second
	DefaultKeys        = 100
	DefaultGetRatio    = 0.5
	DefaultOpTimeout   = 60 * time.Second
	DefaultKeyPrefix   = "load/"
)

// Config describes one load run. Zero fields take the defaults above (see WithDefaults);
// Endpoint, AccessKey and SecretKey are required.
type Config struct {
	// Endpoint is the S3 base URL, e.g. http://127.0.0.1:9600. Requests are path-style.
	Endpoint string
	// AccessKey and SecretKey are static credentials; they are never printed.
	AccessKey string
	SecretKey string
	// Region signs the requests; default us-east-1.
	Region string
	// Bucket is created when it does not exist.
	Bucket string
	// Workload is put, get or mixed; default put.
	Workload Workload
	// ObjectSize is the size of every object in bytes; default 64 KiB. Zero-byte objects
	// are not supported.
	ObjectSize int64
	// Concurrency is the number of workers, each with one request in flight; default 16.
	Concurrency int
	// Duration bounds the measured phase; Ops bounds the number of operations. The run
	// stops at whichever comes first; when both are zero, Duration is 10 s.
	Duration time.Duration
	Ops      int64
	// Keys is the size of the key set: GET and MIXED write it first, PUT overwrites it
	// round-robin; default 100.
	Keys int
	// ReuseKeys makes GET and MIXED read the key set an earlier run wrote (same
	// KeyPrefix, Keys and ObjectSize) instead of writing it first.
	ReuseKeys bool
	// KeyPrefix starts every key; default "load/".
	KeyPrefix string
	// GetRatio is the fraction (0..1] of MIXED operations that are GETs; zero means the
	// default 0.5 (a mix without GETs is the put workload).
	GetRatio float64
	// Checksum selects the SDK checksum behaviour; default ChecksumSupported.
	Checksum ChecksumMode
	// UnsignedPayload sends PUT bodies as UNSIGNED-PAYLOAD instead of signing their
	// SHA-256, which saves the client one pass over each body.
	UnsignedPayload bool
	// VerifyEvery checks the content of every Nth GET of each worker against the bytes
	// written (1 = every GET, 0 = none); a mismatch counts as an error.
	VerifyEvery int
	// OpTimeout bounds one operation; default 60 s.
	OpTimeout time.Duration
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Workload == "" {
		c.Workload = WorkloadPut
	}
	if c.ObjectSize == 0 {
		c.ObjectSize = DefaultObjectSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = DefaultDuration
	}
	if c.Keys == 0 {
		c.Keys = DefaultKeys
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.GetRatio == 0 {
		c.GetRatio = DefaultGetRatio
	}
	if c.Checksum == "" {
		c.Checksum = ChecksumSupported
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	return c
}

// Validate reports every out-of-range field, joined, in an error wrapping
// ErrInvalidConfig. Call it on a Config that went through WithDefaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("endpoint %q must be an http:// or https:// URL", c.Endpoint)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		bad("access key and secret key are required")
	}
	if c.Bucket == "" {
		bad("bucket is required")
	}
	if _, err := ParseWorkload(string(c.Workload)); err != nil {
		errs = append(errs, err)
	}
	if c.ObjectSize <= 0 {
		bad("object size must be positive, got %d", c.ObjectSize)
	}
	if c.Concurrency < 1 || c.Concurrency > 4096 {
		bad("concurrency must be 1..4096, got %d", c.Concurrency)
	}
	if c.Duration < 0 || c.Ops < 0 || (c.Duration == 0 && c.Ops == 0) {
		bad("set a positive duration or op count (duration %s, ops %d)", c.Duration, c.Ops)
	}
	if c.Keys < 1 {
		bad("keys must be at least 1, got %d", c.Keys)
	}
	if c.GetRatio <= 0 || c.GetRatio > 1 {
		bad("get ratio must be within (0, 1], got %g", c.GetRatio)
	}
	if _, err := ParseChecksumMode(string(c.Checksum)); err != nil {
		errs = append(errs, err)
	}
	if c.VerifyEvery < 0 {
		bad("verify-every must not be negative, got %d", c.VerifyEvery)
	}
	if c.OpTimeout <= 0 {
		bad("op timeout must be positive, got %s", c.OpTimeout)
	}
	return errors.Join(errs...)
}

// lower normalises a flag value for matching.
func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
