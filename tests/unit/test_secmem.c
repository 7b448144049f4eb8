/* SPDX-License-Identifier: MIT */
/* secmem: the locked, non-dumpable arena, zeroed allocations, secbuf. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "secmem.h"
#include "test.h"

static int init_state;

static void
test_init_state(void)
{
	/* main() checked secmem_state() == 0 before initialising. */
	ASSERT_TRUE(init_state == SECMEM_LOCKED ||
	    init_state == SECMEM_UNLOCKED || init_state == SECMEM_FALLBACK);
	/* Root may always lock memory (CAP_IPC_LOCK). */
	if (geteuid() == 0)
		ASSERT_INT_EQ(init_state, SECMEM_LOCKED);
	ASSERT_INT_NE(init_state, SECMEM_FALLBACK);
	ASSERT_INT_EQ(secmem_state(), init_state);
	ASSERT_INT_EQ(CRYPTO_secure_malloc_initialized(), 1);
	/* A second call changes nothing and reports the same state. */
	ASSERT_INT_EQ(secmem_init(SECMEM_DEFAULT_SIZE), init_state);
	ASSERT_INT_EQ(secmem_state(), init_state);
}

static void
test_alloc_zeroed_and_secure(void)
{
	unsigned char *p, *q;
	size_t sizes[] = { 1, 15, 16, 17, 100, 4096, 10000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		size_t n = sizes[i];

		p = secmem_alloc(n);
		ASSERT_PTR_NE(p, NULL);
		ASSERT_INT_EQ(CRYPTO_secure_allocated(p), 1);
		ASSERT_MEM_FILLED(p, 0, n);
		memset(p, 0xa5, n);
		secmem_free(p);
		/* The arena hands the same block back: zeroed again. */
		q = secmem_alloc(n);
		ASSERT_PTR_NE(q, NULL);
		ASSERT_MEM_FILLED(q, 0, n);
		secmem_free(q);
	}
	/* Zero bytes still gives a pointer that can be freed. */
	p = secmem_alloc(0);
	ASSERT_PTR_NE(p, NULL);
	secmem_free(p);
	secmem_free(NULL);
	/* A plain heap pointer is not secure memory (the check above can
	 * fail). */
	p = malloc(32);
	ASSERT_PTR_NE(p, NULL);
	ASSERT_INT_EQ(CRYPTO_secure_allocated(p), 0);
	free(p);
}

static void
test_strndup_and_wipe(void)
{
	char *s;
	unsigned char buf[40];

	s = secmem_strndup("secret-and-more", 6);
	ASSERT_PTR_NE(s, NULL);
	ASSERT_STR_EQ(s, "secret");
	ASSERT_INT_EQ(CRYPTO_secure_allocated(s), 1);
	secmem_free(s);
	s = secmem_strndup("", 0);
	ASSERT_STR_EQ(s, "");
	secmem_free(s);

	memset(buf, 0x77, sizeof(buf));
	secmem_wipe(buf + 4, 30);
	ASSERT_MEM_FILLED(buf, 0x77, 4);
	ASSERT_MEM_FILLED(buf + 4, 0, 30);
	ASSERT_MEM_FILLED(buf + 34, 0x77, 6);
	secmem_wipe(NULL, 10);
	secmem_wipe(buf, 0);
	ASSERT_INT_EQ(buf[0], 0x77);
}

static void
test_secbuf(void)
{
	struct secbuf *b;
	unsigned char *d;

	b = secbuf_new(32);
	ASSERT_PTR_NE(b, NULL);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 32);
	d = secbuf_data(b);
	ASSERT_INT_EQ(CRYPTO_secure_allocated(b), 1);
	/* Zeroed, and the NUL after the data is there too. */
	ASSERT_MEM_FILLED(d, 0, 33);
	secbuf_free(b);

	b = secbuf_new(0);
	ASSERT_PTR_NE(b, NULL);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 0);
	ASSERT_INT_EQ(secbuf_data(b)[0], 0);
	secbuf_free(b);

	b = secbuf_dup("0123456789abcdef", 16);
	ASSERT_PTR_NE(b, NULL);
	d = secbuf_data(b);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 16);
	ASSERT_MEM_EQ(d, "0123456789abcdef", 16);
	ASSERT_INT_EQ(d[16], 0);
	ASSERT_STR_EQ((char *)d, "0123456789abcdef");

	/* Truncation wipes the tail: the bytes are still ours to look at
	 * (the buffer exists), and none of the old secret is left there. */
	secbuf_truncate(b, 5);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 5);
	ASSERT_PTR_EQ(secbuf_data(b), d);
	ASSERT_MEM_EQ(d, "01234", 5);
	ASSERT_MEM_FILLED(d + 5, 0, 12);
	/* Growing is not truncation: a no-op. */
	secbuf_truncate(b, 10);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 5);
	secbuf_truncate(b, 5);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 5);
	ASSERT_MEM_EQ(d, "01234", 5);
	secbuf_truncate(b, 0);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 0);
	ASSERT_MEM_FILLED(d, 0, 17);
	secbuf_free(b);

	b = secbuf_dup(NULL, 0);
	ASSERT_PTR_NE(b, NULL);
	ASSERT_SIZE_T_EQ(secbuf_len(b), 0);
	secbuf_free(b);
	secbuf_free(NULL);

	/* Sizes that would overflow the header arithmetic. */
	ASSERT_PTR_EQ(secbuf_new(SIZE_MAX), NULL);
	ASSERT_PTR_EQ(secbuf_new(SIZE_MAX - 8), NULL);
	ASSERT_PTR_EQ(secbuf_new(SIZE_MAX / 2 + 1), NULL);
	ASSERT_PTR_EQ(secbuf_dup("x", SIZE_MAX), NULL);
}

