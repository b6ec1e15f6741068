#!/usr/bin/env bash
# Measures bucket notification latency end to end: PUT acknowledged by S3 → event received
# by a webhook, through one real `sluice run all` (s3front, outbox relay and deliverer in
# one process, embedded NATS) and a signed binary-mode webhook on 127.0.0.1. PUTs of 1 KiB
# are sent open loop at 100 and then 1,000 PUT/s (BenchmarkNotifyLatency in e2e, enabled
# by SLUICE_NOTIFY_BENCH=1); the webhook records when each key's event first arrived and
# the two are correlated by key. Prints, per rate, the achieved rates, PUT latency,
# p50/p99/max of ack → webhook, the three seconds with the slowest events, the process
# log's warnings, the S3 request, outbox (commit → PubAck) and deliverer (event time →
# 2xx) histograms from /metrics, and /proc/loadavg before and after: on a shared machine
# read the numbers with the load next to them. Each rate runs in a fresh process (cold
# start included). The process serves Go profiles on its HTTP port (/debug/pprof/).
#
# Environment (defaults in brackets):
#   SLUICE_NOTIFY_BENCH_N100          [2000]   PUTs at 100/s
#   SLUICE_NOTIFY_BENCH_N1000         [30000]  PUTs at 1,000/s
#   SLUICE_NOTIFY_BENCH_CONCURRENCY   [Sluice's default]  the webhook target's concurrency
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-notify.XXXXXX")
trap 'rm -rf "$bin"' EXIT
echo "bench-notify: building sluice" >&2
go build -o "$bin/sluice" .
export SLUICE_BIN="$bin/sluice" SLUICE_NOTIFY_BENCH=1

echo "loadavg: $(cat /proc/loadavg 2>/dev/null || echo n/a)"
cd e2e
go test . -run '^$' -bench 'NotifyLatency/rate=100$' -benchtime "${SLUICE_NOTIFY_BENCH_N100:-2000}x" -timeout 30m
go test . -run '^$' -bench 'NotifyLatency/rate=1000$' -benchtime "${SLUICE_NOTIFY_BENCH_N1000:-30000}x" -timeout 30m
echo "loadavg: $(cat /proc/loadavg 2>/dev/null || echo n/a)"
