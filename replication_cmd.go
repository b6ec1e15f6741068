package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sluice-io/sluice/replicator"
	"github.com/sluice-io/sluice/s3front"
	"github.com/sluice-io/sluice/services/config"
	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/runtime"
)

// replicationSection is the `replication:` section: the replicator settings that make
// sense in a file. The locations are s3front's (s3.locations), the source is the
// process's S3 endpoint (s3.listen) with the root key pair.
type replicationSection struct {
	// Destinations are the location names this replicator serves, each with its own
	// durable consumer. Empty means every location of s3.locations that is not of type
	// fs. An fs location can be named (inside one process the fs driver shares an
	// open root), except s3.default_location: replicas there would share a root with
	// s3front's own object data.
	Destinations []string `yaml:"destinations"`
	// SourceEndpoint overrides the S3 endpoint objects are read from; empty means
	// http://<s3.listen> (an unspecified host becomes 127.0.0.1).
	SourceEndpoint string `yaml:"source_endpoint"`
	// Threshold is the replication-time objective (default 15m, as AWS RTC).
	Threshold time.Duration `yaml:"threshold"`
	// Concurrency is the number of objects copied at once per destination (default 32).
	Concurrency int `yaml:"concurrency"`
	// MaxDeliver is how many failed attempts make an operation FAILED (default 10).
	MaxDeliver int `yaml:"max_deliver"`
	// AckWait of the consumers (default 30s).
	AckWait time.Duration `yaml:"ack_wait"`
}

// Validate rejects negative settings; the rest is checked when the target is built,
// against the S3 section.
func (r *replicationSection) Validate() error {
	if r.Threshold < 0 || r.Concurrency < 0 || r.MaxDeliver < 0 || r.AckWait < 0 {
		return config.Invalidf("replication: threshold, concurrency, max_deliver and ack_wait must not be negative")
	}
	return nil
}

