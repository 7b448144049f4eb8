/* SPDX-License-Identifier: MIT */
/*
 * jwt: RS256 tokens checked from the outside: split, base64url-decoded by
 * the test's own decoder, parsed with cJSON, the signature verified with
 * OpenSSL against the public key from `openssl pkey -pubout`.
 */
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "account.h"
#include "config.h"
#include "jwt.h"
#include "options.h"
#include "secmem.h"
#include "test.h"
#include "sa_fixture.h"

#define KID "0123abcd4567ef890123abcd4567ef890123abcd"
#define EMAIL "etl@acme-prod.iam.gserviceaccount.com"
#define SA_PROJECT "acme-prod"

static char *dir;
static char key2048[4096], key4096[4096], pub2048[4096], pub4096[4096];
static struct account *sa2048, *sa_noproj, *sa4096;

static const char config_json[] =
    "{\"audience\":\"acme.chata.io\",\"token_ttl\":3600,\"refresh\":80,"
    "\"profiles\":{"
    "\"default\":{\"user_id\":\"svc-etl\",\"project_id\":\"p-123\","
    "\"resource_access\":[\"/autoql/api/v1/query/**\","
    "\"/autoql/api/v1/x\"]},"
    "\"reporting\":{\"user_id\":\"svc-bi\",\"display_name\":"
    "\"Bj\xc3\xb6rk \\\"BI\\\"\",\"token_ttl\":600,\"refresh\":50,"
    "\"claims\":{\"acl_id\":\"42\",\"rls\":{\"region\":[\"eu\",\"us\"]},"
    "\"level\":3}},"
    "\"bare\":{\"audience\":\"other.chata.io\",\"token_ttl\":7,"
    "\"refresh\":33}}}";

struct token {
	char *text;
	size_t len;
	size_t dot1, dot2;	/* offsets of the two dots */
	cJSON *header, *payload;
	unsigned char *sig;
	size_t siglen;
};

static void
token_free(struct token *t)
{
	free(t->text);
	cJSON_Delete(t->header);
	cJSON_Delete(t->payload);
	free(t->sig);
	memset(t, 0, sizeof(*t));
}

/* Split and decode a compact JWS; fails the test on any malformation. */
static void
token_parse(const struct secbuf *b, struct token *t)
{
	unsigned char *h, *p;
	size_t hl, pl, dots = 0;

	memset(t, 0, sizeof(*t));
	t->len = secbuf_len(b);
	/* NUL-terminated, and the length is the string's. */
	ASSERT_SIZE_T_EQ(strlen((const char *)secbuf_data(b)), t->len);
	t->text = strdup((const char *)secbuf_data(b));
	ASSERT_PTR_NE(t->text, NULL);
	for (size_t i = 0; i < t->len; i++) {
		char c = t->text[i];

		if (c == '.') {
			if (dots == 0)
				t->dot1 = i;
			else
				t->dot2 = i;
			dots++;
			continue;
		}
		/* base64url only: no padding, no '+', '/', whitespace. */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			TEST_FAIL("byte %zu of the token is 0x%02x", i,
			    (unsigned char)c);
	}
	ASSERT_SIZE_T_EQ(dots, 2);
	ASSERT_TRUE(strchr(t->text, '=') == NULL);
	h = fx_b64url_decode(t->text, t->dot1, &hl);
	p = fx_b64url_decode(t->text + t->dot1 + 1, t->dot2 - t->dot1 - 1,
	    &pl);
	t->sig = fx_b64url_decode(t->text + t->dot2 + 1,
	    t->len - t->dot2 - 1, &t->siglen);
	ASSERT_PTR_NE(h, NULL);
	ASSERT_PTR_NE(p, NULL);
	ASSERT_PTR_NE(t->sig, NULL);
	/* Exactly one JSON object in each, nothing after it (cJSON wants
	 * to see the terminating NUL, which the decoder puts there). */
	ASSERT_SIZE_T_EQ(strlen((char *)h), hl);
	ASSERT_SIZE_T_EQ(strlen((char *)p), pl);
	t->header = cJSON_ParseWithLengthOpts((const char *)h, hl + 1, NULL,
	    1);
	t->payload = cJSON_ParseWithLengthOpts((const char *)p, pl + 1, NULL,
	    1);
	free(h);
	free(p);
	ASSERT_TRUE(cJSON_IsObject(t->header));
	ASSERT_TRUE(cJSON_IsObject(t->payload));
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static int64_t
num(const cJSON *o, const char *k)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(m))
		TEST_FAIL("claim %s is not a number", k);
	/* An integer, as NumericDate wants for these. */
	ASSERT_TRUE(m->valuedouble == (double)(int64_t)m->valuedouble);
	return (int64_t)m->valuedouble;
}

