package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluice-io/sluice/e2e/load"
	"github.com/sluice-io/sluice/e2e/peers"
)

// runCompare starts each server of o.compare in turn, runs every workload and size
// against it with the same settings, stops it, and prints the comparison. A server whose
// binary is missing is reported and left out, unless it is the subject. Every server is
// stopped before runCompare returns, whatever happened.
func runCompare(ctx context.Context, o options, stdout, stderr io.Writer) int {
	var runs []load.Named
	failed := false
	for _, kind := range o.compare {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "sluice-load: %v\n", err)
			return exitFailed
		}
		got, err := compareOne(ctx, o, kind, stderr)
		runs = append(runs, got...)
		switch {
		case errors.Is(err, peers.ErrBinaryNotFound) && kind != o.subject:
			fmt.Fprintf(stderr, "sluice-load: skipping %s: %v\n", kind, err)
		case err != nil:
			fmt.Fprintf(stderr, "sluice-load: %s: %v\n", kind, err)
			failed = true
		}
	}
	comps := load.Compare(string(o.subject), runs)
	var err error
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(comps)
	} else {
		fmt.Fprintf(stdout, "concurrency %d, duration %s, keys %d, checksum %s, unsigned payload %t\n",
			o.cfg.Concurrency, o.cfg.Duration, o.cfg.Keys, o.cfg.Checksum, o.cfg.UnsignedPayload)
		err = load.WriteComparison(stdout, comps)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice-load: %v\n", err)
		return exitFailed
	}
	for _, r := range runs {
		if r.Result.Total.Errors > 0 {
			fmt.Fprintf(stderr, "sluice-load: %s %s %s: %d errors, e.g. %v\n", r.Server, r.Result.Workload,
				load.FormatSize(r.Result.ObjectSize), r.Result.Total.Errors, r.Result.ErrorSamples)
			if o.failOnErrors {
				failed = true
			}
		}
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

// compareOne starts kind, runs every size and workload against it and stops it. It
// returns the results gathered before any error.
func compareOne(ctx context.Context, o options, kind peers.Kind, stderr io.Writer) ([]load.Named, error) {
	opts := peers.Options{}
	if kind == peers.Sluice {
		opts.Binary = o.sluiceBin
	}
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	srv, err := peers.Start(startCtx, kind, opts)
	cancel()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.Stop(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(stderr, "sluice-load: stop %s: %v\n", kind, err)
		}
	}()
	fmt.Fprintf(stderr, "sluice-load: %s up at %s (log %s)\n", kind, srv.Endpoint, srv.LogPath)
	var out []load.Named
	for _, size := range o.sizes {
		for _, w := range o.workloads {
			cfg := o.cfg
			cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region = srv.Endpoint, srv.AccessKey, srv.SecretKey, srv.Region
			cfg.Workload, cfg.ObjectSize = w, size
			cfg.KeyPrefix = o.cfg.KeyPrefix + load.FormatSize(size) + "/"
			fmt.Fprintf(stderr, "sluice-load: %s: %s %s ...\n", kind, w, load.FormatSize(size))
			res, err := load.Run(ctx, cfg)
			if err != nil {
				return out, fmt.Errorf("%s %s: %w", w, load.FormatSize(size), err)
			}
			out = append(out, load.Named{Server: string(kind), Result: res})
			if srv.Exited() {
				return out, fmt.Errorf("%w: %s died during the run\n%s", peers.ErrExited, kind, srv.LogTail(4096))
			}
		}
	}
	return out, nil
}
