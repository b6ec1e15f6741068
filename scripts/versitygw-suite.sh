#!/usr/bin/env bash
# versitygw-suite.sh runs versitygw's Go S3 integration suite
#   versitygw test -a AK -s SK -e http://127.0.0.1:PORT full-flow
# against a freshly built Sluice (`sluice run all`, fresh data directory, 127.0.0.1 ports
# chosen by the kernel), saves the whole output and prints the pass/fail counts. The key
# pair reaches versitygw through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, not arguments.
# Needs go, curl >= 7.75 (--aws-sigv4), timeout, GNU sed and awk.
#
# The suite stops at the first Go panic inside a test (a nil field in a response it
# dereferences). When that happens this script records the test as PANIC and runs the
# tests that full-flow had not reached yet one by one (`versitygw test ... <TestName>`),
# in full-flow's order, so one panic costs one test rather than the rest of the suite.
#
# Environment:
#   SLUICE_VERSITYGW_MIN_PASS  exit 1 when fewer tests pass (unset: report only)
#   SLUICE_CACHE               cache directory (default $HOME/.cache/sluice); versitygw is
#                              installed into $SLUICE_CACHE/bin when not found
#   SLUICE_VERSITYGW_BIN       versitygw binary to use (must be $VERSITYGW_VERSION)
#   SLUICE_VERSITYGW_OUT       directory for the logs and results (default: new temp dir)
#   SLUICE_BIN                 sluice binary to use instead of building one
#   SLUICE_VERSITYGW_TIMEOUT   seconds allowed for the full-flow run (default 1800)
#
# Output files in the output directory:
#   full-flow.log     versitygw's output, as printed
#   one-by-one.log    output of the tests run one by one after a panic (if any)
#   results.tsv       one line per test: index, group, name, status (PASS, FAIL, SKIP,
#                     PANIC, NOSTATUS = only the bucket teardown failed, NOT_RUN), reason
#   sluice.log        Sluice's log
#
# Exit status: 0 done (and at least MIN_PASS passed), 1 fewer than MIN_PASS passed,
# 2 the suite could not be run (build, install or start failure).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
VERSITYGW_MODULE=github.com/versity/versitygw
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SLUICE_CACHE:-$HOME/.cache/sluice}
out=${SLUICE_VERSITYGW_OUT:-}
if [[ -z $out ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/sluice-versitygw.XXXXXX")
fi
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-versitygw-run.XXXXXX")
sluice_pid=
starts=0

die() {
	echo "versitygw-suite: $*" >&2
	exit 2
}

cleanup() {
	if declare -F stop_sluice >/dev/null; then stop_sluice; fi
	if [[ -f $work/sluice.log ]]; then cp "$work/sluice.log" "$out/sluice.log"; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# module_version prints the module version a Go binary was built from ("" if unknown).
module_version() {
	go version -m "$1" 2>/dev/null | awk -v m="$VERSITYGW_MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

# find_versitygw prints the path of a versitygw $VERSITYGW_VERSION binary, installing
# it into $cache/bin when none is found.
find_versitygw() {
	if [[ -n ${SLUICE_VERSITYGW_BIN:-} ]]; then
		[[ -x $SLUICE_VERSITYGW_BIN ]] || die "\$SLUICE_VERSITYGW_BIN=$SLUICE_VERSITYGW_BIN is not executable"
		echo "$SLUICE_VERSITYGW_BIN"
		return
	fi
	local c
	for c in "$cache/bin/versitygw" "$(command -v versitygw || true)" "$(go env GOPATH)/bin/versitygw"; do
		if [[ -n $c && -x $c && $(module_version "$c") == "$VERSITYGW_VERSION" ]]; then
			echo "$c"
			return
		fi
	done
	echo "versitygw-suite: installing versitygw $VERSITYGW_VERSION into $cache/bin" >&2
	mkdir -p "$cache/bin"
	(cd "$work" && GOWORK=off GOBIN="$cache/bin" go install "$VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION") >&2 ||
		die "go install $VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION failed"
	echo "$cache/bin/versitygw"
}

# suite_source prints the directory of versitygw's source in the module cache.
suite_source() {
	(cd "$work" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$VERSITYGW_MODULE@$VERSITYGW_VERSION") |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p'
}

# list_full_flow prints the tests full-flow runs with the default flags, in its order,
# as "R|S group function" lines, reading group-tests.go: ts.Run runs a test at once,
# ts.Sync after all the others; statements under an `if` whose condition is false when
# every ts.conf flag is false (conditions not starting with "!") are left out.
list_full_flow() {
	awk '
	/^func Test[A-Za-z0-9_]+\(ts \*TestState\) \{/ { fn = $2; sub(/\(.*/, "", fn); depth = 0; skip = 0; next }
	fn == "" { next }
	/^}/ { fn = ""; next }
	/^[ \t]*if .*\{[ \t]*$/ {
		cond = $0; sub(/^[ \t]*if[ \t]+/, "", cond)
		depth++; off[depth] = (cond !~ /^!/); if (off[depth]) skip++
		next
	}
	/^[ \t]*}[ \t]*$/ { if (depth > 0) { if (off[depth]) skip--; depth-- }; next }
	skip > 0 { next }
	match($0, /ts\.Run\([A-Za-z0-9_]+\)/) { print fn, "R", substr($0, RSTART + 7, RLENGTH - 8); next }
	match($0, /ts\.Sync\([A-Za-z0-9_]+\)/) { print fn, "S", substr($0, RSTART + 8, RLENGTH - 9); next }
	match($0, /^[ \t]*Test[A-Za-z0-9_]+\(ts\)/) { n = $1; sub(/\(.*/, "", n); print fn, "C", n; next }
	' "$1" | awk '
	{ n[$1]++; kind[$1, n[$1]] = $2; arg[$1, n[$1]] = $3 }
	function walk(f, depth,   i) {
		if (depth > 20) return
		for (i = 1; i <= n[f]; i++) {
			if (kind[f, i] == "C") walk(arg[f, i], depth + 1)
			else if (kind[f, i] == "R") print "R", f, arg[f, i]
			else sync[++ns] = f " " arg[f, i]
		}
	}
	END { walk("TestFullFlow", 0); for (i = 1; i <= ns; i++) print "S", sync[i] }
	'
}

# markers turns versitygw's coloured RUN/PASS/FAIL/SKIP prefixes into "@RUN name" lines
# (they may follow other text on a line, e.g. after a teardown error).
markers() {
	sed -e $'s/\x1b\\[36mRUN  \x1b\\[0m/\\\n@RUN /g' \
		-e $'s/\x1b\\[32mPASS \x1b\\[0m/\\\n@PASS /g' \
		-e $'s/\x1b\\[31mFAIL \x1b\\[0m/\\\n@FAIL /g' \
		-e $'s/\x1b\\[33mSKIP \x1b\\[0m/\\\n@SKIP /g' \
		-e $'s/\x1b\\[[0-9;]*m//g' "$@"
}

# outcomes prints one "status<TAB>reason" line per RUN in the logs, in order. A test
# with no PASS/FAIL/SKIP is PANIC when a Go panic follows it, else NOSTATUS (versitygw
# prints neither when only the bucket teardown failed).
outcomes() {
	markers "$@" | awk '
	function flush() { if (have) { print status "\t" reason }; have = 0 }
	/^@RUN / { flush(); have = 1; status = "NOSTATUS"; reason = ""; next }
	/^@(PASS|FAIL|SKIP) / {
		if (have && status == "NOSTATUS") {
			status = substr($1, 2); reason = $0
			sub(/^@[A-Z]+ [A-Za-z0-9_]+:? ?/, "", reason)
		}
		next
	}
	/^panic: / { if (have && status == "NOSTATUS") { status = "PANIC"; reason = $0 }; next }
	have && status == "NOSTATUS" && reason == "" && NF > 0 { reason = $0 }
	END { flush() }
	' | cut -c1-400
}

command -v go >/dev/null || die "go is not on PATH"
vgw=$(find_versitygw)
src=$(suite_source)
[[ -n $src && -f $src/tests/integration/group-tests.go ]] || die "cannot find versitygw $VERSITYGW_VERSION source in the module cache"
list_full_flow "$src/tests/integration/group-tests.go" >"$work/tests.txt"
total=$(wc -l <"$work/tests.txt")
((total > 0)) || die "found no tests in $src/tests/integration/group-tests.go"

# Build and start Sluice.
if [[ -n ${SLUICE_BIN:-} ]]; then
	sluice=$SLUICE_BIN
else
	echo "versitygw-suite: building sluice" >&2
	(cd "$root" && go build -o "$work/sluice" github.com/sluice-io/sluice) || die "go build failed"
	sluice=$work/sluice
fi
ak=vgw$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
sk=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
# curl signs its bucket listing with the same keys, read from a file so that the
# secret stays out of process arguments.
printf 'user = "%s:%s"\n' "$ak" "$sk" >"$work/curl.cfg"

# start_sluice starts Sluice on a fresh data directory and kernel-chosen 127.0.0.1
# ports (read from its banner), and waits until /readyz answers.
start_sluice() {
	starts=$((starts + 1))
	echo "=== versitygw-suite: start $starts" >>"$work/sluice.log"
	SLUICE_NATS_LISTEN=127.0.0.1:0 SLUICE_ROOT_ACCESS_KEY=$ak SLUICE_ROOT_SECRET_KEY=$sk \
		"$sluice" run all -data-dir "$work/data.$starts" -s3-listen 127.0.0.1:0 -http-listen 127.0.0.1:0 \
		>"$work/banner.txt" 2>>"$work/sluice.log" &
	sluice_pid=$!
	endpoint= health=
	for _ in $(seq 600); do
		kill -0 "$sluice_pid" 2>/dev/null || { tail -20 "$work/sluice.log" >&2; die "sluice exited while starting"; }
		endpoint=$(sed -n 's/^ *S3 endpoint: *\(http[^ ]*\).*/\1/p' "$work/banner.txt")
		health=$(sed -n 's/^ *health\/admin: *\(http[^ ]*\).*/\1/p' "$work/banner.txt")
		if [[ -n $endpoint && -n $health ]] && curl -sf --noproxy '*' -o /dev/null "$health/readyz"; then return; fi
		endpoint=
		sleep 0.1
	done
	tail -20 "$work/sluice.log" >&2
	die "sluice not ready within 60s"
}

# stop_sluice stops Sluice (SIGTERM, then SIGKILL after 10 s) and removes its data.
stop_sluice() {
	[[ -n $sluice_pid ]] || return 0
	kill -TERM "$sluice_pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$sluice_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$sluice_pid" 2>/dev/null || true
	wait "$sluice_pid" 2>/dev/null || true
	sluice_pid=
	rm -rf "$work/data.$starts"
}

# bucket_count prints how many buckets Sluice lists (-1 if the request fails).
bucket_count() {
	local body
	body=$(curl -sf --noproxy '*' -K "$work/curl.cfg" --aws-sigv4 "aws:amz:us-east-1:s3" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$endpoint/") || { echo -1; return; }
	grep -o '<Name>' <<<"$body" | wc -l
}

start_sluice
echo "versitygw-suite: sluice at $endpoint; versitygw $vgw; $total tests; output in $out" >&2

# versitygw reads the key pair from the environment (kept out of its arguments). It
# signs with these credentials only; AWS_CA_BUNDLE would make the SDK load a bundle it
# does not need (and fail when the file is missing).
vgw_test() {
	env -u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
		-u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID="$ak" AWS_SECRET_ACCESS_KEY="$sk" \
		timeout "$1" "$vgw" test -e "$endpoint" "$2"
}

rc=0
vgw_test "${SLUICE_VERSITYGW_TIMEOUT:-1800}" full-flow >"$out/full-flow.log" 2>&1 || rc=$?
outcomes "$out/full-flow.log" >"$work/outcomes.txt"
ran=$(wc -l <"$work/outcomes.txt")
: >"$out/one-by-one.log"
if grep -q '^panic: ' "$out/full-flow.log" && ((ran < total)); then
	echo "versitygw-suite: full-flow panicked in test $ran of $total ($(tail -1 "$work/outcomes.txt" | cut -f2 | cut -c1-120)); running the other $((total - ran)) one by one" >&2
	# Every test names its bucket test-bucket-1 when run alone, so a bucket a test
	# leaves behind would fail all the later ones: Sluice restarts empty after such a test.
	[[ $(bucket_count) == 0 ]] || { stop_sluice; start_sluice; }
	while read -r _ _ name; do
		printf '=== %s\n' "$name" >>"$out/one-by-one.log"
		n0=$(grep -c $'\x1b\\[36mRUN ' "$out/one-by-one.log" || true)
		vgw_test 300 "$name" >>"$out/one-by-one.log" 2>&1 || true
		n1=$(grep -c $'\x1b\\[36mRUN ' "$out/one-by-one.log" || true)
		# A test that is not a subcommand of its own prints no RUN line.
		if ((n1 == n0)); then printf '\x1b[36mRUN  \x1b[0m%s\nNOT RUN: no such versitygw test command\n' "$name" >>"$out/one-by-one.log"; fi
		if [[ $(bucket_count) != 0 ]]; then
			echo "=== (left buckets behind: Sluice restarted empty)" >>"$out/one-by-one.log"
			stop_sluice
			start_sluice
		fi
	done < <(tail -n +"$((ran + 1))" "$work/tests.txt")
	outcomes "$out/full-flow.log" "$out/one-by-one.log" >"$work/outcomes.txt"
	rc=0
elif ((rc == 124)); then
	echo "versitygw-suite: full-flow timed out after ${SLUICE_VERSITYGW_TIMEOUT:-1800}s" >&2
fi

if ! kill -0 "$sluice_pid" 2>/dev/null; then
	echo "versitygw-suite: sluice exited during the suite; the last lines of its log:" >&2
	tail -20 "$work/sluice.log" >&2
fi

# results.tsv: the tests in order with what happened to each.
paste <(awk '{ print NR "\t" $2 "\t" $3 }' "$work/tests.txt") "$work/outcomes.txt" |
	awk -F'\t' 'BEGIN { OFS = "\t" } { if ($4 == "") { $4 = "NOT_RUN"; $5 = "" }; if ($5 ~ /^NOT RUN/) $4 = "NOT_RUN"; print }' >"$out/results.tsv"

count() { awk -F'\t' -v s="$1" '$4 == s' "$out/results.tsv" | wc -l; }
pass=$(count PASS) fail=$(count FAIL) skip=$(count SKIP) panic=$(count PANIC) nostatus=$(count NOSTATUS) notrun=$(count NOT_RUN)
echo
echo "versitygw $VERSITYGW_VERSION full-flow against Sluice: PASS $pass of $total (FAIL $fail, SKIP $skip, PANIC $panic, teardown-only failures $nostatus, not run $notrun)"
echo "failures by group:"
awk -F'\t' '$4 != "PASS" && $4 != "SKIP" { n[$2]++ } END { for (g in n) printf "  %4d %s\n", n[g], g }' "$out/results.tsv" | sort -k2
echo "full output: $out/full-flow.log  results: $out/results.tsv"

if [[ -n ${SLUICE_VERSITYGW_MIN_PASS:-} ]] && ((pass < SLUICE_VERSITYGW_MIN_PASS)); then
	echo "versitygw-suite: FAIL: $pass tests passed, fewer than SLUICE_VERSITYGW_MIN_PASS=$SLUICE_VERSITYGW_MIN_PASS" >&2
	exit 1
fi
exit 0
