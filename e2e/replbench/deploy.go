package replbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluice-io/sluice/e2e/peers"
	"github.com/sluice-io/sluice/e2e/stack"
)

// Names a Deployment uses.
const (
	// Location is the name of the MinIO destination in the Sluice configuration.
	Location = "minio"
	// DestBucket is the MinIO bucket the "minio" location stores replicas in.
	DestBucket = "replicas"
	// Region is the region every client signs with.
	Region = "us-east-1"
)

// ErrInvalidOptions is returned by Start for Options it cannot run with.
var ErrInvalidOptions = errors.New("replbench: invalid options")

// ErrAdmin is returned by Pause and Resume when the replicator's admin API refuses.
var ErrAdmin = errors.New("replbench: replicator admin API")

// Options configure Start. Bin and Dir are required.
type Options struct {
	// Bin is the sluice executable (see stack.Binary).
	Bin string
	// Dir holds both processes' data, logs and configuration files; the caller
	// removes it.
	Dir string
	// MinIO is a running MinIO to replicate to; nil makes Start launch one with
	// peers.Start, which Close stops.
	MinIO *peers.Server
	// Concurrency is the replicator's copies at once (replication.concurrency); zero
	// keeps its default.
	Concurrency int
	// AckWait is the replicator's consumer AckWait (replication.ack_wait), which is how
	// long events a killed replicator held wait before redelivery; zero keeps the
	// default (30s).
	AckWait time.Duration
	// DestinationOptions are the "minio" location's driver options (partSize,
	// concurrency, memoryLimit, checksumMode); nil sets none.
	DestinationOptions map[string]string
	// LogLevel of both Sluice processes; empty means "info".
	LogLevel string
	// Env is added to both Sluice processes' environment; FrontEnv and ReplicatorEnv
	// to one of them, after Env.
	Env           []string
	FrontEnv      []string
	ReplicatorEnv []string
}

// Deployment is a running MinIO, s3front process and replicator process. Its fields
// are read-only; Front and Replicator may be killed and restarted through their own
// methods (stack.Sluice), which keep their addresses.
type Deployment struct {
	// MinIO is the destination server.
	MinIO *peers.Server
	// Front is `sluice run s3front`, which embeds the NATS server.
	Front *stack.Sluice
	// Replicator is `sluice run replicator` on Front's NATS server.
	Replicator *stack.Sluice
	// Source is an S3 client for Front with the root credentials; it does not retry.
	Source *s3.Client
	// Dest is an S3 client for MinIO; it does not retry.
	Dest *s3.Client

	ownsMinIO bool
	idle      []func()
}

// Start launches the deployment: MinIO (unless opts.MinIO is set) with DestBucket, the
// s3front process and the replicator process, each ready (/readyz 200) when Start
// returns. ctx bounds the start only. On failure everything started is stopped again.
// Errors wrap ErrInvalidOptions, or what peers.Start, stack's Start and the MinIO
// client return.
func Start(ctx context.Context, opts Options) (d *Deployment, err error) {
	if opts.Bin == "" || opts.Dir == "" {
		return nil, fmt.Errorf("%w: Bin and Dir are required", ErrInvalidOptions)
	}
	if opts.Concurrency < 0 || opts.AckWait < 0 {
		return nil, fmt.Errorf("%w: negative concurrency or ack wait", ErrInvalidOptions)
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	d = &Deployment{MinIO: opts.MinIO}
	defer func() {
		if err != nil {
			_ = d.Close(context.WithoutCancel(ctx))
			d = nil
		}
	}()
	if d.MinIO == nil {
		if d.MinIO, err = peers.Start(ctx, peers.MinIO, peers.Options{}); err != nil {
			return d, err
		}
		d.ownsMinIO = true
	}
	d.Dest = d.newClient(d.MinIO.Endpoint, d.MinIO.AccessKey, d.MinIO.SecretKey)
	if _, err = d.Dest.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(DestBucket)}); err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return d, fmt.Errorf("replbench: create %s on MinIO: %w", DestBucket, err)
		}
	}

	frontDir, replDir := filepath.Join(opts.Dir, "s3front"), filepath.Join(opts.Dir, "replicator")
	frontCfg, err := writeConfig(filepath.Join(opts.Dir, "s3front.yaml"), d.config(opts, frontDir, nil))
	if err != nil {
		return d, err
	}
	d.Front = stack.New(stack.Config{Bin: opts.Bin, Dir: frontDir, Target: "s3front",
		Env: slices.Concat([]string{"SLUICE_CONFIG=" + frontCfg}, opts.Env, opts.FrontEnv)})
	if err = d.Front.Start(ctx); err != nil {
		return d, err
	}
	repl := map[string]any{"destinations": []string{Location}, "source_endpoint": d.Front.Endpoint}
	if opts.Concurrency > 0 {
		repl["concurrency"] = opts.Concurrency
	}
	if opts.AckWait > 0 {
		repl["ack_wait"] = opts.AckWait.String()
	}
	replCfg, err := writeConfig(filepath.Join(opts.Dir, "replicator.yaml"), d.config(opts, replDir, repl))
	if err != nil {
		return d, err
	}
	d.Replicator = stack.New(stack.Config{Bin: opts.Bin, Dir: replDir, Target: "replicator",
		NATSURL: d.Front.NATSURL, AccessKey: d.Front.AccessKey, SecretKey: d.Front.SecretKey,
		Env: slices.Concat([]string{"SLUICE_CONFIG=" + replCfg}, opts.Env, opts.ReplicatorEnv)})
	if err = d.Replicator.Start(ctx); err != nil {
		return d, err
	}
	d.Source = d.newClient(d.Front.Endpoint, d.Front.AccessKey, d.Front.SecretKey)
	return d, nil
}

