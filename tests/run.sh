#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what the build and the tests need (Debian 12), configures,
# builds and runs every test through ctest. Usage: tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

# shellcheck source=tests/deps.sh
. tests/deps.sh
safs_install_deps $SAFS_BUILD_DEPS $SAFS_TEST_DEPS

build=${SAFS_BUILD:-$top/build}
werror=OFF
[ "${CI:-}" = true ] && werror=ON
cmake -S "$top" -B "$build" -DSAFS_WERROR=$werror >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j1 "$@"

# Further stages, each a script of its own: the ASan+UBSan build of the
# whole suite, the fuzzers for a bounded time, valgrind on the unit tests.
for stage in tests/sanitize.sh tests/fuzz/run.sh tests/valgrind.sh; do
	if [ -x "$stage" ]; then
		echo "== $stage" >&2
		"$stage"
	fi
done