static int
has(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

static EVP_PKEY *
read_pub(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *k;

	ASSERT_PTR_NE(bio, NULL);
	k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ASSERT_PTR_NE(k, NULL);
	return k;
}

/* RS256 verification of text[0..signed_len) against sig. */
static int
verify(const char *pubpath, const char *text, size_t signed_len,
    const unsigned char *sig, size_t siglen)
{
	EVP_PKEY *k = read_pub(pubpath);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r;

	ASSERT_PTR_NE(ctx, NULL);
	ASSERT_INT_EQ(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k),
	    1);
	r = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)text,
	    signed_len);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return r == 1;
}

static void
load_config(struct token_config *c, const char *opts)
{
	struct safs_opts o;
	struct errbuf e = { "" };

	options_init(&o);
	if (opts != NULL)
		ASSERT_INT_EQ(options_parse(&o, opts, &e), 0);
	if (config_parse(config_json, strlen(config_json), &o, c, &e) != 0)
		TEST_FAIL("config: %s", e.msg);
	options_free(&o);
}

static struct minter *
new_minter(const struct account *a, const struct token_profile *p)
{
	struct minter *m = (struct minter *)&m;
	struct errbuf e = { "" };

	if (minter_new(account_pkey(a), account_get(a, "private_key_id"),
	    account_get(a, "client_email"), account_get(a, "project_id"), p,
	    &m, &e) != 0)
		TEST_FAIL("minter_new: %s", e.msg);
	ASSERT_PTR_NE(m, NULL);
	return m;
}

static void
mint(struct minter *m, time_t iat, struct token *t)
{
	struct secbuf *b = (struct secbuf *)&b;

	ASSERT_INT_EQ(minter_mint(m, iat, &b), 0);
	ASSERT_PTR_NE(b, NULL);
	token_parse(b, t);
	secbuf_free(b);
}

static void
test_default_profile_claims(void)
{
	struct token_config c;
	struct minter *m;
	struct token t;
	const time_t iat = 1764835200;	/* an arbitrary fixed instant */
	const cJSON *ra;

	load_config(&c, NULL);
	m = new_minter(sa2048, &c.profiles[0]);
	ASSERT_STR_EQ(minter_name(m), "default");
	ASSERT_INT_EQ(minter_ttl(m), 3600);
	mint(m, iat, &t);

	/* Header: exactly alg, typ, kid. */
	ASSERT_INT_EQ(cJSON_GetArraySize(t.header), 3);
	ASSERT_STR_EQ(str(t.header, "alg"), "RS256");
	ASSERT_STR_EQ(str(t.header, "typ"), "JWT");
	ASSERT_STR_EQ(str(t.header, "kid"), KID);

	ASSERT_INT_EQ(num(t.payload, "iat"), (int64_t)iat);
	ASSERT_INT_EQ(num(t.payload, "exp"), (int64_t)iat + 3600);
	ASSERT_STR_EQ(str(t.payload, "iss"), EMAIL);
	ASSERT_STR_EQ(str(t.payload, "sub"), EMAIL);
	ASSERT_STR_EQ(str(t.payload, "email"), EMAIL);
	ASSERT_STR_EQ(str(t.payload, "aud"), "acme.chata.io");
	/* The profile's project_id wins over the account's. */
	ASSERT_STR_EQ(str(t.payload, "project_id"), "p-123");
	ASSERT_STR_EQ(str(t.payload, "user_id"), "svc-etl");
	ra = cJSON_GetObjectItemCaseSensitive(t.payload, "resource_access");
	ASSERT_TRUE(cJSON_IsArray(ra));
	ASSERT_INT_EQ(cJSON_GetArraySize(ra), 2);
	ASSERT_STR_EQ(cJSON_GetArrayItem(ra, 0)->valuestring,
	    "/autoql/api/v1/query/**");
	ASSERT_STR_EQ(cJSON_GetArrayItem(ra, 1)->valuestring,
	    "/autoql/api/v1/x");
	/* display_name only when set; nothing else. */
	ASSERT_FALSE(has(t.payload, "display_name"));
	ASSERT_FALSE(has(t.payload, "nbf"));
	{
		static const char *const want[] = { "iat", "exp", "iss", "sub",
			"email", "aud", "project_id", "user_id",
			"resource_access" };
		const cJSON *it;

		/* Exactly these members, each once. */
		ASSERT_INT_EQ(cJSON_GetArraySize(t.payload),
		    sizeof(want) / sizeof(*want));
		cJSON_ArrayForEach(it, t.payload) {
			size_t k;

			for (k = 0; k < sizeof(want) / sizeof(*want); k++)
				if (strcmp(it->string, want[k]) == 0)
					break;
			if (k == sizeof(want) / sizeof(*want))
				TEST_FAIL("unexpected claim %s", it->string);
		}
	}

	/* Signature: 2048-bit RSA, verifies against the public key. */
	ASSERT_SIZE_T_EQ(t.siglen, 256);
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	token_free(&t);
	minter_free(m);
	minter_free(NULL);
	config_free(&c);
}

