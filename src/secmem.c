/* SPDX-License-Identifier: MIT */
#include "secmem.h"

#include <malloc.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

struct secbuf {
	size_t len;
	unsigned char data[];
};

static int state;

int
secmem_init(size_t size)
{
	int r;

	if (state != 0)
		return state;
	r = CRYPTO_secure_malloc_init(size, 16);
	if (r == 1)
		state = SECMEM_LOCKED;
	else if (r == 2)
		state = SECMEM_UNLOCKED;
	else
		state = SECMEM_FALLBACK;
	return state;
}

int
secmem_state(void)
{
	return state;
}

void
secmem_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void *
secmem_alloc(size_t n)
{
	if (n == 0)
		n = 1;
	return OPENSSL_secure_zalloc(n);
}

void
secmem_free(void *p)
{
	if (p == NULL)
		return;
	/*
	 * CRYPTO_secure_free() wipes arena blocks, but a block that fell
	 * back to the plain heap (arena full, or no arena) is freed as is;
	 * wipe it ourselves with its real size.
	 */
	if (!CRYPTO_secure_allocated(p))
		OPENSSL_cleanse(p, malloc_usable_size(p));
	OPENSSL_secure_free(p);
}

char *
secmem_strndup(const char *s, size_t n)
{
	char *p;

	if (n == (size_t)-1 || (p = secmem_alloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void *
cjson_malloc(size_t n)
{
	return secmem_alloc(n);
}

void
secmem_cjson_hooks(void)
{
	cJSON_Hooks hooks = { cjson_malloc, secmem_free };

	cJSON_InitHooks(&hooks);
}

struct secbuf *
secbuf_new(size_t len)
{
	struct secbuf *b;

	if (len > ((size_t)-1) / 2 ||
	    (b = secmem_alloc(sizeof(*b) + len + 1)) == NULL)
		return NULL;
	b->len = len;
	return b;
}

struct secbuf *
secbuf_dup(const void *p, size_t len)
{
	struct secbuf *b;

	if ((b = secbuf_new(len)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(b->data, p, len);
	return b;
}

unsigned char *
secbuf_data(const struct secbuf *b)
{
	return (unsigned char *)b->data;
}

size_t
secbuf_len(const struct secbuf *b)
{
	return b->len;
}

void
secbuf_truncate(struct secbuf *b, size_t len)
{
	if (len >= b->len)
		return;
	OPENSSL_cleanse(b->data + len, b->len - len);
	b->len = len;
}

void
secbuf_free(struct secbuf *b)
{
	if (b == NULL)
		return;
	secmem_free(b);	/* wipes header and data alike */
}
