/* SPDX-License-Identifier: MIT */
/*
 * Service-account fixtures made at test time: keys from the openssl CLI,
 * JSON text around them, and an independent base64url decoder for
 * checking what safs produced. Include after test.h.
 */
#ifndef SAFS_SA_FIXTURE_H
#define SAFS_SA_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* openssl genpkey into dir/name with the given -algorithm/-pkeyopt. */
#define FX_GENKEY(path, ...)						\
	TEST_RUN_OK(NULL, "openssl", "genpkey", __VA_ARGS__, "-out",	\
	    (path))

static inline void
fx_genrsa(const char *path, const char *bits)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "rsa_keygen_bits:%s", bits);
	FX_GENKEY(path, "-algorithm", "RSA", "-pkeyopt", opt);
}

/* s as the inside of a JSON string literal (malloc'd). */
static inline char *
fx_json_escape(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n * 6 + 1);

	if (out == NULL)
		TEST_FAIL("out of memory");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < 0x20) {
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * A Google-style service-account JSON around the PEM key in pem_path
 * (malloc'd, NUL-terminated). kid/project may be NULL to leave the member
 * out.
 */
static inline char *
fx_sa_json(const char *pem_path, const char *kid, const char *email,
    const char *project)
{
	char *pem = (char *)test_read_file(pem_path, NULL);
	char *esc = fx_json_escape(pem);
	size_t cap = strlen(esc) + 2048;
	char *out = malloc(cap);
	int n;

	if (out == NULL)
		TEST_FAIL("out of memory");
	n = snprintf(out, cap, "{\n"
	    "  \"type\": \"service_account\",\n"
	    "%s%s%s"
	    "%s%s%s"
	    "  \"private_key\": \"%s\",\n"
	    "  \"client_email\": \"%s\",\n"
	    "  \"client_id\": \"104729555512345678901\",\n"
	    "  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n"
	    "  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n"
	    "}\n",
	    project ? "  \"project_id\": \"" : "", project ? project : "",
	    project ? "\",\n" : "",
	    kid ? "  \"private_key_id\": \"" : "", kid ? kid : "",
	    kid ? "\",\n" : "", esc, email);
	if (n < 0 || (size_t)n >= cap)
		TEST_FAIL("fixture JSON too long");
	free(esc);
	free(pem);
	return out;
}

/* Decode base64url without padding (RFC 7515): malloc'd bytes (with a
 * NUL after them) and *lenp, or NULL when s is not valid base64url. */
static inline unsigned char *
fx_b64url_decode(const char *s, size_t n, size_t *lenp)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char *out = malloc(n * 3 / 4 + 4);
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0;

	if (out == NULL)
		TEST_FAIL("out of memory");
	if (n % 4 == 1) {
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = s[i] != '\0' ? strchr(alpha, s[i]) : NULL;

		if (p == NULL) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned long)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The unused low bits of the last character must be zero. */
	if ((acc & ((1UL << bits) - 1)) != 0) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*lenp = o;
	return out;
}

#endif
