#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole ctest suite (unit and integration, not benchmarks) against an
# ASan+UBSan build in build-asan/. Sanitizer reports go to files, not
# stderr: a daemonized safs has /dev/null for stderr, and its leak check
# runs at its exit, after the test that started it has moved on. The
# stage fails when ctest fails or when any report file appears.
#
# Usage: tests/sanitize.sh [CTEST ARGS...]
#   SAFS_ASAN_BUILD	build directory (build-asan)
#   SAFS_ASAN_CC	compiler (cc: gcc on Debian; clang works too)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${SAFS_ASAN_BUILD:-$top/build-asan}

werror=OFF
[ "${CI:-}" = true ] && werror=ON
jobs=$(nproc)
[ "$jobs" -gt 2 ] && jobs=2

t0=$SECONDS
CC=${SAFS_ASAN_CC:-${CC:-cc}} cmake -S "$top" -B "$build" -DSAFS_SANITIZE=ON \
	-DSAFS_FUZZ=OFF -DSAFS_WERROR=$werror >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null
echo "sanitize: build took $((SECONDS - t0)) s" >&2

logs=$(mktemp -d "${TMPDIR:-/tmp}/safs-asan.XXXXXX")
echo "sanitize: reports go to $logs" >&2
# log_path: one file per reporting process, <prefix>.<pid>.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
if sym=$(command -v llvm-symbolizer); then
	export ASAN_SYMBOLIZER_PATH=$sym
fi

t1=$SECONDS
rc=0
ctest --test-dir "$build" --output-on-failure -j1 -LE bench "$@" || rc=$?
echo "sanitize: ctest took $((SECONDS - t1)) s (exit $rc)" >&2

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
	for f in $reports; do
		echo "== $f" >&2
		cat "$f" >&2
	done
	echo "sanitize: FAILED: $(echo "$reports" | wc -l) sanitizer" \
		"report(s) in $logs" >&2
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	echo "sanitize: FAILED: ctest exit $rc" >&2
	exit "$rc"
fi
rmdir "$logs"
echo "sanitize: total $((SECONDS - t0)) s, no sanitizer reports" >&2
