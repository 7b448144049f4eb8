#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole ctest suite (unit and integration, not benchmarks) against an
# ASan+UBSan build in build-asan/. Sanitizer reports go to files, not
# stderr: a daemonized safs has /dev/null for stderr, and its leak check
# runs at its exit, after the test that started it has moved on. The
# stage fails when ctest fails or when any report file appears.
#
# Clang, not gcc: gcc links UBSan as a runtime of its own beside ASan's,
# and that one ignores UBSAN_OPTIONS=log_path, so a daemon's UBSan report
# would be lost. Clang's -fsanitize=undefined also checks more (float
# casts, for one). Warnings are shown but do not fail this stage: the
# main build (gcc, -Werror in CI) owns them.
#
# Usage: tests/sanitize.sh [CTEST ARGS...]
#   SAFS_ASAN_BUILD	build directory (build-asan)
#   SAFS_ASAN_CC	compiler (clang)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${SAFS_ASAN_BUILD:-$top/build-asan}

cc=$(command -v "${SAFS_ASAN_CC:-clang}")
jobs=$(nproc)
[ "$jobs" -gt 2 ] && jobs=2

logs=$(mktemp -d "${TMPDIR:-/tmp}/safs-asan.XXXXXX")
t0=$SECONDS
# A build directory configured with another compiler cannot switch.
if [ -f "$build/CMakeCache.txt" ] &&
    ! grep -qx "CMAKE_C_COMPILER:[A-Z]*=$cc" "$build/CMakeCache.txt"; then
	rm -rf "$build"
fi
CC=$cc cmake -S "$top" -B "$build" -DSAFS_SANITIZE=ON -DSAFS_FUZZ=OFF \
	-DSAFS_WERROR=OFF >/dev/null
if ! cmake --build "$build" -j"$jobs" >"$logs/build.log" 2>&1; then
	cat "$logs/build.log" >&2
	exit 1
fi
grep -E 'warning:' "$logs/build.log" >&2 || true
rm "$logs/build.log"
echo "sanitize: build took $((SECONDS - t0)) s" >&2
echo "sanitize: reports go to $logs" >&2
# log_path: one file per reporting process, <prefix>.<pid>.
asan=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export ASAN_OPTIONS="$asan:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
if sym=$(command -v llvm-symbolizer); then
	export ASAN_SYMBOLIZER_PATH=$sym
fi
# For tests that must adapt: LeakSanitizer cannot run in a process that
# strace (ptrace) already traces, and ASan reserves terabytes of shadow.
export SAFS_TEST_SANITIZE=1

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
