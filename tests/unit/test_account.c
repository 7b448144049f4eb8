/* SPDX-License-Identifier: MIT */
/*
 * account: strict parsing of the decrypted service-account JSON, its
 * entries, the key (RSA 2048-4096 only) and the derived public material.
 * Keys are generated at test time with the openssl CLI.
 */
#include <signal.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "account.h"
#include "secmem.h"
#include "test.h"
#include "sa_fixture.h"

#define KID "5f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
#define EMAIL "etl@acme-prod.iam.gserviceaccount.com"

static char *dir;
static char key2048[4096], key3072[4096], key4096[4096], key1024[4096];
static char keyec[4096], keyed[4096], keyenc[4096], pubfile[4096];

static int
load(const char *json, struct account **ap, struct errbuf *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	*ap = (struct account *)ap;
	r = account_load((const unsigned char *)json, strlen(json), ap, e);
	if (r != 0)
		ASSERT_PTR_EQ(*ap, NULL);
	else
		ASSERT_PTR_NE(*ap, NULL);
	return r;
}

/* json must fail with code, the message naming has (when not NULL). */
static void
expect_fail(const char *json, int code, const char *has)
{
	struct account *a;
	struct errbuf e;
	int r = load(json, &a, &e);

	if (r == 0 && code != 0)
		account_free(a);
	if (r != code)
		TEST_FAIL("account_load(%.60s...) = %d (%s), want %d", json, r,
		    e.msg, code);
	if (has != NULL)
		ASSERT_STR_CONTAINS(e.msg, has);
	ASSERT_SIZE_T_GT(strlen(e.msg), 0);
}

static void
test_load_rsa2048(void)
{
	char *json = fx_sa_json(key2048, KID, EMAIL, "acme-prod");
	char *pem = (char *)test_read_file(key2048, NULL);
	const struct account_entry *ent;
	struct account *a;
	struct errbuf e;
	const unsigned char *j;
	size_t jlen;
	static const char *const names[] = { "type", "project_id",
		"private_key_id", "private_key", "client_email", "client_id",
		"auth_uri", "token_uri" };

	ASSERT_INT_EQ(load(json, &a, &e), 0);
	ASSERT_INT_EQ(account_key_bits(a), 2048);
	ASSERT_PTR_NE(account_pkey(a), NULL);
	ASSERT_INT_EQ(EVP_PKEY_is_a(account_pkey(a), "RSA"), 1);
	/* Entries: every top-level string member, in file order. */
	ASSERT_SIZE_T_EQ(account_nentries(a), sizeof(names) / sizeof(*names));
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		ent = account_entry(a, i);
		ASSERT_PTR_NE(ent, NULL);
		ASSERT_STR_EQ(ent->name, names[i]);
	}
	ASSERT_PTR_EQ(account_entry(a, sizeof(names) / sizeof(*names)), NULL);
	ASSERT_PTR_EQ(account_entry(a, (size_t)-1), NULL);
	/* private_key: the PEM with real newlines, byte for byte, no
	 * added newline beyond the PEM's own. */
	ent = account_entry(a, 3);
	ASSERT_SIZE_T_EQ(ent->len, strlen(pem));
	ASSERT_MEM_EQ(ent->data, pem, ent->len);
	ASSERT_STR_EQ(account_get(a, "private_key"), pem);
	ASSERT_STR_EQ(account_get(a, "client_email"), EMAIL);
	ASSERT_STR_EQ(account_get(a, "private_key_id"), KID);
	ASSERT_STR_EQ(account_get(a, "project_id"), "acme-prod");
	ASSERT_STR_EQ(account_get(a, "token_uri"),
	    "https://oauth2.googleapis.com/token");
	ent = account_entry(a, 4);
	ASSERT_SIZE_T_EQ(ent->len, strlen(EMAIL));
	ASSERT_MEM_EQ(ent->data, EMAIL, ent->len);
	ASSERT_PTR_EQ(account_get(a, "nope"), NULL);
	/* credentials.json: the exact input bytes. */
	j = account_json(a, &jlen);
	ASSERT_SIZE_T_EQ(jlen, strlen(json));
	ASSERT_MEM_EQ(j, json, jlen);
	account_free(a);
	/* The caller's buffer was copied, not kept: wiping it after the
	 * load changes nothing (checked on a fresh load). */
	ASSERT_INT_EQ(load(json, &a, &e), 0);
	memset(json, 'X', strlen(json));
	ASSERT_STR_EQ(account_get(a, "client_email"), EMAIL);
	j = account_json(a, &jlen);
	ASSERT_INT_EQ(j[0], '{');
	account_free(a);
	account_free(NULL);
	free(json);
	free(pem);
}

