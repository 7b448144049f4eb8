#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on the bundled demo file: install what is missing, build,
# mount mount-helpers/demo/demo-sa.json.enc (a throwaway demo key) with its
# demo passphrase, list the entries, show client_email and the claims of
# a fresh token, unmount. Needs root, or a user who may use /dev/fuse.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

. "$top/tests/deps.sh"
safs_install_deps $SAFS_BUILD_DEPS
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null
safs=$top/build/safs

demo=$here/demo
# git keeps no file modes but x; a passfile others can read draws a warning.
chmod 600 "$demo/demo.passphrase"
mnt=$(mktemp -d "${TMPDIR:-/tmp}/safs-demo.XXXXXX")
cleanup() {
	if grep -qs " $mnt fuse" /proc/mounts; then fusermount3 -u "$mnt"; fi
	rmdir "$mnt"
}
trap cleanup EXIT

show() { printf '\n$ %s\n' "$*"; "$@"; }

show "$safs" -o "passfile=$demo/demo.passphrase,audience=demo.chata.io,user_id=demo-user,resource_access=/autoql/api/v1/query/**" \
	"$demo/demo-sa.json.enc" "$mnt"
show ls -l "$mnt"
show cat "$mnt/client_email"
echo
printf '\n$ cat %s/token   # claims, decoded:\n' "$mnt"
payload=$(cut -d. -f2 <"$mnt/token" | tr '_-' '/+')
while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
printf '%s' "$payload" | base64 -d | /usr/bin/python3 -m json.tool
show fusermount3 -u "$mnt"
echo "unmounted; nothing was written to disk."