static void
test_other_profiles(void)
{
	struct token_config c;
	const struct token_profile *p;
	struct minter *m;
	struct token t;
	const time_t iat = 1700000000;
	const cJSON *ra, *rls;

	load_config(&c, NULL);
	p = config_find(&c, "reporting");
	ASSERT_PTR_NE(p, NULL);
	m = new_minter(sa2048, p);
	ASSERT_STR_EQ(minter_name(m), "reporting");
	ASSERT_INT_EQ(minter_ttl(m), 600);
	mint(m, iat, &t);
	ASSERT_INT_EQ(num(t.payload, "exp") - num(t.payload, "iat"), 600);
	/* No project_id in the profile: the service account's. */
	ASSERT_STR_EQ(str(t.payload, "project_id"), SA_PROJECT);
	ASSERT_STR_EQ(str(t.payload, "user_id"), "svc-bi");
	/* Escaped and non-ASCII text survives the JSON round trip. */
	ASSERT_STR_EQ(str(t.payload, "display_name"), "Bj\xc3\xb6rk \"BI\"");
	/* An empty resource_access list is still a list. */
	ra = cJSON_GetObjectItemCaseSensitive(t.payload, "resource_access");
	ASSERT_TRUE(cJSON_IsArray(ra));
	ASSERT_INT_EQ(cJSON_GetArraySize(ra), 0);
	/* Extra claims, with their JSON types. */
	ASSERT_STR_EQ(str(t.payload, "acl_id"), "42");
	ASSERT_INT_EQ(num(t.payload, "level"), 3);
	rls = cJSON_GetObjectItemCaseSensitive(t.payload, "rls");
	ASSERT_TRUE(cJSON_IsObject(rls));
	ASSERT_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rls,
	    "region")), 2);
	ASSERT_STR_EQ(str(t.payload, "aud"), "acme.chata.io");
	ASSERT_STR_EQ(str(t.payload, "iss"), EMAIL);
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	token_free(&t);
	minter_free(m);

	/* "bare": no user_id, no display_name, no project_id anywhere. */
	p = config_find(&c, "bare");
	m = new_minter(sa_noproj, p);
	mint(m, iat, &t);
	ASSERT_STR_EQ(str(t.payload, "aud"), "other.chata.io");
	ASSERT_INT_EQ(num(t.payload, "exp"), (int64_t)iat + 7);
	ASSERT_FALSE(has(t.payload, "user_id"));
	ASSERT_FALSE(has(t.payload, "display_name"));
	ASSERT_FALSE(has(t.payload, "project_id"));
	/* sa_noproj has no private_key_id: the header has no kid. */
	ASSERT_INT_EQ(cJSON_GetArraySize(t.header), 2);
	ASSERT_FALSE(has(t.header, "kid"));
	ASSERT_STR_EQ(str(t.header, "alg"), "RS256");
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	token_free(&t);
	minter_free(m);
	config_free(&c);
}