// replicatorConfig builds the replicator's configuration from the file: s3front's
// locations (resolved as s3front resolves them) and its endpoint with the root key pair.
func replicatorConfig(cfg *fileConfig) (replicator.Config, error) {
	r := cfg.Replication
	endpoint := r.SourceEndpoint
	if endpoint == "" {
		host, port, err := net.SplitHostPort(cfg.S3.Listen)
		if err != nil {
			return replicator.Config{}, fmt.Errorf("replication: s3.listen %q: %w", cfg.S3.Listen, err)
		}
		if port == "0" {
			return replicator.Config{}, fmt.Errorf("replication: s3.listen %q has no fixed port; set replication.source_endpoint", cfg.S3.Listen)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		endpoint = "http://" + net.JoinHostPort(host, port)
	}
	locs := cfg.S3.ResolvedLocations(cfg.DataDir)
	dests := replicationDestinations(cfg.Replication, locs)
	if len(dests) == 0 {
		return replicator.Config{}, fmt.Errorf("replication: no destination: name replication.destinations or configure an s3, azure or gcs location in s3.locations")
	}
	return replicator.Config{
		Destinations: dests,
		Locations:    locs,
		Source: replicator.SourceConfig{
			Endpoint:        endpoint,
			Region:          cfg.S3.Region,
			AccessKeyID:     cfg.RootAccessKey,
			SecretAccessKey: location.Secret(cfg.RootSecretKey),
		},
		Threshold:   r.Threshold,
		Concurrency: r.Concurrency,
		MaxDeliver:  r.MaxDeliver,
		AckWait:     r.AckWait,
	}, nil
}

// replicationDestinations returns the destinations the replicator serves: the named
// ones, or else every location that is not of type fs, sorted.
func replicationDestinations(r replicationSection, locs map[string]location.Config) []string {
	if len(r.Destinations) > 0 {
		return slices.Sorted(slices.Values(r.Destinations))
	}
	var out []string
	for name, lc := range locs {
		if lc.Type != location.TypeFS {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// replicationIdle reports whether there is nothing to replicate to: no destination
// named and no location other than fs ones. `run all`
// leaves the replicator out then; `run replicator` fails with the reason.
func replicationIdle(cfg *fileConfig) bool {
	return len(replicationDestinations(cfg.Replication, cfg.S3.ResolvedLocations(cfg.DataDir))) == 0
}

// newReplicator builds the replicator: one durable consumer per destination location,
// reading objects through the S3 endpoint, its admin API under /admin/replication/.
// Under `run all` with no destination it returns no target, only a banner saying so.
func newReplicator(cfg *fileConfig, set runtime.Settings, w *wiring) (started, error) {
	if w.all && replicationIdle(cfg) {
		return started{banner: func(context.Context) []string {
			return []string{"replication:   idle (no replication.destinations and no s3/azure/gcs location; not started)"}
		}}, nil
	}
	rc, err := replicatorConfig(cfg)
	if err != nil {
		return started{}, err
	}
	for _, d := range rc.Destinations {
		if d == cfg.S3.DefaultLocation {
			return started{}, fmt.Errorf("replication: destination %q is s3.default_location, which holds s3front's own object data; replicate to another location", d)
		}
	}
	svc, err := replicator.New(rc, set) // mounts /admin/replication/ on set.Admin
	if err != nil {
		return started{}, fmt.Errorf("replicator: %w", err)
	}
	dests := rc.Destinations
	return started{
		target: runtime.NewTarget("replicator", svc.Run),
		banner: func(context.Context) []string {
			return []string{fmt.Sprintf("replication:   to %v (admin: %s/destinations)", dests, replicator.AdminPrefix)}
		},
	}, nil
}

// replicationUsage documents `sluice replication`.
const replicationUsage = `usage: sluice replication [-admin URL] <command> [args]

  status [DEST]                         every destination (or one): pending ops and
                                        bytes, lag, failures, paused
  bucket BUCKET                         a bucket's replication status per destination
  object BUCKET KEY [-version V]        one object version's x-amz-replication-status
                                        and per-destination results (asks s3front)
  pause DEST                            stop replicating to DEST (its backlog builds up)
  resume DEST
  failed DEST [-bucket B] [-limit N]    objects whose replication to DEST FAILED
  retry DEST                            retry every FAILED object of DEST
  resync DEST -bucket B [-prefix P]     copy the existing objects of B to DEST again

-admin is the process HTTP listener of a process running the replicator target (for
object: the s3front target), default http://127.0.0.1:9601 or $SLUICE_ADMIN_URL.
Output is JSON.
`

// cmdReplication drives the replicator admin API of a running process.
func cmdReplication(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replication", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replicationUsage) }
	def := "http://127.0.0.1:9601"
	if v, ok := lookupEnv("SLUICE_ADMIN_URL"); ok && v != "" {
		def = v
	}
	base := fs.String("admin", def, "admin URL of the process running the replicator target")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	client, err := replicator.NewClient(*base, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sluice replication: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	cmd, rest := fs.Arg(0), fs.Args()[1:]
	sub := flag.NewFlagSet("replication "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	bucket := sub.String("bucket", "", "failed: only this bucket; resync: the bucket (required)")
	prefix := sub.String("prefix", "", "resync: only keys with this prefix")
	limit := sub.Int("limit", 100, "failed: at most this many")
	version := sub.String("version", "", "object: the version id (default: the current version)")
	name := ""
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	key := ""
	if cmd == "object" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		key, rest = rest[0], rest[1:]
	}
	if err := sub.Parse(rest); err != nil {
		return usageCode(err)
	}
	if cmd == "object" && (name == "" || key == "") {
		fmt.Fprintln(stderr, "sluice replication object: name a bucket and a key")
		return exitUsage
	}
	if name == "" && cmd != "status" {
		fmt.Fprintf(stderr, "sluice replication %s: name a destination (or a bucket for `bucket`)\n", cmd)
		return exitUsage
	}

	var out any
	switch cmd {
	case "status":
		if name == "" {
			out, err = client.Destinations(ctx)
		} else {
			out, err = client.Status(ctx, name)
		}
	case "bucket":
		out, err = client.Bucket(ctx, name)
	case "object":
		out, err = objectReplication(ctx, *base, name, key, *version)
	case "pause":
		out, err = client.Pause(ctx, name)
	case "resume":
		out, err = client.Resume(ctx, name)
	case "failed":
		out, err = client.Failed(ctx, name, *bucket, *limit)
	case "retry":
		var n int
		n, err = client.Retry(ctx, name)
		out = map[string]int{"retried": n}
	case "resync":
		if *bucket == "" {
			fmt.Fprintln(stderr, "sluice replication resync: -bucket is required")
			return exitUsage
		}
		var n int
		n, err = client.Resync(ctx, name, *bucket, *prefix)
		out = map[string]int{"queued": n}
	default:
		fmt.Fprintf(stderr, "sluice replication: unknown command %q\n", cmd)
		fs.Usage()
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice replication %s: %v\n", cmd, err)
		return exitFailed
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "sluice replication: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// objectReplication asks the s3front admin API at base for the replication state of
// one object version (s3front.ReplicationStatusPath).
func objectReplication(ctx context.Context, base, bucket, key, version string) (*s3front.ReplicationStatusReply, error) {
	q := url.Values{"bucket": {bucket}, "key": {key}}
	if version != "" {
		q.Set("versionId", version)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+s3front.ReplicationStatusPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("object status: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("object status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("object status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("object status: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out s3front.ReplicationStatusReply
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("object status: %w", err)
	}
	return &out, nil
}
