/* SPDX-License-Identifier: MIT */
/*
 * Secure memory: every secret safs holds (passphrase, derived keys,
 * plaintext, parsed JSON, entry contents, tokens, the RSA key's private
 * numbers) lives in OpenSSL's secure heap: one mmap'd arena with guard
 * pages, mlock'ed and excluded from core dumps (MADV_DONTDUMP), whose
 * free wipes. Allocations are zeroed.
 */
#ifndef SAFS_SECMEM_H
#define SAFS_SECMEM_H

#include <stddef.h>

/* Default arena: OpenSSL's own state (all of its allocations land here)
 * plus sources capped at SOURCE_MAX (64 KiB), their plaintext, the cJSON
 * tree and the entries of a reload running beside the live set. Pages
 * are locked as touched, so the unused part costs no memory. */
#define SECMEM_DEFAULT_SIZE (4 * 1024 * 1024)

enum secmem_state {
	SECMEM_LOCKED = 1,	/* arena exists and is mlock'ed */
	SECMEM_UNLOCKED = 2,	/* arena exists, mlock refused (RLIMIT) */
	SECMEM_FALLBACK = 3,	/* no arena: wiped plain heap */
};

/*
 * Create the arena (size: a power of two). Call once, after fork(): memory
 * locks are not inherited by a child. Returns a secmem_state.
 */
int secmem_init(size_t size);

/* The state secmem_init() returned, or 0 before it. */
int secmem_state(void);

/* Whether all of OpenSSL's memory is routed to the arena (secmem_init()
 * ran before OpenSSL's first allocation). */
int secmem_all_openssl(void);

/*
 * Lock every page of the process as it is touched (mlockall with
 * MCL_ONFAULT, so resident memory does not grow): OpenSSL keeps working
 * copies of key material outside the arena (its RSA Montgomery caches
 * hold p and q), and this keeps them out of swap too. Done only with
 * CAP_IPC_LOCK or an unlimited RLIMIT_MEMLOCK: under a finite limit
 * MCL_FUTURE would make later allocations fail. Returns 1 when locked.
 */
int secmem_lock_all(void);

/* Zeroed allocation; NULL on failure. */
void *secmem_alloc(size_t n);

/* Wipe and free; NULL is a no-op. */
void secmem_free(void *p);

/* NUL-terminated copy of n bytes of s in secure memory. */
char *secmem_strndup(const char *s, size_t n);

/* Make cJSON allocate in secure memory and wipe on free. */
void secmem_cjson_hooks(void);

/* Wipe n bytes at p in a way the compiler cannot elide. */
void secmem_wipe(void *p, size_t n);

/*
 * struct secbuf: a length-tagged secret byte string, always followed by a
 * NUL byte (so it can be handed to string APIs), wiped on free.
 */
struct secbuf;

/* A zeroed buffer of len bytes; NULL on failure. */
struct secbuf *secbuf_new(size_t len);
/* A copy of len bytes at p; NULL on failure. */
struct secbuf *secbuf_dup(const void *p, size_t len);
unsigned char *secbuf_data(const struct secbuf *b);
size_t secbuf_len(const struct secbuf *b);
/* Shorten to len (<= current length), wiping the tail. */
void secbuf_truncate(struct secbuf *b, size_t len);
void secbuf_free(struct secbuf *b);

#endif
