/* SPDX-License-Identifier: MIT */
#include "b64.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64url_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
		out[o++] = url_alphabet[(v >> 6) & 63];
		out[o++] = url_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
		out[o++] = url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	v = 0;
	return o;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Padded (loose: whitespace skipped, '=' required) or raw (strict). */
static long
decode(const char *in, size_t n, unsigned char *out, int padded)
{
	unsigned long acc = 0;
	size_t i;
	long o = 0;
	int bits = 0, pad = 0, v;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (padded && is_space(c))
			continue;
		if (padded && c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* A lone final character (6 bits) never encodes a byte. Padded, the
	 * '=' count must match the final group: 2 chars (4 bits left) <->
	 * "==", 3 chars (2 bits) <-> "=". Either way the leftover bits must
	 * be zero (canonical). */
	if (bits == 6 || (padded && ((bits == 0 && pad != 0) ||
	    (bits == 4 && pad != 2) || (bits == 2 && pad != 1))) ||
	    (acc & ((1UL << bits) - 1)) != 0)
		return -1;
	return o;
}

long
b64_decode(const char *in, size_t n, unsigned char *out)
{
	return decode(in, n, out, 1);
}

long
b64_decode_raw(const char *in, size_t n, unsigned char *out)
{
	return decode(in, n, out, 0);
}
