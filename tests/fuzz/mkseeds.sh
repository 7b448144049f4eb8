#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates the committed envelope seeds in tests/fuzz/corpus/envelope:
# `openssl enc` files of a non-secret text under the fuzzer's passphrase
# (fuzz_envelope.c FUZZ_PASS) with one PBKDF2 iteration, cut-down headers,
# base64 armour, plain JSON and age headers. Not run by CI; the seeds are
# committed. The other corpora are hand-written; the account seed with a
# real key is made by tests/fuzz/run.sh at run time, never committed.
set -euo pipefail
cd "$(dirname "$0")/corpus/envelope"

pass=pass:safs-fuzz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plain=$tmp/plain.json
printf '{"type":"service_account","client_email":"fuzz@example.invalid"}\n' \
	>"$plain"

enc() {
	openssl enc -e -pass "$pass" -in "$plain" "$@" 2>/dev/null
}

# Decrypted by the fixed-parameter runs (kdf auto tries all three).
enc -aes-256-cbc -pbkdf2 -iter 1 >openssl-pbkdf2.bin
enc -aes-256-cbc -md sha256 >openssl-evp-sha256.bin
enc -aes-256-cbc -md md5 >openssl-evp-md5.bin
enc -aes-256-cbc -pbkdf2 -iter 1 -a >openssl-pbkdf2-armor.txt
enc -aes-256-cbc -pbkdf2 -iter 1 -a -A >openssl-pbkdf2-armor-oneline.txt
enc -aes-256-cbc -pbkdf2 -iter 1 -nosalt >openssl-nosalt.bin
openssl enc -e -aes-256-cbc -pbkdf2 -iter 1 -pass pass:not-the-passphrase \
	-in "$plain" >openssl-wrongpass.bin

# Seeds for the byte-selected parameter run: the last byte of the file
# must select the cipher and kdf it was made with (see fuzz_envelope.c),
# so draw salts until it does.
variant() {
	local out=$1 want=$2 b
	shift 2
	for _ in $(seq 1 2000); do
		enc "$@" >"$tmp/v"
		b=$(tail -c 1 "$tmp/v" | od -An -tu1 | tr -d ' ')
		if [ $((b & 0x7f)) -eq $((want)) ]; then
			mv "$tmp/v" "$out"
			return 0
		fi
	done
	echo "mkseeds: no salt gave $out its selector" >&2
	return 1
}
# selector: kdf (0 auto, 1 pbkdf2, 2 evp) | md << 2 (0 default, 1 md5,
# 2 sha1) | cipher << 4 (1 aes-128-cbc, 2 aes-256-ctr, 3 chacha20,
# 4 des-ede3-cbc, 5 aes-128-ecb)
variant openssl-aes128cbc-evp-md5.bin '2 | 1 << 2 | 1 << 4' \
	-aes-128-cbc -md md5
variant openssl-aes256ctr-pbkdf2.bin '1 | 2 << 4' -aes-256-ctr -pbkdf2 \
	-iter 1
variant openssl-chacha20-pbkdf2-sha1.bin '1 | 2 << 2 | 3 << 4' -chacha20 \
	-pbkdf2 -iter 1 -md sha1
variant openssl-des3-pbkdf2.bin '4 << 4' -des-ede3-cbc -pbkdf2 -iter 1
variant openssl-aes128ecb-pbkdf2.bin '1 | 5 << 4' -aes-128-ecb -pbkdf2 \
	-iter 1

# Damaged: a few blocks of a longer ciphertext, a header alone, a short
# salt, a ragged last block, armour that is not base64.
for i in 1 2 3 4 5 6; do cat "$plain"; done >"$tmp/long.json"
openssl enc -e -aes-256-cbc -pbkdf2 -iter 1 -pass "$pass" \
	-in "$tmp/long.json" -out "$tmp/long.bin"
head -c 64 "$tmp/long.bin" >openssl-first-blocks.bin
head -c 16 "$tmp/long.bin" >openssl-header-only.bin
head -c 12 "$tmp/long.bin" >openssl-short-salt.bin
head -c 53 "$tmp/long.bin" >openssl-ragged.bin
printf 'U2FsdGVkX1' >armor-magic-only.txt
printf 'U2FsdGVkX1+tRGR1on7kC+kf\n!!!!\n' >armor-bad-char.txt
printf 'U2FsdGVkX1+tRGR1on7kC+kf=\n' >armor-bad-padding.txt

# Plain JSON and the formats safs recognises but does not open.
cp "$plain" plain.json
printf '\357\273\277  {"client_email": "fuzz@example.invalid"}' \
	>plain-bom.json
printf '[1, 2, 3]\n' >plain-array.json
printf 'age-encryption.org/v1\n-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n' \
	>age-header.bin
printf -- '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n' \
	>age-armor.txt
