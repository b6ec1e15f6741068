#!/usr/bin/env bash
# Runs every module's tests in the Go workspace. `go test ./...` at a go.work root covers
# only the root module, so this loops over `go list -m` and fails if any module failed or
# did not run. The events module runs with the race detector.
#
# Environment:
#   SLUICE_TEST_RACE=all   race detector for every module (default: events only)
#   SLUICE_TEST_SHORT=1    pass -short
#   SLUICE_TEST_TIMEOUT    per-module go test timeout (default 20m)
set -uo pipefail
cd "$(dirname "$0")/.."

timeout="${SLUICE_TEST_TIMEOUT:-20m}"
mapfile -t mods < <(go list -m -f '{{.Path}} {{.Dir}}')
want=$(git ls-files --cached --others --exclude-standard -- 'go.mod' '*/go.mod' | wc -l)
if [ "${#mods[@]}" -ne "$want" ]; then
  echo "test-all: go list -m shows ${#mods[@]} modules but the tree has $want go.mod files" >&2
  exit 1
fi

passed=0 failed=0 failed_names=()
for entry in "${mods[@]}"; do
  path=${entry%% *} dir=${entry#* }
  args=(-count=1 -timeout "$timeout")
  if [ "${SLUICE_TEST_RACE:-}" = all ] || [ "$path" = github.com/sluice-io/sluice/events ]; then
    args+=(-race)
  fi
  [ -n "${SLUICE_TEST_SHORT:-}" ] && args+=(-short)
  echo "=== module $path (go test ${args[*]} ./...)"
  if (cd "$dir" && go test "${args[@]}" ./...); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$path")
  fi
done

echo
if [ "$failed" -ne 0 ]; then
  echo "test-all: failed modules: ${failed_names[*]}"
fi
echo "modules: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq "$want" ]