static void
test_key_sizes(void)
{
	static const struct {
		const char *path;
		int bits;
	} ok[] = { { key3072, 3072 }, { key4096, 4096 } };
	struct account *a;
	struct errbuf e;
	char *json;

	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		json = fx_sa_json(ok[i].path, KID, EMAIL, NULL);
		ASSERT_INT_EQ(load(json, &a, &e), 0);
		ASSERT_INT_EQ(account_key_bits(a), ok[i].bits);
		account_free(a);
		free(json);
	}
	/* Too short for RS256 in 2025: a load-time error naming the size. */
	json = fx_sa_json(key1024, KID, EMAIL, NULL);
	expect_fail(json, SAFS_ERR_KEY, "1024");
	free(json);
}

static void
test_other_key_types(void)
{
	char *json;
	struct account *a;
	struct errbuf e;

	json = fx_sa_json(keyec, KID, EMAIL, NULL);
	ASSERT_INT_EQ(load(json, &a, &e), SAFS_ERR_KEY);
	ASSERT_STR_CONTAINS(e.msg, "EC");
	ASSERT_STR_CONTAINS(e.msg, "RSA");
	free(json);
	json = fx_sa_json(keyed, KID, EMAIL, NULL);
	ASSERT_INT_EQ(load(json, &a, &e), SAFS_ERR_KEY);
	ASSERT_TRUE(strstr(e.msg, "ED25519") != NULL ||
	    strstr(e.msg, "Ed25519") != NULL);
	free(json);
	/* A public key, a certificate-ish blob, and noise. */
	json = fx_sa_json(pubfile, KID, EMAIL, NULL);
	expect_fail(json, SAFS_ERR_KEY, "private_key");
	free(json);
	expect_fail("{\"client_email\":\"a@b\",\"private_key\":\"not a key\"}",
	    SAFS_ERR_KEY, "private_key");
	expect_fail("{\"client_email\":\"a@b\",\"private_key\":"
	    "\"-----BEGIN PRIVATE " "KEY-----\\nAAAA\\n-----END PRIVATE "
	    "KEY-----\\n\"}", SAFS_ERR_KEY, "private_key");
}

static void
test_encrypted_pem_no_prompt(void)
{
	char slave[128], out[4096];
	size_t len = 0;
	char *json = fx_sa_json(keyenc, KID, EMAIL, NULL);
	int m, seen_eof, st;
	pid_t pid;

	/*
	 * OpenSSL's default is to ask for the PEM pass phrase on /dev/tty.
	 * Give the child a terminal of its own and watch it: nothing may be
	 * written there, and the load must fail at once.
	 */
	m = test_pty_open(slave, sizeof(slave));
	if ((pid = fork()) == 0) {
		struct account *a;
		struct errbuf e;
		int fd, r;

		close(m);
		alarm(20);
		fd = test_pty_become_ctty(slave);
		r = load(json, &a, &e);
		close(fd);
		if (r != SAFS_ERR_KEY)
			_exit(10);
		if (strstr(e.msg, "private_key") == NULL)
			_exit(11);
		_exit(0);
	}
	ASSERT_INT_GT(pid, 0);
	seen_eof = test_pty_read_until(m, out, sizeof(out), &len, NULL, 10000);
	if (!seen_eof)
		kill(pid, SIGKILL);
	st = test_wait(pid);
	close(m);
	free(json);
	if (len > 0)
		TEST_FAIL("account_load wrote to the terminal: \"%s\"", out);
	ASSERT_INT_EQ(seen_eof, 1);
	ASSERT_INT_EQ(st, 0);
}

