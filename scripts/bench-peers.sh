#!/usr/bin/env bash
# Compares Sluice (run all: embedded NATS, events on) with MinIO and versitygw on this
# machine: builds sluice and sluice-load, then sluice-load -compare starts each server in
# turn on 127.0.0.1 with a fresh temporary data directory, runs PUT and GET on 64 KiB and
# 4 MiB objects with the same settings, stops it, and prints one table with ops/s, MiB/s,
# p50/p99 per server and workload and the ratio of Sluice to the best peer. The servers are
# stopped by sluice-load even when a run fails or is interrupted.
#
# Peers are found through $SLUICE_MINIO_BIN / $SLUICE_VERSITYGW_BIN, PATH or ~/go/bin
# (go install github.com/minio/minio@latest, github.com/versity/versitygw/cmd/versitygw@v1.8.0);
# a missing peer is skipped with a note.
#
# Environment (defaults in brackets):
#   SLUICE_BENCH_CONCURRENCY [16]  workers per run
#   SLUICE_BENCH_DURATION    [20s] measured phase of each run
#   SLUICE_BENCH_SIZES       [64KiB,4MiB]
#   SLUICE_BENCH_WORKLOADS   [put,get]
#   SLUICE_BENCH_SERVERS     [sluice,minio,versitygw]
# Extra arguments go to sluice-load (e.g. -checksum required, -json, -keys 50).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$bin"' EXIT

echo "bench-peers: building sluice and sluice-load" >&2
go build -o "$bin/sluice" .
(cd e2e && go build -o "$bin/sluice-load" ./cmd/sluice-load)

"$bin/sluice-load" -compare "${SLUICE_BENCH_SERVERS:-sluice,minio,versitygw}" \
  -subject sluice \
  -sluice-bin "$bin/sluice" \
  -workloads "${SLUICE_BENCH_WORKLOADS:-put,get}" \
  -sizes "${SLUICE_BENCH_SIZES:-64KiB,4MiB}" \
  -concurrency "${SLUICE_BENCH_CONCURRENCY:-16}" \
  -duration "${SLUICE_BENCH_DURATION:-20s}" \
  "$@"
