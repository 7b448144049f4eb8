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
	local name=$1 cwd=$2 skip=$3 nenv=$4 log rc=0 t1=$SECONDS
	shift 4
	local env=("${@:1:nenv}")
	shift "$nenv"
	log=$logs/$name.log
	n=$((n + 1))
	(cd "$cwd" && env "${env[@]}" timeout "$limit" "${vg[@]}" \
		--log-file="$log" "$@") >"$logs/$name.out" 2>&1 || rc=$?
	# valgrind 3.19 reports, but does not count, descriptors left open;
	# every one but those inherited from ctest (stdio, ...) is a leak.
	local fds
	fds=$(awk '/^==[0-9]+== Open (file descriptor|AF_)/ { d = $0; next }
	    d != "" && /<inherited from parent>/ { d = ""; next }
	    d != "" { print d; d = "" }' "$log")
	if [ "$rc" -eq "$skip" ]; then
		skipped=$((skipped + 1))
		echo "valgrind: $name: skipped ($((SECONDS - t1)) s)"
	elif [ "$rc" -ne 0 ] || [ -n "$fds" ]; then
		failed+=("$name")
		echo "valgrind: $name: FAILED (exit $rc, $((SECONDS - t1)) s)"
		[ -n "$fds" ] && echo "valgrind: $name: descriptors left open:" \
			"$fds" >&2
		cat "$logs/$name.out" "$log" >&2
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