static void
test_entries_selection(void)
{
	char *pemesc, *json;
	const struct account_entry *ent;
	struct account *a;
	struct errbuf e;
	size_t cap;
	char *pem = (char *)test_read_file(key2048, NULL);
	static const struct {
		const char *name;
		const char *value;	/* NULL: the PEM */
	} want[] = {
		{ "client_email", EMAIL },
		{ "note", "caf\xc3\xa9 \"q\" \\ / \t \n \xf0\x9f\x94\x91 "
		    "\xe2\x82\xac" },
		{ "utf8", "\xc3\xa9t\xc3\xa9" },
		{ "empty", "" },
		{ "Abc", "escaped name" },
		{ "private_key", NULL },
		{ "dots...", "ok" },
		{ "last-one_9", "z" },
	};

	pemesc = fx_json_escape(pem);
	cap = strlen(pemesc) + 4096;
	json = malloc(cap);
	ASSERT_PTR_NE(json, NULL);
	snprintf(json, cap, "{"
	    "\"client_email\":\"" EMAIL "\","
	    "\"number\":42,\"bool\":true,\"nul\":null,"
	    "\"obj\":{\"nested\":\"no\"},\"arr\":[\"no\"],"
	    "\"note\":\"caf\\u00e9 \\\"q\\\" \\\\ \\/ \\t \\n "
	    "\\ud83d\\udd11 \xe2\x82\xac\","
	    "\"utf8\":\"\xc3\xa9t\xc3\xa9\","
	    "\"a/b\":\"unsafe\",\"..\":\"unsafe\",\".\":\"unsafe\","
	    "\"\":\"unsafe\",\"a b\":\"unsafe\",\"caf\xc3\xa9\":\"unsafe\","
	    "\"empty\":\"\","
	    "\"token\":\"reserved\",\"credentials.json\":\"reserved\","
	    "\"tokens\":\"reserved\",\"public_key.pem\":\"reserved\","
	    "\"jwks.json\":\"reserved\","
	    "\"\\u0041bc\":\"escaped name\","
	    "\"private_key\":\"%s\","
	    "\"dots...\":\"ok\",\"last-one_9\":\"z\"}", pemesc);
	ASSERT_INT_EQ(load(json, &a, &e), 0);
	ASSERT_SIZE_T_EQ(account_nentries(a), sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const char *v = want[i].value ? want[i].value : pem;
		size_t n = strlen(v);

		ent = account_entry(a, i);
		ASSERT_STR_EQ(ent->name, want[i].name);
		ASSERT_SIZE_T_EQ(ent->len, n);
		ASSERT_MEM_EQ(ent->data, v, n);
	}
	/* Skipped members are not reachable by name either. */
	ASSERT_PTR_EQ(account_get(a, "number"), NULL);
	ASSERT_PTR_EQ(account_get(a, "token"), NULL);
	ASSERT_PTR_EQ(account_get(a, "a/b"), NULL);
	ASSERT_PTR_EQ(account_get(a, "obj"), NULL);
	account_free(a);
	free(json);
	free(pemesc);
	free(pem);
}

