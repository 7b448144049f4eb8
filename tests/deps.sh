# SPDX-License-Identifier: MIT
# Sourced by tests/run.sh and mount-helpers/demo.sh: Debian packages the
# build and the tests need, installed when missing.
SAFS_BUILD_DEPS="cmake make gcc pkg-config libfuse3-dev fuse3 libssl-dev
libcjson-dev openssl"
SAFS_TEST_DEPS="python3 python3-pytest python3-jwt python3-google-auth
python3-cryptography strace valgrind clang libclang-rt-14-dev util-linux age
man-db systemd procps python3-yaml shellcheck llvm"

safs_install_deps() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}