static void
test_options_claims(void)
{
	struct token_config c;
	struct minter *m;
	struct token t;

	/* Values that would break naive JSON building. */
	load_config(&c, "user_id=a\\\"\\,\"aud\":\"evil,display_name=x\\\\y");
	m = new_minter(sa2048, &c.profiles[0]);
	mint(m, 1, &t);
	ASSERT_STR_EQ(str(t.payload, "user_id"), "a\",\"aud\":\"evil");
	ASSERT_STR_EQ(str(t.payload, "aud"), "acme.chata.io");
	ASSERT_STR_EQ(str(t.payload, "display_name"), "x\\y");
	ASSERT_INT_EQ(num(t.payload, "iat"), 1);
	ASSERT_INT_EQ(num(t.payload, "exp"), 3601);
	token_free(&t);
	minter_free(m);
	config_free(&c);
}

static void
test_signature_tamper(void)
{
	struct token_config c;
	struct minter *m;
	struct token t;
	char *copy;

	load_config(&c, NULL);
	m = new_minter(sa2048, &c.profiles[0]);
	mint(m, 1764835200, &t);
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	/* One byte of the payload changed: the signature no longer fits. */
	copy = strdup(t.text);
	ASSERT_PTR_NE(copy, NULL);
	copy[t.dot1 + 5] = copy[t.dot1 + 5] == 'A' ? 'B' : 'A';
	ASSERT_FALSE(verify(pub2048, copy, t.dot2, t.sig, t.siglen));
	/* Nor one of the header. */
	memcpy(copy, t.text, t.len);
	copy[2] = copy[2] == 'A' ? 'B' : 'A';
	ASSERT_FALSE(verify(pub2048, copy, t.dot2, t.sig, t.siglen));
	/* A flipped signature bit. */
	t.sig[t.siglen / 2] ^= 0x01;
	ASSERT_FALSE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	t.sig[t.siglen / 2] ^= 0x01;
	/* Another key does not verify it. */
	ASSERT_FALSE(verify(pub4096, t.text, t.dot2, t.sig, t.siglen));
	free(copy);
	token_free(&t);
	minter_free(m);
	config_free(&c);
}

static void
test_4096_and_determinism(void)
{
	struct token_config c;
	struct minter *m, *m2;
	struct token t1, t2, t3;

	load_config(&c, NULL);
	m = new_minter(sa4096, &c.profiles[0]);
	mint(m, 1000, &t1);
	ASSERT_SIZE_T_EQ(t1.siglen, 512);
	ASSERT_TRUE(verify(pub4096, t1.text, t1.dot2, t1.sig, t1.siglen));
	/* PKCS#1 v1.5 is deterministic: same iat, same token; and each
	 * mint starts from a clean context (no state carried over). */
	mint(m, 1000, &t2);
	ASSERT_STR_EQ(t1.text, t2.text);
	mint(m, 1001, &t3);
	ASSERT_STR_NE(t1.text, t3.text);
	ASSERT_INT_EQ(num(t3.payload, "iat"), 1001);
	ASSERT_TRUE(verify(pub4096, t3.text, t3.dot2, t3.sig, t3.siglen));
	/* Same header prefix for every token of a minter. */
	ASSERT_SIZE_T_EQ(t1.dot1, t3.dot1);
	ASSERT_MEM_EQ(t1.text, t3.text, t1.dot1);
	/* A second minter on the same key makes the same token. */
	m2 = new_minter(sa4096, &c.profiles[0]);
	token_free(&t2);
	mint(m2, 1000, &t2);
	ASSERT_STR_EQ(t1.text, t2.text);
	token_free(&t1);
	token_free(&t2);
	token_free(&t3);
	minter_free(m);
	minter_free(m2);
	config_free(&c);
}

static void
test_extreme_iat(void)
{
	struct token_config c;
	struct minter *m;
	struct token t;
	const time_t big = (time_t)1 << 40;

	load_config(&c, NULL);
	m = new_minter(sa2048, &c.profiles[0]);
	mint(m, big, &t);
	ASSERT_INT_EQ(num(t.payload, "iat"), (int64_t)big);
	ASSERT_INT_EQ(num(t.payload, "exp"), (int64_t)big + 3600);
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	token_free(&t);
	mint(m, 0, &t);
	ASSERT_INT_EQ(num(t.payload, "iat"), 0);
	ASSERT_INT_EQ(num(t.payload, "exp"), 3600);
	token_free(&t);
	mint(m, time(NULL), &t);
	ASSERT_TRUE(verify(pub2048, t.text, t.dot2, t.sig, t.siglen));
	token_free(&t);
	minter_free(m);
	config_free(&c);
}

