#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/bench/run.sh [--quick]: the safs performance table.
#
# Makes throwaway fixtures (an RSA-2048 key, a service-account JSON around
# it, encrypted with `openssl enc -aes-256-cbc -pbkdf2`, the passphrase in
# a 0600 passfile), mounts them with safs on fresh temporary mountpoints
# (default options, -o audit, -o nocache) beside a tmpfs holding copies of
# the same entries, and runs safs_bench, which measures each row side by
# side against its baseline and prints one table. Everything is unmounted
# and removed on exit, failure included.
#
# Needs root and /dev/fuse. Binaries come from $SAFS_BUILD_DIR (default:
# build/ at the top of this repository); they are built there with cmake
# when missing. $SAFS_BIN and $SAFS_BENCH_BIN override each binary.
#
# --quick: tiny iteration counts, to check that it runs (ctest bench.smoke).
# The numbers of a quick run mean nothing.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${SAFS_BUILD_DIR:-$SRC/build}
QUICK=
AUDIENCE=bench.chata.io

for a in "$@"; do
	case $a in
	--quick) QUICK=--quick ;;
	-h|--help)
		sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*)
		echo "run.sh: unknown argument $a (try --help)" >&2
		exit 2 ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root (it mounts a tmpfs and FUSE); skipped" >&2
	exit 77
fi
if [ ! -c /dev/fuse ]; then
	echo "run.sh: no /dev/fuse; skipped" >&2
	exit 77
fi
for t in openssl fusermount3 pgrep; do
	if ! command -v "$t" >/dev/null; then
		echo "run.sh: $t is missing" >&2
		exit 1
	fi
done

SAFS=${SAFS_BIN:-$BUILD/safs}
BENCH=${SAFS_BENCH_BIN:-$BUILD/tests/bench/safs_bench}
if [ ! -x "$SAFS" ] || [ ! -x "$BENCH" ]; then
	echo "run.sh: building safs and safs_bench in $BUILD" >&2
	cmake -S "$SRC" -B "$BUILD" >/dev/null &&
		cmake --build "$BUILD" -j2 --target safs safs_bench \
		>/dev/null || { echo "run.sh: build failed" >&2; exit 1; }
fi

TMP=$(mktemp -d /tmp/safs-bench.XXXXXXXX) || exit 1
AUDIT_PID=

# Mountpoints under $TMP, deepest first, from /proc/mounts.
mounts_under() {
	awk -v p="$TMP/" 'index($2, p) == 1 { print $2 }' /proc/mounts |
		sort -r
}

# The pids of safs processes serving a mount under $TMP (our own only:
# $TMP is unique to this run).
our_pids() {
	pgrep -f -- "$TMP/" 2>/dev/null | grep -vx "$$" || true
}

cleanup() {
	local m pid i left
	trap - EXIT INT TERM
	for m in $(mounts_under); do
		fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null ||
			umount -l "$m" 2>/dev/null
	done
	# Daemons exit once unmounted; wait for them, then insist.
	for i in $(seq 100); do
		[ -z "$(our_pids)" ] && break
		sleep 0.1
	done
	for pid in $(our_pids); do
		echo "run.sh: killing leftover process $pid" >&2
		kill -KILL "$pid" 2>/dev/null
	done
	[ -n "$AUDIT_PID" ] && wait "$AUDIT_PID" 2>/dev/null
	left=$(mounts_under)
	if [ -n "$left" ]; then
		echo "run.sh: still mounted, not removing $TMP: $left" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "run.sh: $*" >&2
	exit 1
}

wait_mounted() {
	local i
	for i in $(seq 200); do
		awk -v p="$1" '$2 == p { f = 1 } END { exit !f }' \
			/proc/mounts && return 0
		sleep 0.05
	done
	return 1
}

# Fixtures, all throwaway, and no plaintext of them on disk: the key goes
# from openssl genpkey through a pipe into the JSON, the JSON through a
# pipe into openssl enc. The passphrase never reaches an argv: printf is a
# shell builtin, and openssl reads it from the passfile.
umask 077
PEM=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	2>/dev/null | awk '{ printf "%s\\n", $0 }')
[ -n "$PEM" ] || die "openssl genpkey failed"
printf '%s\n' "$(openssl rand -hex 16)" >"$TMP/pass"
printf '{\n  "type": "service_account",\n  "project_id": "bench-123",
  "private_key_id": "0123456789abcdef0123456789abcdef01234567",
  "private_key": "%s",
  "client_email": "svc-bench@bench-123.iam.gserviceaccount.com",
  "client_id": "112233445566778899000",
  "token_uri": "https://oauth2.googleapis.com/token"\n}\n' "$PEM" |
	openssl enc -e -aes-256-cbc -pbkdf2 -out "$TMP/sa.enc" \
		-pass "file:$TMP/pass" || die "openssl enc failed"
unset PEM

mkdir "$TMP/mnt" "$TMP/audit" "$TMP/nocache" "$TMP/shm" "$TMP/cycles" ||
	die "mkdir failed"
OPTS="passfile=$TMP/pass,audience=$AUDIENCE"

mount -t tmpfs -o size=1m,mode=0700 safs-bench-tmpfs "$TMP/shm" ||
	die "cannot mount a tmpfs on $TMP/shm"
"$SAFS" -o "$OPTS" "$TMP/sa.enc" "$TMP/mnt" || die "safs mount failed"
"$SAFS" -o "$OPTS,nocache" "$TMP/sa.enc" "$TMP/nocache" ||
	die "safs -o nocache mount failed"
# Audit in the foreground, its log (stderr) to a file: there is no
# syslog daemon on these machines for daemon mode's log.
"$SAFS" -f -o "$OPTS,audit" "$TMP/sa.enc" "$TMP/audit" \
	</dev/null >/dev/null 2>"$TMP/audit.log" &
AUDIT_PID=$!
wait_mounted "$TMP/audit" || die "safs -f -o audit did not mount"

# The baseline: the same bytes on tmpfs.
for e in client_email private_key token; do
	cat "$TMP/mnt/$e" >"$TMP/shm/$e" || die "cannot read $TMP/mnt/$e"
done

PID=$(pgrep -f -- " $TMP/mnt\$")
[ "$(echo "$PID" | wc -w)" = 1 ] ||
	die "cannot find the daemon of $TMP/mnt (pgrep said: $PID)"

"$BENCH" $QUICK --mnt "$TMP/mnt" --tmpfs "$TMP/shm" --pid "$PID" \
	--audit-mnt "$TMP/audit" --audit-log "$TMP/audit.log" \
	--nocache-mnt "$TMP/nocache" --safs "$SAFS" --source "$TMP/sa.enc" \
	--passfile "$TMP/pass" --audience "$AUDIENCE" \
	--cycle-dir "$TMP/cycles" | tee "$TMP/table"
rc=${PIPESTATUS[0]}
grep -q '^what ' "$TMP/table" || die "no table printed"
[ "$rc" = 0 ] || die "safs_bench failed (exit $rc)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs; kernel $(uname -r);" \
	"$("$SAFS" --version)"
exit 0