static void
test_cjson_hooks(void)
{
	static const char doc[] = "{\"private_key\":\"-----BEGIN...\","
	    "\"n\":[1,2,{\"deep\":true}]}";
	cJSON *root, *pk;
	char *text;

	secmem_cjson_hooks();
	root = cJSON_Parse(doc);
	ASSERT_PTR_NE(root, NULL);
	/* Nodes and their strings live in secure memory. */
	ASSERT_INT_EQ(CRYPTO_secure_allocated(root), 1);
	pk = cJSON_GetObjectItemCaseSensitive(root, "private_key");
	ASSERT_PTR_NE(pk, NULL);
	ASSERT_STR_EQ(pk->valuestring, "-----BEGIN...");
	ASSERT_INT_EQ(CRYPTO_secure_allocated(pk), 1);
	ASSERT_INT_EQ(CRYPTO_secure_allocated(pk->valuestring), 1);
	ASSERT_INT_EQ(CRYPTO_secure_allocated(pk->string), 1);
	text = cJSON_PrintUnformatted(root);
	ASSERT_PTR_NE(text, NULL);
	ASSERT_STR_EQ(text, doc);
	ASSERT_INT_EQ(CRYPTO_secure_allocated(text), 1);
	cJSON_free(text);
	cJSON_Delete(root);
	/* Building works the same way. */
	root = cJSON_CreateObject();
	ASSERT_PTR_NE(cJSON_AddStringToObject(root, "k", "v"), NULL);
	cJSON_Delete(root);
}

/* The smaps VmFlags of the mapping holding address p (malloc'd). */
static char *
vmflags_of(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)p;
	unsigned long lo, hi;
	char line[512], *flags = NULL;
	int inside = 0;

	ASSERT_PTR_NE(f, NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		/* A mapping's first line: "lo-hi perms offset ..."; the
		 * field lines never have a '-' after a hex prefix. */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = a >= lo && a < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			flags = strdup(line + 8);
			break;
		}
	}
	fclose(f);
	return flags;
}

static int
has_flag(const char *flags, const char *flag)
{
	char buf[512];
	char *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", flags);
	for (tok = strtok_r(buf, " \n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, flag) == 0)
			return 1;
	return 0;
}

static void
test_arena_locked_and_dontdump(void)
{
	unsigned char *p = secmem_alloc(64);
	char *flags;

	ASSERT_PTR_NE(p, NULL);
	flags = vmflags_of(p);
	if (flags == NULL)
		TEST_FAIL("no smaps mapping holds %p", (void *)p);
	/* dd: excluded from core dumps (MADV_DONTDUMP) */
	if (!has_flag(flags, "dd"))
		TEST_FAIL("arena mapping not MADV_DONTDUMP: VmFlags:%s",
		    flags);
	/* lo: mlock'ed, so never swapped out */
	if (init_state == SECMEM_LOCKED && !has_flag(flags, "lo"))
		TEST_FAIL("arena mapping not locked: VmFlags:%s", flags);
	free(flags);
	/* The plain heap is neither: the check can tell them apart. */
	{
		void *h = malloc(64);

		ASSERT_PTR_NE(h, NULL);
		flags = vmflags_of(h);
		ASSERT_PTR_NE(flags, NULL);
		ASSERT_FALSE(has_flag(flags, "dd") && has_flag(flags, "lo"));
		free(flags);
		free(h);
	}
	secmem_free(p);
}

static void
test_arena_all_freed(void)
{
	struct secbuf *b = secbuf_new(100);

	/* ASan and valgrind cannot see into the arena; its own count can:
	 * everything the tests above allocated has been given back. */
	ASSERT_PTR_NE(b, NULL);
	ASSERT_SIZE_T_GT(CRYPTO_secure_used(), 0);
	secbuf_free(b);
	ASSERT_SIZE_T_EQ(CRYPTO_secure_used(), 0);
}

int
main(void)
{
	test_init();
	ASSERT_INT_EQ(secmem_state(), 0);
	init_state = secmem_init(SECMEM_DEFAULT_SIZE);
	TEST(test_init_state);
	TEST(test_alloc_zeroed_and_secure);
	TEST(test_strndup_and_wipe);
	TEST(test_secbuf);
	TEST(test_cjson_hooks);
	TEST(test_arena_locked_and_dontdump);
	TEST(test_arena_all_freed);
	CRYPTO_secure_malloc_done();
	return test_done();
}