static void
check_freshness(const struct token_profile *p, time_t iat)
{
	struct minter *m = new_minter(sa2048, p);
	int64_t at = minter_refresh_at(m, iat);
	int64_t want = (int64_t)iat * 1000 +
	    (int64_t)p->ttl * 1000 * p->refresh / 100;
	int64_t iat_ms = (int64_t)iat * 1000;

	ASSERT_INT_EQ(at, want);
	/* Due exactly at iat + ttl * refresh / 100, not a millisecond
	 * before. */
	ASSERT_INT_EQ(minter_due(m, iat, at), 1);
	ASSERT_INT_EQ(minter_due(m, iat, at - 1), 0);
	ASSERT_INT_EQ(minter_due(m, iat, at + 1), 1);
	/* Fresh from issue to the refresh point. */
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms), 0);
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms + 1), 0);
	ASSERT_INT_EQ(minter_due(m, iat, (iat_ms + at) / 2), 0);
	/* The clock went back: up to 1 s before iat is rounding (iat is
	 * whole seconds), more is a backwards jump: a verifier would call
	 * the token not yet valid. */
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms - 999), 0);
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms - 1000), 0);
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms - 1001), 1);
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms - 3600 * 1000), 1);
	/* A forward jump far past the refresh point, past exp, and beyond. */
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms + p->ttl * 1000), 1);
	ASSERT_INT_EQ(minter_due(m, iat, iat_ms + p->ttl * 1000 * 10), 1);
	ASSERT_INT_EQ(minter_due(m, iat, INT64_MAX / 2), 1);
	minter_free(m);
}

static void
test_refresh_rule(void)
{
	struct token_config c;

	load_config(&c, NULL);
	/* 3600 s at 80 %: refresh after 2880 s. */
	check_freshness(&c.profiles[0], 1764835200);
	/* 600 s at 50 %. */
	check_freshness(config_find(&c, "reporting"), 1700000000);
	/* 7 s at 33 %: a refresh point that is not a whole second. */
	check_freshness(config_find(&c, "bare"), 1700000123);
	{
		struct minter *m = new_minter(sa2048, config_find(&c, "bare"));

		ASSERT_INT_EQ(minter_refresh_at(m, 100) - 100 * 1000, 2310);
		minter_free(m);
		m = new_minter(sa2048, &c.profiles[0]);
		ASSERT_INT_EQ(minter_refresh_at(m, 0), 2880 * 1000);
		minter_free(m);
	}
	config_free(&c);
	/* From options: token_ttl=4,refresh=50 -> 2 s. */
	load_config(&c, "token_ttl=4,refresh=50");
	check_freshness(&c.profiles[0], 1764835200);
	config_free(&c);
}

static struct account *
load_account(const char *key, const char *kid, const char *project)
{
	char *json = fx_sa_json(key, kid, EMAIL, project);
	struct account *a = NULL;
	struct errbuf e = { "" };

	if (account_load((unsigned char *)json, strlen(json), &a, &e) != 0)
		TEST_FAIL("account_load: %s", e.msg);
	free(json);
	return a;
}

int
main(void)
{
	test_init();
	secmem_cjson_hooks();
	dir = test_tmpdir_new();
	TEST_PATH(key2048, dir, "rsa2048.pem");
	TEST_PATH(key4096, dir, "rsa4096.pem");
	TEST_PATH(pub2048, dir, "rsa2048.pub");
	TEST_PATH(pub4096, dir, "rsa4096.pub");
	fx_genrsa(key2048, "2048");
	fx_genrsa(key4096, "4096");
	TEST_RUN_OK(NULL, "openssl", "pkey", "-in", key2048, "-pubout",
	    "-out", pub2048);
	TEST_RUN_OK(NULL, "openssl", "pkey", "-in", key4096, "-pubout",
	    "-out", pub4096);
	sa2048 = load_account(key2048, KID, SA_PROJECT);
	sa_noproj = load_account(key2048, NULL, NULL);
	sa4096 = load_account(key4096, KID, SA_PROJECT);

	TEST(test_default_profile_claims);
	TEST(test_other_profiles);
	TEST(test_options_claims);
	TEST(test_signature_tamper);
	TEST(test_4096_and_determinism);
	TEST(test_extreme_iat);
	TEST(test_refresh_rule);

	account_free(sa2048);
	account_free(sa_noproj);
	account_free(sa4096);
	test_tmpdir_free(dir);
	return test_done();
}
