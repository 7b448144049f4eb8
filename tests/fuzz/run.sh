#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang, ASan+UBSan, coverage in the core
# library) in build-fuzz/ and runs each for a bounded time on a copy of
# its seed corpus. Fails on any crash, leak, timeout or out-of-memory.
#
# Usage: tests/fuzz/run.sh [TARGET...]	(default: all)
#   SAFS_FUZZ_SECONDS	time per target (30)
#   SAFS_FUZZ_BUILD	build directory (build-fuzz)
#   SAFS_FUZZ_KEEP=1	keep the work directory even when all pass
#   SAFS_FUZZ_SECURE_HEAP=1	fuzz with OpenSSL's secure heap (fuzz.h)
#
# Reproduce a crash: build-fuzz/tests/fuzz/fuzz_NAME CRASH-FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
build=${SAFS_FUZZ_BUILD:-$top/build-fuzz}
secs=${SAFS_FUZZ_SECONDS:-30}
all=(envelope account config options b64 passphrase_line)
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=("${all[@]}")
fi

jobs=$(nproc)
[ "$jobs" -gt 2 ] && jobs=2

cc=$(command -v "${SAFS_FUZZ_CC:-clang}")
work=$(mktemp -d "${TMPDIR:-/tmp}/safs-fuzz.XXXXXX")
t0=$SECONDS
# A build directory configured with another compiler cannot switch.
if [ -f "$build/CMakeCache.txt" ] &&
    ! grep -qx "CMAKE_C_COMPILER:[A-Z]*=$cc" "$build/CMakeCache.txt"; then
	rm -rf "$build"
fi
# Warnings are shown, not fatal: the main build (-Werror in CI) owns them.
CC=$cc cmake -S "$top" -B "$build" -DSAFS_FUZZ=ON -DSAFS_SANITIZE=ON \
	-DSAFS_WERROR=OFF >/dev/null
if ! cmake --build "$build" -j"$jobs" --target fuzz >"$work/build.log" 2>&1
then
	cat "$work/build.log" >&2
	exit 1
fi
grep -E 'warning:' "$work/build.log" >&2 || true
echo "fuzz: build took $((SECONDS - t0)) s" >&2
echo "fuzz: work directory (corpora, logs, crash artifacts): $work" >&2

# The account seeds with real keys: made here, used here, never committed.
# They are throwaway keys, but a failed run leaves them in $work (mode
# 0700) with the crash inputs that may need them.
account_seeds() {
	local d=$1 k=$work/keys n
	mkdir -p "$k"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$k/rsa2048.pem" 2>/dev/null
	openssl pkey -in "$k/rsa2048.pem" -traditional \
		-out "$k/rsa2048-pkcs1.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
		-out "$k/rsa1024.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$k/p256.pem" 2>/dev/null
	openssl genpkey -algorithm ED25519 -out "$k/ed25519.pem" 2>/dev/null
	for n in rsa2048 rsa2048-pkcs1 rsa1024 p256 ed25519; do
		# JSON string: the PEM's newlines as \n (PEM has no " or \).
		{
			printf '{\n  "type": "service_account",\n'
			printf '  "project_id": "p-1",\n'
			printf '  "private_key_id": "0123456789abcdef",\n'
			printf '  "private_key": "%s",\n' \
			    "$(awk '{ printf "%s\\n", $0 }' "$k/$n.pem")"
			printf '  "client_email": "%s",\n' \
			    fuzz@p-1.iam.gserviceaccount.com
			printf '  "client_id": "1",\n'
			printf '  "token_uri": "%s"\n}\n' \
			    https://oauth2.googleapis.com/token
		} >"$d/sa-$n.json"
	done
	# Without the optional private_key_id.
	sed '/private_key_id/d' "$d/sa-rsa2048.json" >"$d/sa-rsa2048-nokid.json"
}

# Reports on stderr, into each target's log (not files: libFuzzer saves
# the input that caused them).
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
if sym=$(command -v llvm-symbolizer); then
	export ASAN_SYMBOLIZER_PATH=$sym
fi

failed=()
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/fuzz_$t
	corpus=$work/corpus/$t
	log=$work/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz: no target $t (have: ${all[*]})" >&2
		failed+=("$t")
		continue
	fi
	mkdir -p "$corpus" "$work/artifacts"
	cp -R "tests/fuzz/corpus/$t/." "$corpus/"
	[ "$t" = account ] && account_seeds "$corpus"
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	t1=$SECONDS
	rc=0
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
		"${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
	status=ok
	if [ "$rc" -ne 0 ] ||
	    ls "$work/artifacts/$t-"{crash,leak,timeout,oom}-* >/dev/null \
	    2>&1; then
		status="FAILED (exit $rc, log $log)"
		failed+=("$t")
	fi
	printf 'fuzz_%s: %s execs in %d s, cov %s, corpus %s: %s\n' "$t" \
		"${execs:-?}" $((SECONDS - t1)) "${cov:-?}" \
		"$(find "$corpus" -type f | wc -l)" "$status"
	if [ "$status" != ok ]; then
		# The report, without libFuzzer's per-input progress lines.
		grep -v -E '^#[0-9]+\s' "$log" | tail -n 60 >&2
	fi
done
echo "fuzz: total $((SECONDS - t0)) s" >&2

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}; artifacts and logs in $work" >&2
	exit 1
fi
if [ "${SAFS_FUZZ_KEEP:-}" = 1 ]; then
	echo "fuzz: kept $work" >&2
else
	rm -rf "$work"
fi