// config returns a process's configuration: both locations (the fs one under dir) and,
// for the replicator, its replication section.
func (d *Deployment) config(opts Options, dir string, replication map[string]any) map[string]any {
	minio := map[string]any{
		"type": "s3",
		"s3": map[string]any{
			"endpoint": d.MinIO.Endpoint, "region": Region, "bucket": DestBucket,
			"accessKeyID": d.MinIO.AccessKey, "secretAccessKey": d.MinIO.SecretKey, "forcePathStyle": true,
		},
	}
	if len(opts.DestinationOptions) > 0 {
		minio["options"] = opts.DestinationOptions
	}
	cfg := map[string]any{
		"log": map[string]any{"level": opts.LogLevel, "format": "json"},
		"s3": map[string]any{
			"region":           Region,
			"default_location": "local",
			"locations": map[string]any{
				"local":  map[string]any{"type": "fs", "path": filepath.Join(dir, "data", "objects")},
				Location: minio,
			},
		},
	}
	if replication != nil {
		cfg["replication"] = replication
	}
	return cfg
}

// writeConfig writes cfg as JSON (which is YAML) to path, readable by the owner only
// because it holds MinIO's secret key, and returns path.
func writeConfig(path string, cfg map[string]any) (string, error) {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", fmt.Errorf("replbench: encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("replbench: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("replbench: write config: %w", err)
	}
	return path, nil
}

// newClient returns a path-style S3 client without retries, whose idle connections
// Close releases.
func (d *Deployment) newClient(endpoint, access, secret string) *s3.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	d.idle = append(d.idle, tr.CloseIdleConnections)
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(endpoint),
		Region:                     Region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		HTTPClient:                 &http.Client{Transport: tr},
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates bucket on Sluice with versioning enabled and one replication
// rule sending every object to the "minio" location, delete markers included.
func (d *Deployment) CreateBucket(ctx context.Context, bucket string) error {
	c := d.Source
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("replbench: create bucket %s: %w", bucket, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		return fmt.Errorf("replbench: enable versioning on %s: %w", bucket, err)
	}
	rule := types.ReplicationRule{
		ID:                      aws.String("to-" + Location),
		Priority:                aws.Int32(1),
		Status:                  types.ReplicationRuleStatusEnabled,
		Filter:                  &types.ReplicationRuleFilter{Prefix: aws.String("")},
		DeleteMarkerReplication: &types.DeleteMarkerReplication{Status: types.DeleteMarkerReplicationStatusEnabled},
		Destination:             &types.Destination{Bucket: aws.String("arn:aws:s3:::" + Location)},
	}
	if _, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String(bucket),
		ReplicationConfiguration: &types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/replbench"),
			Rules: []types.ReplicationRule{rule}}}); err != nil {
		return fmt.Errorf("replbench: replication rule on %s: %w", bucket, err)
	}
	return nil
}

// Pause pauses the "minio" destination through the replicator's admin API: its
// consumer stops and events queue up in JetStream. Errors wrap ErrAdmin.
func (d *Deployment) Pause(ctx context.Context) error { return d.admin(ctx, "pause") }

// Resume resumes the "minio" destination. Errors wrap ErrAdmin.
func (d *Deployment) Resume(ctx context.Context) error { return d.admin(ctx, "resume") }

func (d *Deployment) admin(ctx context.Context, op string) error {
	url := d.Replicator.HTTPURL + "/admin/replication/destinations/" + Location + "/" + op
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAdmin, err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrAdmin, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s answered %s", ErrAdmin, op, resp.Status)
	}
	return nil
}

// Close stops the replicator, s3front and (when Start launched it) MinIO, in that
// order, and returns their errors joined. It is safe on a partly started Deployment.
func (d *Deployment) Close(ctx context.Context) error {
	for _, f := range d.idle {
		f()
	}
	var errs []error
	if d.Replicator != nil {
		errs = append(errs, d.Replicator.Stop(ctx))
	}
	if d.Front != nil {
		errs = append(errs, d.Front.Stop(ctx))
	}
	if d.ownsMinIO && d.MinIO != nil {
		errs = append(errs, d.MinIO.Stop(ctx))
	}
	return errors.Join(errs...)
}
