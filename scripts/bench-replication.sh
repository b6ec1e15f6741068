#!/usr/bin/env bash
# Measures replication on a real split deployment: builds bin/sluice, then runs
# e2e/replbench's TestReplicationBench, which starts MinIO (the destination),
# `sluice run s3front` (embedded NATS, fs storage) and `sluice run replicator` on
# 127.0.0.1 ephemeral ports and measures
#   - lag: a steady, open-loop PUT rate of small objects (default 200/s of 64 KiB for
#     60 s), from each PUT's acknowledgment to its COMPLETED status event on
#     SLUICE_STATUS; and
#   - throughput: N large objects (default 16 x 64 MiB) replicated versus a plain
#     streaming copy (GetObject from Sluice into the aws-sdk-go-v2 transfer manager
#     uploading to MinIO) with the same concurrency, in rounds that alternate which
#     copy goes first; the medians are reported.
# Each figure is printed with the load average (/proc/loadavg) around it. Every process
# is stopped when the run ends, whatever happened.
#
# MinIO is found through $SLUICE_MINIO_BIN, PATH or ~/go/bin (go install
# github.com/minio/minio@latest); without it the run is skipped, or fails with
# SLUICE_REQUIRE_PEERS=1.
#
# Environment (defaults in brackets; see TestReplicationBench):
#   SLUICE_REPL_BENCH_ONLY         lag or throughput [both]
#   SLUICE_REPL_BENCH_RATE         offered PUTs per second [200]
#   SLUICE_REPL_BENCH_DURATION     offered-load duration [60s]
#   SLUICE_REPL_BENCH_LAG_SIZE     lag object size [64KiB]
#   SLUICE_REPL_BENCH_OBJECTS      throughput objects [16]
#   SLUICE_REPL_BENCH_SIZE         throughput object size [64MiB]
#   SLUICE_REPL_BENCH_CONCURRENCY  replicator and plain-copy concurrency [32]
#   SLUICE_REPL_BENCH_ROUNDS       throughput rounds, alternating which copy goes first [3]
#   SLUICE_REPL_BENCH_MULTIPART    1: throughput source objects are multipart uploads
#   SLUICE_REPL_BENCH_DEST_OPTIONS options of the "minio" location, e.g. partSize=16MiB
#   SLUICE_REPL_BENCH_OUT          also write the results as JSON to this file
# Extra arguments go to `go test` (e.g. -count=3).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "bench-replication: building bin/sluice" >&2
go build -o bin/sluice .
export SLUICE_BIN="$PWD/bin/sluice"
export SLUICE_REPL_BENCH=1

echo "bench-replication: load average before: $(cat /proc/loadavg 2>/dev/null || echo n/a)" >&2
cd e2e
go test -run '^TestReplicationBench$' -count=1 -v -timeout 40m "$@" ./replbench/ 2>&1 |
  grep -v '^        {' # the processes' JSON log lines, printed only on failure
