/* SPDX-License-Identifier: MIT */
/*
 * The source container: envelope_inspect() and envelope_open() on the
 * whole input, with the default parameters once per format, and once
 * with parameters picked by the last input byte (still part of the
 * data, so the fuzzer can steer them without breaking a header): bits
 * 0-1 the kdf, 2-3 the digest, 4-6 the cipher, 7 format=openssl rather
 * than auto. Key derivation must stay cheap: PBKDF2 runs one iteration
 * (the default 10000 would spend the time budget in SHA-256), and an age
 * file is opened once per input, and only when its scrypt work factor is
 * at most FUZZ_AGE_MAX_LOG_N (the file sets it, up to 2^22: 4 GiB and
 * seconds); the openssl parameters do not matter to it.
 */
#include "fuzz.h"

#include "age.h"
#include "envelope.h"

/* The passphrase of the seed ciphertexts (tests/fuzz/corpus/envelope). */
#define FUZZ_PASS "safs-fuzz"
#define FUZZ_AGE_MAX_LOG_N 4

static const int kdfs[4] = { ENVELOPE_KDF_AUTO, ENVELOPE_KDF_PBKDF2,
	ENVELOPE_KDF_EVP, ENVELOPE_KDF_AUTO };
static const char *const mds[4] = { NULL, "md5", "sha1", "no-such-md" };
/* Default, other block and stream ciphers, no IV (ECB), one openssl enc
 * cannot write (AEAD) and one OpenSSL does not know. */
static const char *const ciphers[8] = { NULL, "aes-128-cbc",
	"aes-256-ctr", "chacha20", "des-ede3-cbc", "aes-128-ecb",
	"aes-256-gcm", "no-such-cipher" };
static const int formats[] = { ENVELOPE_AUTO, ENVELOPE_OPENSSL,
	ENVELOPE_AGE, ENVELOPE_PLAIN };

static void
one(const uint8_t *data, size_t size, const struct envelope_params *p,
    const char *pass, int *age_done)
{
	struct envelope_info info;
	struct errbuf e = { { 0 } };
	struct secbuf *plain = (struct secbuf *)&e;	/* must be reset */
	int r, ri;

	ri = envelope_inspect(data, size, p->format, &info, &e);
	fuzz_check_result(ri, &e);
	if (ri == 0) {
		FUZZ_CHECK(info.data_len <= size);
		FUZZ_CHECK(p->format == ENVELOPE_AUTO ||
		    info.format == p->format);
		if (info.format == ENVELOPE_AGE) {
			FUZZ_CHECK(info.log_n >= 1 &&
			    info.log_n <= AGE_MAX_LOG_N);
			if (pass != NULL && (*age_done ||
			    info.log_n > FUZZ_AGE_MAX_LOG_N))
				return;
			if (pass != NULL)
				*age_done = 1;
		}
	}
	(void)envelope_needs_passphrase(data, size, p);

	r = envelope_open(data, size, p, pass, pass ? strlen(pass) : 0,
	    &plain, &info, &e);
	fuzz_check_result(r, &e);
	FUZZ_CHECK((r == 0) == (plain != NULL));
	if (ri != 0)
		FUZZ_CHECK(r == ri);
	if (r != 0)
		return;
	/* NUL-terminated, and no longer than what it came from. */
	FUZZ_CHECK(secbuf_data(plain)[secbuf_len(plain)] == '\0');
	FUZZ_CHECK(secbuf_len(plain) <= size);
	if (info.format == ENVELOPE_PLAIN) {
		FUZZ_CHECK(p->allow_plaintext);
		FUZZ_CHECK(secbuf_len(plain) == size &&
		    memcmp(secbuf_data(plain), data, size) == 0);
	} else if (info.format == ENVELOPE_AGE) {
		FUZZ_CHECK(info.log_n >= 1 && info.log_n <= FUZZ_AGE_MAX_LOG_N);
		FUZZ_CHECK(strcmp(info.cipher, "chacha20-poly1305") == 0);
	} else {
		FUZZ_CHECK(info.format == ENVELOPE_OPENSSL);
		FUZZ_CHECK(info.kdf == ENVELOPE_KDF_PBKDF2 ||
		    info.kdf == ENVELOPE_KDF_EVP);
		FUZZ_CHECK(memchr(info.cipher, '\0', sizeof(info.cipher)));
		FUZZ_CHECK(memchr(info.md, '\0', sizeof(info.md)));
		FUZZ_CHECK(info.iter == 1);
	}
	secbuf_free(plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_params p;
	unsigned sel = size > 0 ? data[size - 1] : 0;
	int age_done = 0;

	fuzz_init();
	memset(&p, 0, sizeof(p));
	p.iter = 1;
	p.allow_plaintext = 1;
	/* No passphrase: refused for an encrypted source, fine for JSON. */
	p.format = ENVELOPE_AUTO;
	one(data, size, &p, NULL, &age_done);
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++) {
		p.format = formats[i];
		one(data, size, &p, FUZZ_PASS, &age_done);
	}
	p.format = ENVELOPE_AUTO;
	p.allow_plaintext = 0;
	one(data, size, &p, FUZZ_PASS, &age_done);

	p.format = (sel & 0x80) ? ENVELOPE_OPENSSL : ENVELOPE_AUTO;
	p.kdf = kdfs[sel & 3];
	p.md = mds[(sel >> 2) & 3];
	p.cipher = ciphers[(sel >> 4) & 7];
	one(data, size, &p, FUZZ_PASS, &age_done);
	return 0;
}
