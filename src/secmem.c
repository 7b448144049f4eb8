/* SPDX-License-Identifier: MIT */
#include "secmem.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

struct secbuf {
	size_t len;
	unsigned char data[];
};

static int state;
static int hooked;

/*
 * All of OpenSSL's allocations go to the arena once it exists: its
 * internal copies of key material (RSA Montgomery caches hold p and q,
 * BN_CTX holds signing temporaries) would otherwise sit in the ordinary,
 * swappable, dumpable heap. What was allocated before the arena, or does
 * not fit in it, comes from malloc; free and realloc tell the two apart.
 */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	void *p = NULL;

	(void)file;
	(void)line;
	if (CRYPTO_secure_malloc_initialized())
		p = CRYPTO_secure_malloc(n, NULL, 0);
	return p != NULL ? p : malloc(n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p == NULL)
		return;
	if (CRYPTO_secure_allocated(p)) {
		CRYPTO_secure_free(p, NULL, 0);	/* wipes */
		return;
	}
	/* OpenSSL frees PEM and DER buffers without cleansing them. */
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	size_t old;
	void *q;

	if (p == NULL)
		return ossl_malloc(n, file, line);
	if (n == 0) {
		ossl_free(p, file, line);
		return NULL;
	}
	/* Never plain realloc(): it would leave the old block unwiped. */
	old = CRYPTO_secure_allocated(p) ? CRYPTO_secure_actual_size(p) :
	    malloc_usable_size(p);
	if ((q = ossl_malloc(n, file, line)) == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	ossl_free(p, file, line);
	return q;
}

int
secmem_init(size_t size)
{
	int r;

	if (state != 0)
		return state;
	/* Refused (returns 0) once OpenSSL has allocated: then only the
	 * allocations that ask for secure memory use the arena. */
	hooked = CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free);
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

int
secmem_all_openssl(void)
{
	return hooked;
}

/* CAP_IPC_LOCK (bit 14) in the effective set, from /proc/self/status. */
static int
have_ipc_lock(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = 1;
			break;
		}
	fclose(f);
	return found && (eff & (1ULL << 14)) != 0;
}

int
secmem_lock_all(void)
{
	struct rlimit rl;
	int unlimited = getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur == RLIM_INFINITY;

	if (!unlimited && !have_ipc_lock())
		return 0;
	return mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0;
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
	 * CRYPTO_secure_free() wipes arena blocks, but without an arena
	 * OPENSSL_secure_zalloc() hands out plain heap, freed as is: wipe it
	 * ourselves with its real size.
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
