#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every unit test (ctest label "unit") of an existing build without
# sanitizers, run once more under valgrind memcheck: invalid accesses,
# uses of uninitialised memory, definite leaks and file descriptors left
# open at exit fail the stage. tests/run.sh builds build/ before this.
#
# Usage: tests/valgrind.sh [CTEST -R REGEX]
#   SAFS_BUILD			build directory (build)
#   SAFS_VALGRIND_TIMEOUT	seconds per test (600)
# Tests see SAFS_TEST_VALGRIND=1: under valgrind, posix_spawn() cannot
# report a failed exec (the child is a fork, not a vfork), so a program
# that does not exist starts "successfully" and exits 127.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${SAFS_BUILD:-$top/build}
limit=${SAFS_VALGRIND_TIMEOUT:-600}
filter=()
[ $# -gt 0 ] && filter=(-R "$1")

if [ ! -f "$build/CTestTestfile.cmake" ]; then
	echo "valgrind: $build is not a configured build (set SAFS_BUILD)" >&2
	exit 1
fi
if grep -q '^SAFS_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
	echo "valgrind: $build is a sanitizer build; valgrind needs a" \
		"plain one" >&2
	exit 1
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/safs-valgrind.XXXXXX")
vg=(valgrind --tool=memcheck --leak-check=full
	--errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=yes
	--track-origins=yes --num-callers=30 --gen-suppressions=all)
[ -f tests/valgrind.supp ] && vg+=(--suppressions="$top/tests/valgrind.supp")

# ctest knows each unit test's command, directory and environment; have
# it list them and turn them into shell-quoted "run_one" lines.
list=$(ctest --test-dir "$build" -L unit "${filter[@]}" \
	--show-only=json-v1 | python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin).get("tests", []):
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = props.get("ENVIRONMENT", [])
    cwd = props.get("WORKING_DIRECTORY", ".")
    skip = props.get("SKIP_RETURN_CODE", -1)
    print(" ".join(shlex.quote(str(x)) for x in
        ["run_one", t["name"], cwd, skip, len(env), *env, *t["command"]]))
')

t0=$SECONDS
failed=() n=0 skipped=0
run_one() {
	local name=$1 cwd=$2 skip=$3 nenv=$4 rc=0 t1=$SECONDS f pp main bad
	shift 4
	local env=("${@:1:nenv}")
	shift "$nenv"
	n=$((n + 1))
	mkdir -p "$logs/$name"
	# One log per process: a test may fork helpers, which valgrind
	# follows (not across exec).
	(cd "$cwd" && env "${env[@]}" SAFS_TEST_VALGRIND=1 \
		timeout "$limit" "${vg[@]}" \
		--log-file="$logs/$name/vg.%p.log" "$@") \
		>"$logs/$name/output" 2>&1 || rc=$?
	# Errors count in every process (a log without a summary is one
	# that went on to exec); the test's main process is the one whose
	# parent is none of the others.
	bad=$(grep -l 'ERROR SUMMARY: [1-9]' "$logs/$name"/vg.*.log || true)
	main=$(cd "$logs/$name" && for f in vg.*.log; do
		pp=$(sed -n 's/^==[0-9]*== Parent PID: //p' "$f")
		[ -e "vg.$pp.log" ] || echo "$f"
	done)
	# valgrind 3.19 reports, but does not count, descriptors left open;
	# in the main process, every one not inherited from ctest is a leak.
	local fds
	fds=$(for f in $main; do
		awk '/^==[0-9]+== Open (file descriptor|AF_)/ { d = $0; next }
		    d != "" && /<inherited from parent>/ { d = ""; next }
		    d != "" { print d; d = "" }' "$logs/$name/$f"
	done)
	if [ "$rc" -eq "$skip" ] && [ -z "$bad" ]; then
		skipped=$((skipped + 1))
		echo "valgrind: $name: skipped ($((SECONDS - t1)) s)"
	elif [ "$rc" -ne 0 ] || [ -n "$bad" ] || [ -n "$fds" ]; then
		failed+=("$name")
		echo "valgrind: $name: FAILED (exit $rc, $((SECONDS - t1)) s)"
		cat "$logs/$name/output" >&2
		for f in $bad; do
			grep -v -E '^==[0-9]+== *$' "$f" >&2
		done
		if [ -n "$fds" ]; then
			echo "valgrind: $name: descriptors left open at exit:" >&2
			echo "$fds" >&2
		fi
	else
		echo "valgrind: $name: ok ($((SECONDS - t1)) s)"
	fi
}
eval "$list"

echo "valgrind: $n unit test(s), $skipped skipped, ${#failed[@]} failed," \
	"$((SECONDS - t0)) s" >&2
if [ "$n" -eq 0 ]; then
	rm -rf "$logs"
	echo "valgrind: no unit tests in $build" >&2
	# In CI an empty run would quietly stop checking anything.
	[ "${CI:-}" = true ] && exit 1
	exit 0
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "valgrind: FAILED: ${failed[*]}; logs in $logs" >&2
	exit 1
fi
rm -rf "$logs"