static void
test_nul_in_value(void)
{
	struct account *a;
	struct errbuf e;
	char *pem = (char *)test_read_file(key2048, NULL);
	char *esc = fx_json_escape(pem);
	size_t cap = strlen(esc) + 512;
	char *j = malloc(cap);
	const struct account_entry *ent = NULL;
	int r;

	/*
	 * "\u0000" decodes to a NUL byte. Entries are the exact bytes of
	 * the value, so either the whole value is served (5 bytes here) or
	 * the file is refused; a silently shortened value would make safs
	 * and every other JSON reader of credentials.json disagree.
	 */
	ASSERT_PTR_NE(j, NULL);
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"note\":"
	    "\"ab\\u0000cd\",\"private_key\":\"%s\"}", esc);
	r = load(j, &a, &e);
	if (r == 0) {
		for (size_t i = 0; i < account_nentries(a); i++)
			if (strcmp(account_entry(a, i)->name, "note") == 0)
				ent = account_entry(a, i);
		if (ent == NULL) {
			account_free(a);
			TEST_FAIL("member note neither served nor refused");
		}
		if (ent->len != 5 || memcmp(ent->data, "ab\0cd", 5) != 0) {
			size_t len = ent->len;

			account_free(a);
			TEST_FAIL("\"ab\\u0000cd\" served as %zu bytes, not "
			    "the 5 of the value (nor refused)", len);
		}
		account_free(a);
	} else {
		ASSERT_TRUE(r == SAFS_ERR_ACCOUNT || r == SAFS_ERR_JSON);
		ASSERT_SIZE_T_GT(strlen(e.msg), 0);
	}
	/* An escaped backslash before "u0000" is six plain characters,
	 * served as they are. */
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"note\":"
	    "\"x\\\\u0000y\",\"private_key\":\"%s\"}", esc);
	ASSERT_INT_EQ(load(j, &a, &e), 0);
	ASSERT_STR_EQ(account_get(a, "note"), "x\\u0000y");
	account_free(a);
	free(j);
	free(esc);
	free(pem);
}

