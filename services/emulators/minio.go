package emulators

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-io/sluice/services/location"
)

// Credentials and region of every MinIO the package starts.
const (
	MinIOAccessKey = "sluice-test"
	MinIOSecretKey = "sluice-test-secret"
	MinIORegion    = "us-east-1"
)

// MinIO is a running (or stopped) MinIO server. Its methods are safe for
// concurrent use; those taking a testing.TB must be called from that
// test's goroutine.
type MinIO struct {
	server
	endpoint string
}

// StartMinIO starts a MinIO server on 127.0.0.1 with its data in a temp
// directory, waits until it is ready and stops it when t ends. It skips t
// (or fails it, see RequireEnv) when MinIO cannot be found or started.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin, err := findBinary("SLUICE_MINIO_BIN", "minio", goBin("minio"))
	env := []string{
		"MINIO_ROOT_USER=" + MinIOAccessKey,
		"MINIO_ROOT_PASSWORD=" + MinIOSecretKey,
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_BROWSER=off",
		"MINIO_SITE_REGION=" + MinIORegion,
	}
	args := func(port int, data string) []string {
		console, perr := freePort()
		if perr != nil {
			console = port + 1
		}
		return []string{"server", "--quiet", "--address", "127.0.0.1:" + strconv.Itoa(port),
			"--console-address", "127.0.0.1:" + strconv.Itoa(console), data}
	}
	// The health check can pass before the S3 API has initialized; an
	// anonymous S3 request is refused with 403 once it has, and with 503
	// ("server not initialized") before.
	health := httpReady("/minio/health/ready", func(status int) bool { return status == http.StatusOK })
	api := httpReady("/", func(status int) bool { return status != http.StatusServiceUnavailable })
	ready := func(ctx context.Context, port int) error {
		if err := health(ctx, port); err != nil {
			return err
		}
		return api(ctx, port)
	}
	s := launch(t, "minio", bin, err, env, args, ready)
	return &MinIO{server: s, endpoint: "http://127.0.0.1:" + strconv.Itoa(s.Port())}
}

// Endpoint returns the server's URL, "http://127.0.0.1:<port>".
func (m *MinIO) Endpoint() string { return m.endpoint }

// Client returns an S3 client for the server, path-style, with the root
// credentials. It keeps no idle connections, so it leaves no goroutines
// behind.
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{
		HTTPClient:   plainClient,
		Region:       MinIORegion,
		BaseEndpoint: aws.String(m.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(MinIOAccessKey, MinIOSecretKey, ""),
	})
}

// NewBucket creates a bucket with a fresh random name and returns the
// name. It fails t if the bucket cannot be created.
func (m *MinIO) NewBucket(t testing.TB) string {
	t.Helper()
	name := randomName("sluice-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("minio: create bucket %s: %v", name, err)
	}
	return name
}

// Config returns the location config of bucket (under prefix, which may be
// empty) on this server.
func (m *MinIO) Config(bucket, prefix string) location.Config {
	return location.Config{Type: location.TypeS3, S3: &location.S3Config{
		Endpoint:        m.endpoint,
		Region:          MinIORegion,
		Bucket:          bucket,
		Prefix:          prefix,
		AccessKeyID:     MinIOAccessKey,
		SecretAccessKey: location.Secret(MinIOSecretKey),
		ForcePathStyle:  true,
	}}
}

// String describes the server for test logs.
func (m *MinIO) String() string { return fmt.Sprintf("minio at %s", m.endpoint) }
