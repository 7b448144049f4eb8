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

# age -p files of the same text. The age CLI always uses scrypt work
# factor 18 (a second per attempt): write them here with work factor 2
# instead, which fuzz_envelope.c opens (python3-cryptography).
python3 - "$plain" <<'PY'
import base64, hashlib, hmac, os, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


def b64(b):
    return base64.b64encode(b).decode().rstrip("=")


def hkdf(ikm, salt, info):
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def age(plain, passphrase, log_n, armor=False):
    file_key, salt = os.urandom(16), os.urandom(16)
    key = Scrypt(b"age-encryption.org/v1/scrypt" + salt, 32, 2 ** log_n,
                 8, 1).derive(passphrase)
    body = ChaCha20Poly1305(key).encrypt(bytes(12), file_key, None)
    head = ("age-encryption.org/v1\n-> scrypt %s %d\n%s\n---"
            % (b64(salt), log_n, b64(body))).encode()
    mac = hmac.new(hkdf(file_key, None, b"header"), head,
                   hashlib.sha256).digest()
    nonce = os.urandom(16)
    aead = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
    out = head + b" " + b64(mac).encode() + b"\n" + nonce + \
        aead.encrypt(bytes(11) + b"\x01", plain, None)
    if armor:
        t = base64.b64encode(out).decode()
        out = ("-----BEGIN AGE ENCRYPTED FILE-----\n" +
               "".join(t[i:i + 64] + "\n" for i in range(0, len(t), 64)) +
               "-----END AGE ENCRYPTED FILE-----\n").encode()
    return out


plain = open(sys.argv[1], "rb").read()
for name, data in [
        ("age-scrypt2.bin", age(plain, b"safs-fuzz", 2)),
        ("age-scrypt2-armor.txt", age(plain, b"safs-fuzz", 2, True)),
        ("age-scrypt1-empty.bin", age(b"", b"safs-fuzz", 1)),
        ("age-wrongpass.bin", age(plain, b"not-the-passphrase", 2))]:
    open(name, "wb").write(data)
PY

# Plain JSON, and headers that are not passphrase files.
cp "$plain" plain.json
printf '\357\273\277  {"client_email": "fuzz@example.invalid"}' \
	>plain-bom.json
printf '[1, 2, 3]\n' >plain-array.json
a43=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
printf 'age-encryption.org/v1\n-> X25519 %s\n%s\n--- %s\n' "$a43" "$a43" \
	"$a43" >age-x25519-header.bin
printf 'age-encryption.org/v1\n-> scrypt %s 22\n%s\n--- %s\n' \
	AAAAAAAAAAAAAAAAAAAAAA "$a43" "$a43" >age-scrypt22-header.bin
printf -- '-----BEGIN AGE ENCRYPTED FILE-----\n%s\n%s\n' \
	YWdlLWVuY3J5cHRpb24ub3JnL3YxCg== \
	'-----END AGE ENCRYPTED FILE-----' >age-armor-intro-only.txt