static void
test_reserved_names(void)
{
	static const char *const reserved[] = { "token", "credentials.json",
		"tokens", "public_key.pem", "jwks.json" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		ASSERT_INT_EQ(account_reserved_name(reserved[i]), 1);
	ASSERT_INT_EQ(account_reserved_name("client_email"), 0);
	ASSERT_INT_EQ(account_reserved_name("private_key"), 0);
	ASSERT_INT_EQ(account_reserved_name("Token"), 0);
	ASSERT_INT_EQ(account_reserved_name("token2"), 0);
	ASSERT_INT_EQ(account_reserved_name(""), 0);
}

static void
test_bad_json(void)
{
	char *good = fx_sa_json(key2048, KID, EMAIL, NULL), *buf;
	size_t n = strlen(good);

	expect_fail("", SAFS_ERR_JSON, "JSON");
	expect_fail("not json", SAFS_ERR_JSON, "JSON");
	expect_fail("{\"client_email\":", SAFS_ERR_JSON, NULL);
	expect_fail("{\"a\":\"b\",}", SAFS_ERR_JSON, NULL);
	expect_fail("[1,2,3]", SAFS_ERR_ACCOUNT, "object");
	expect_fail("[{\"client_email\":\"a@b\"}]", SAFS_ERR_ACCOUNT,
	    "object");
	expect_fail("\"a string\"", SAFS_ERR_ACCOUNT, "object");
	expect_fail("42", SAFS_ERR_ACCOUNT, "object");
	expect_fail("null", SAFS_ERR_ACCOUNT, NULL);

	/* Trailing data after the object; whitespace alone is fine. */
	buf = malloc(n + 16);
	ASSERT_PTR_NE(buf, NULL);
	snprintf(buf, n + 16, "%s x", good);
	expect_fail(buf, SAFS_ERR_JSON, "after");
	snprintf(buf, n + 16, "%s{}", good);
	expect_fail(buf, SAFS_ERR_JSON, "after");
	snprintf(buf, n + 16, "%s \t\r\n ", good);
	{
		struct account *a;
		struct errbuf e;

		ASSERT_INT_EQ(load(buf, &a, &e), 0);
		account_free(a);
		/* A NUL byte inside the given length is trailing data too. */
		memcpy(buf, good, n);
		buf[n] = '\0';
		ASSERT_INT_EQ(account_load((const unsigned char *)buf, n + 1,
		    &a, &e), SAFS_ERR_JSON);
	}
	free(buf);
	free(good);
}

static void
test_missing_members(void)
{
	char *pem = (char *)test_read_file(key2048, NULL);
	char *esc = fx_json_escape(pem);
	size_t cap = 2 * strlen(esc) + 512;
	char *j = malloc(cap);

	ASSERT_PTR_NE(j, NULL);
	snprintf(j, cap, "{\"private_key\":\"%s\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	expect_fail("{\"client_email\":\"" EMAIL "\"}", SAFS_ERR_ACCOUNT,
	    "private_key");
	expect_fail("{}", SAFS_ERR_ACCOUNT, NULL);
	snprintf(j, cap, "{\"client_email\":\"\",\"private_key\":\"%s\"}",
	    esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	snprintf(j, cap, "{\"client_email\":7,\"private_key\":\"%s\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	snprintf(j, cap, "{\"client_email\":null,\"private_key\":\"%s\"}",
	    esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	expect_fail("{\"client_email\":\"" EMAIL "\",\"private_key\":{}}",
	    SAFS_ERR_ACCOUNT, "private_key");
	expect_fail("{\"client_email\":\"" EMAIL "\",\"private_key\":\"\"}",
	    SAFS_ERR_ACCOUNT, "private_key");
	/* Member names are case-sensitive. */
	snprintf(j, cap, "{\"Client_Email\":\"" EMAIL "\",\"private_key\":"
	    "\"%s\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	/* private_key_id, when present, must be a string (it is the kid). */
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"private_key_id\":"
	    "12345,\"private_key\":\"%s\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "private_key_id");
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"private_key_id\":"
	    "[\"x\"],\"private_key\":\"%s\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "private_key_id");
	/* Duplicates: which one would a reader believe? Refused, named. */
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"private_key\":"
	    "\"%s\",\"client_email\":\"evil@x\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "client_email");
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"private_key\":"
	    "\"%s\",\"extra\":1,\"extra\":\"two\"}", esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "extra");
	snprintf(j, cap, "{\"client_email\":\"" EMAIL "\",\"private_key\":"
	    "\"%s\",\"private_key\":\"%s\"}", esc, esc);
	expect_fail(j, SAFS_ERR_ACCOUNT, "private_key");
	free(j);
	free(esc);
	free(pem);
}

static void
test_public_pem(void)
{
	char *json = fx_sa_json(key2048, KID, EMAIL, NULL);
	char *want = (char *)test_read_file(pubfile, NULL);
	struct account *a;
	struct errbuf e;

	ASSERT_INT_EQ(load(json, &a, &e), 0);
	/* Byte for byte what `openssl pkey -pubout` prints. */
	ASSERT_STR_EQ(account_public_pem(a), want);
	ASSERT_STR_CONTAINS(account_public_pem(a),
	    "-----BEGIN PUBLIC KEY-----\n");
	ASSERT_STR_NOT_CONTAINS(account_public_pem(a), "PRIVATE");
	account_free(a);
	free(json);
	free(want);
}

/* The uppercase hex of n bytes. */
static char *
hex(const unsigned char *p, size_t n)
{
	char *s = malloc(n * 2 + 1);

	ASSERT_PTR_NE(s, NULL);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02X", p[i]);
	s[2 * n] = '\0';
	return s;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static void
check_jwks(const char *keypath, const char *kid)
{
	char *json = fx_sa_json(keypath, kid, EMAIL, NULL);
	char modf[4096], *modtxt, *nhex, pubp[4096];
	unsigned char *nb, *eb;
	size_t nlen, elen;
	struct account *a;
	struct errbuf e;
	cJSON *set, *keys, *k;
	const char *n64, *e64, *txt;
	EVP_PKEY *rebuilt = NULL, *pub;
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *prm;
	BIGNUM *bn, *be;
	BIO *bio;

	ASSERT_INT_EQ(load(json, &a, &e), 0);
	txt = account_jwks(a);
	ASSERT_PTR_NE(txt, NULL);
	set = cJSON_Parse(txt);
	ASSERT_PTR_NE(set, NULL);
	keys = cJSON_GetObjectItemCaseSensitive(set, "keys");
	ASSERT_TRUE(cJSON_IsArray(keys));
	ASSERT_INT_EQ(cJSON_GetArraySize(keys), 1);
	k = cJSON_GetArrayItem(keys, 0);
	ASSERT_TRUE(cJSON_IsObject(k));
	ASSERT_STR_EQ(jstr(k, "kty"), "RSA");
	ASSERT_STR_EQ(jstr(k, "alg"), "RS256");
	ASSERT_STR_EQ(jstr(k, "use"), "sig");
	if (kid != NULL)
		ASSERT_STR_EQ(jstr(k, "kid"), kid);
	else
		ASSERT_PTR_EQ(cJSON_GetObjectItemCaseSensitive(k, "kid"), NULL);
	/* No private parameter ever appears. */
	ASSERT_PTR_EQ(cJSON_GetObjectItemCaseSensitive(k, "d"), NULL);
	ASSERT_PTR_EQ(cJSON_GetObjectItemCaseSensitive(k, "p"), NULL);
	n64 = jstr(k, "n");
	e64 = jstr(k, "e");
	ASSERT_PTR_NE(n64, NULL);
	ASSERT_PTR_NE(e64, NULL);
	ASSERT_TRUE(strchr(n64, '=') == NULL && strchr(e64, '=') == NULL);
	nb = fx_b64url_decode(n64, strlen(n64), &nlen);
	eb = fx_b64url_decode(e64, strlen(e64), &elen);
	ASSERT_PTR_NE(nb, NULL);
	ASSERT_PTR_NE(eb, NULL);
	/* Minimal big-endian octets (RFC 7518 6.3.1): no leading zero. */
	ASSERT_INT_NE(nb[0], 0);
	ASSERT_INT_NE(eb[0], 0);
	ASSERT_SIZE_T_EQ(nlen * 8, (size_t)account_key_bits(a));

	/* n against `openssl rsa -modulus`. */
	TEST_PATH(modf, dir, "modulus.txt");
	TEST_RUN_OK(modf, "openssl", "rsa", "-in", keypath, "-noout",
	    "-modulus");
	modtxt = (char *)test_read_file(modf, NULL);
	nhex = hex(nb, nlen);
	ASSERT_INT_EQ(strncmp(modtxt, "Modulus=", 8), 0);
	ASSERT_SIZE_T_EQ(strcspn(modtxt + 8, "\n"), strlen(nhex));
	ASSERT_MEM_EQ(modtxt + 8, nhex, strlen(nhex));

	/* n and e rebuilt into a key equal to `openssl pkey -pubout`. */
	ASSERT_PTR_NE(bn = BN_bin2bn(nb, (int)nlen, NULL), NULL);
	ASSERT_PTR_NE(be = BN_bin2bn(eb, (int)elen, NULL), NULL);
	ASSERT_PTR_NE(bld = OSSL_PARAM_BLD_new(), NULL);
	ASSERT_INT_EQ(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn),
	    1);
	ASSERT_INT_EQ(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be),
	    1);
	ASSERT_PTR_NE(prm = OSSL_PARAM_BLD_to_param(bld), NULL);
	ASSERT_PTR_NE(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL),
	    NULL);
	ASSERT_INT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
	ASSERT_INT_EQ(EVP_PKEY_fromdata(ctx, &rebuilt, EVP_PKEY_PUBLIC_KEY,
	    prm), 1);
	TEST_PATH(pubp, dir, "jwks-pub.pem");
	TEST_RUN_OK(NULL, "openssl", "pkey", "-in", keypath, "-pubout",
	    "-out", pubp);
	ASSERT_PTR_NE(bio = BIO_new_file(pubp, "r"), NULL);
	ASSERT_PTR_NE(pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL), NULL);
	ASSERT_INT_EQ(EVP_PKEY_eq(rebuilt, pub), 1);
	ASSERT_INT_EQ(EVP_PKEY_eq(rebuilt, account_pkey(a)), 1);

	BIO_free(bio);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(rebuilt);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(nhex);
	free(modtxt);
	free(nb);
	free(eb);
	cJSON_Delete(set);
	account_free(a);
	free(json);
}

static void
test_jwks(void)
{
	check_jwks(key2048, KID);
	check_jwks(key3072, "another-kid");
	/* No private_key_id: a key set without kid rather than a bogus one. */
	check_jwks(key2048, NULL);
}

static void
test_jwks_different_keys_differ(void)
{
	char *j1 = fx_sa_json(key2048, KID, EMAIL, NULL);
	char *j2 = fx_sa_json(key4096, KID, EMAIL, NULL);
	struct account *a1, *a2;
	struct errbuf e;

	/* The derived material follows the key (not a cached constant). */
	ASSERT_INT_EQ(load(j1, &a1, &e), 0);
	ASSERT_INT_EQ(load(j2, &a2, &e), 0);
	ASSERT_STR_NE(account_jwks(a1), account_jwks(a2));
	ASSERT_STR_NE(account_public_pem(a1), account_public_pem(a2));
	account_free(a1);
	account_free(a2);
	free(j1);
	free(j2);
}

int
main(void)
{
	char pw[4096], passout[4200];

	test_init();
	secmem_cjson_hooks();
	dir = test_tmpdir_new();
	TEST_PATH(key2048, dir, "rsa2048.pem");
	TEST_PATH(key3072, dir, "rsa3072.pem");
	TEST_PATH(key4096, dir, "rsa4096.pem");
	TEST_PATH(key1024, dir, "rsa1024.pem");
	TEST_PATH(keyec, dir, "ec.pem");
	TEST_PATH(keyed, dir, "ed25519.pem");
	TEST_PATH(keyenc, dir, "rsa-enc.pem");
	TEST_PATH(pubfile, dir, "rsa2048.pub.pem");
	fx_genrsa(key2048, "2048");
	fx_genrsa(key3072, "3072");
	fx_genrsa(key4096, "4096");
	fx_genrsa(key1024, "1024");
	FX_GENKEY(keyec, "-algorithm", "EC", "-pkeyopt",
	    "ec_paramgen_curve:P-256");
	FX_GENKEY(keyed, "-algorithm", "ED25519");
	TEST_RUN_OK(NULL, "openssl", "pkey", "-in", key2048, "-pubout",
	    "-out", pubfile);
	TEST_PATH(pw, dir, "pempw");
	test_write_str(pw, "pem-pass\n", 0600);
	snprintf(passout, sizeof(passout), "file:%s", pw);
	TEST_RUN_OK(NULL, "openssl", "pkey", "-in", key2048, "-aes256",
	    "-passout", passout, "-out", keyenc);

	TEST(test_load_rsa2048);
	TEST(test_key_sizes);
	TEST(test_other_key_types);
	TEST(test_encrypted_pem_no_prompt);
	TEST(test_entries_selection);
	TEST(test_nul_in_value);
	TEST(test_reserved_names);
	TEST(test_bad_json);
	TEST(test_missing_members);
	TEST(test_public_pem);
	TEST(test_jwks);
	TEST(test_jwks_different_keys_differ);

	test_tmpdir_free(dir);
	return test_done();
}
