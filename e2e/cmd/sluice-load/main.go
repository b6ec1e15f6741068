// Command sluice-load drives an S3 endpoint with PUT, GET or mixed load and reports ops/s,
// MiB/s and latency quantiles; with -compare it starts Sluice, MinIO and versitygw one
// after another on this machine, runs the same workloads against each and prints one
// table with the ratio of Sluice to the best peer.
//
//	sluice-load -endpoint http://127.0.0.1:9600 -workload get -size 4MiB -duration 20s
//	sluice-load -compare sluice,minio,versitygw -sizes 64KiB,4MiB -workloads put,get
//
// Credentials come from -access-key/-secret-key or $AWS_ACCESS_KEY_ID and
// $AWS_SECRET_ACCESS_KEY (which keeps them out of the process list).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the run failed or, with -fail-on-errors, operations failed
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// sizeValue is a flag.Value holding a byte count parsed by load.ParseSize.
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return load.FormatSize(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := load.ParseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// options is the parsed command line.
type options struct {
	cfg          load.Config
	json         bool
	failOnErrors bool
	// compare mode
	compare   []peers.Kind
	subject   peers.Kind
	workloads []load.Workload
	sizes     []int64
	sluiceBin string
}

// parseArgs turns the command line into options; errors are usage errors.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sluice-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &o.cfg
	c.ObjectSize = load.DefaultObjectSize
	var workload, checksum, compare, subject, workloads, sizes string
	fs.StringVar(&c.Endpoint, "endpoint", "http://127.0.0.1:9600", "S3 endpoint URL (path-style requests)")
	fs.StringVar(&c.AccessKey, "access-key", os.Getenv("AWS_ACCESS_KEY_ID"), "access key (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&c.SecretKey, "secret-key", "", "secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.Region, "region", load.DefaultRegion, "signing region")
	fs.StringVar(&c.Bucket, "bucket", load.DefaultBucket, "bucket, created when missing")
	fs.StringVar(&workload, "workload", "put", "put, get or mixed")
	fs.Var(sizeValue{&c.ObjectSize}, "size", "object size: 4096, 64KiB, 4MiB, 10MB (KiB/K = 1024, KB = 1000)")
	fs.IntVar(&c.Concurrency, "concurrency", load.DefaultConcurrency, "workers, one request in flight each")
	fs.DurationVar(&c.Duration, "duration", 0, "length of the measured phase (default 10s unless -ops is set)")
	fs.Int64Var(&c.Ops, "ops", 0, "stop after this many operations (0: no limit)")
	fs.IntVar(&c.Keys, "keys", load.DefaultKeys, "key set size: GET/MIXED write it first, PUT overwrites it round-robin")
	fs.StringVar(&c.KeyPrefix, "key-prefix", load.DefaultKeyPrefix, "prefix of every key")
	fs.BoolVar(&c.ReuseKeys, "reuse-keys", false, "GET/MIXED: read the key set an earlier run wrote instead of writing it")
	fs.Float64Var(&c.GetRatio, "get-ratio", load.DefaultGetRatio, "MIXED: fraction of operations that are GETs, in (0, 1]")
	fs.StringVar(&checksum, "checksum", string(load.ChecksumSupported), "SDK checksums: supported (SDK default) or required")
	fs.BoolVar(&c.UnsignedPayload, "unsigned-payload", false, "send PUT bodies as UNSIGNED-PAYLOAD instead of signing their SHA-256")
	fs.IntVar(&c.VerifyEvery, "verify", 0, "check the content of every Nth GET per worker (0: never, 1: every GET)")
	fs.DurationVar(&c.OpTimeout, "op-timeout", load.DefaultOpTimeout, "limit for one operation")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON instead of a table")
	fs.BoolVar(&o.failOnErrors, "fail-on-errors", false, "exit 1 when any operation failed")
	fs.StringVar(&compare, "compare", "", "start these servers in turn and compare them (e.g. sluice,minio,versitygw); ignores -endpoint and keys")
	fs.StringVar(&subject, "subject", string(peers.Sluice), "compare: the server whose ratio to the best other one is reported")
	fs.StringVar(&workloads, "workloads", "put,get", "compare: workloads to run on each server")
	fs.StringVar(&sizes, "sizes", "64KiB,4MiB", "compare: object sizes to run on each server")
	fs.StringVar(&o.sluiceBin, "sluice-bin", "", "compare: sluice binary (default $SLUICE_BIN, else built from the source tree)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice-load [flags]   (see the package documentation for examples)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.SecretKey == "" {
		c.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	var err error
	if c.Workload, err = load.ParseWorkload(workload); err != nil {
		return o, err
	}
	if c.Checksum, err = load.ParseChecksumMode(checksum); err != nil {
		return o, err
	}
	if compare == "" {
		o.cfg = c.WithDefaults()
		return o, o.cfg.Validate()
	}
	for _, s := range splitList(compare) {
		k, err := peers.ParseKind(s)
		if err != nil {
			return o, err
		}
		o.compare = append(o.compare, k)
	}
	if o.subject, err = peers.ParseKind(subject); err != nil {
		return o, err
	}
	for _, s := range splitList(workloads) {
		w, err := load.ParseWorkload(s)
		if err != nil {
			return o, err
		}
		o.workloads = append(o.workloads, w)
	}
	for _, s := range splitList(sizes) {
		n, err := load.ParseSize(s)
		if err != nil {
			return o, err
		}
		o.sizes = append(o.sizes, n)
	}
	if len(o.compare) == 0 || len(o.workloads) == 0 || len(o.sizes) == 0 {
		return o, errors.New("-compare needs at least one server, workload and size")
	}
	// Validate the shared settings with placeholder credentials; each server has its own.
	probe := *c
	probe.Endpoint, probe.AccessKey, probe.SecretKey = "http://127.0.0.1:1", "x", "x"
	o.cfg = c.WithDefaults()
	return o, probe.WithDefaults().Validate()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice-load: %v\n", err)
		return exitUsage
	}
	if len(o.compare) > 0 {
		return runCompare(ctx, o, stdout, stderr)
	}
	res, err := load.Run(ctx, o.cfg)
	if err != nil && res.Total.Ops == 0 && res.Total.Errors == 0 {
		fmt.Fprintf(stderr, "sluice-load: %v\n", err)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice-load: stopped early: %v\n", err)
	}
	if werr := printResult(stdout, o.json, res); werr != nil {
		fmt.Fprintf(stderr, "sluice-load: %v\n", werr)
		return exitFailed
	}
	if err != nil || (o.failOnErrors && res.Total.Errors > 0) {
		return exitFailed
	}
	return exitOK
}

// printResult writes res as a table or as indented JSON.
func printResult(w io.Writer, asJSON bool, res load.Result) error {
	if !asJSON {
		return load.WriteTable(w, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
