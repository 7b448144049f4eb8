/* SPDX-License-Identifier: MIT */
#include "account.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "b64.h"
#include "options.h"
#include "util.h"

struct account {
	struct secbuf *json;
	struct account_entry *entries;
	size_t nentries;
	EVP_PKEY *pkey;
	int bits;
	char *public_pem;
	char *jwks;
};

static const char *const reserved[] = { "credentials.json", "token",
	"tokens", "public_key.pem", "jwks.json", NULL };

int
account_reserved_name(const char *name)
{
	for (const char *const *p = reserved; *p != NULL; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

/* Never prompt: a passphrase-protected PEM inside the JSON is refused. */
static int
no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * A PEM whose private numbers were damaged still parses, and would sign
 * tokens no verifier accepts: sign once now and check the signature with
 * the key's own public half, so such a key fails at load, clearly.
 */
static int
self_test(EVP_PKEY *pkey, struct errbuf *e)
{
	static const unsigned char msg[] = "safs: key self-test";
	unsigned char sig[ACCOUNT_SIG_MAX];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *sctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
	int ok;

	ok = sctx != NULL && vctx != NULL &&
	    EVP_DigestSignInit(sctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestSign(sctx, sig, &siglen, msg, sizeof(msg) - 1) == 1 &&
	    EVP_DigestVerifyInit(vctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg) - 1) == 1;
	EVP_MD_CTX_free(sctx);
	EVP_MD_CTX_free(vctx);
	OPENSSL_cleanse(sig, sizeof(sig));
	ERR_clear_error();
	if (!ok)
		return err_set(e, SAFS_ERR_KEY, "private_key is damaged: a "
		    "signature made with it does not verify with its own "
		    "public key");
	return 0;
}

static int
load_key(struct account *a, const char *pem, struct errbuf *e)
{
	BIO *bio;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	a->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase_cb, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (a->pkey == NULL)
		return err_set(e, SAFS_ERR_KEY, "private_key does not parse "
		    "as an unencrypted PEM private key");
	if (!EVP_PKEY_is_a(a->pkey, "RSA"))
		return err_set(e, SAFS_ERR_KEY, "private_key is a %s key; "
		    "RS256 needs an RSA key", EVP_PKEY_get0_type_name(a->pkey));
	a->bits = EVP_PKEY_get_bits(a->pkey);
	if (a->bits < ACCOUNT_KEY_MIN_BITS || a->bits > ACCOUNT_KEY_MAX_BITS)
		return err_set(e, SAFS_ERR_KEY, "private_key is RSA-%d; "
		    "safs takes %d to %d bits", a->bits, ACCOUNT_KEY_MIN_BITS,
		    ACCOUNT_KEY_MAX_BITS);
	return self_test(a->pkey, e);
}

static char *
bio_string(BIO *bio)
{
	char *data, *s;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0 || (s = secmem_strndup(data, (size_t)n)) == NULL)
		return NULL;
	return s;
}

static char *
bn_b64url(const BIGNUM *bn)
{
	unsigned char raw[ACCOUNT_KEY_MAX_BITS / 8 + 8];
	int n = BN_num_bytes(bn);
	char *out;

	if (n <= 0 || (size_t)n > sizeof(raw) ||
	    BN_bn2bin(bn, raw) != n ||
	    (out = secmem_alloc(b64url_len((size_t)n) + 1)) == NULL)
		return NULL;
	b64url_encode(raw, (size_t)n, out);
	return out;
}

static int
derive_public(struct account *a, const char *kid, struct errbuf *e)
{
	BIGNUM *n = NULL, *ex = NULL;
	char *nb = NULL, *eb = NULL, *text = NULL;
	cJSON *set = NULL, *keys, *key;
	BIO *bio = NULL;
	int r = SAFS_ERR_NOMEM;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, a->pkey) != 1 ||
	    (a->public_pem = bio_string(bio)) == NULL)
		goto out;
	if (EVP_PKEY_get_bn_param(a->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(a->pkey, OSSL_PKEY_PARAM_RSA_E, &ex) != 1) {
		r = err_set(e, SAFS_ERR_KEY, "cannot read the RSA public key");
		goto out;
	}
	if ((nb = bn_b64url(n)) == NULL || (eb = bn_b64url(ex)) == NULL ||
	    (set = cJSON_CreateObject()) == NULL ||
	    (keys = cJSON_AddArrayToObject(set, "keys")) == NULL ||
	    (key = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddItemToArray(keys, key);
	if (cJSON_AddStringToObject(key, "kty", "RSA") == NULL ||
	    (kid != NULL && cJSON_AddStringToObject(key, "kid", kid) == NULL) ||
	    cJSON_AddStringToObject(key, "use", "sig") == NULL ||
	    cJSON_AddStringToObject(key, "alg", "RS256") == NULL ||
	    cJSON_AddStringToObject(key, "n", nb) == NULL ||
	    cJSON_AddStringToObject(key, "e", eb) == NULL ||
	    (text = cJSON_PrintUnformatted(set)) == NULL ||
	    (a->jwks = secmem_alloc(strlen(text) + 2)) == NULL)
		goto out;
	/* A document, unlike the raw members: end it with a newline. */
	snprintf(a->jwks, strlen(text) + 2, "%s\n", text);
	r = 0;
 out:
	BN_free(n);
	BN_free(ex);
	secmem_free(nb);
	secmem_free(eb);
	secmem_free(text);
	cJSON_Delete(set);
	BIO_free(bio);
	if (r == SAFS_ERR_NOMEM)
		err_set(e, r, "out of memory deriving the public key");
	return r;
}

static int
collect_entries(struct account *a, const cJSON *root, struct errbuf *e)
{
	const cJSON *m;
	size_t n = 0;

	for (m = root->child; m != NULL; m = m->next)
		n++;
	if ((a->entries = secmem_alloc((n + 1) * sizeof(*a->entries))) ==
	    NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	for (m = root->child; m != NULL; m = m->next) {
		struct account_entry *ent;

		if (util_json_twin(root, m))
			return err_set(e, SAFS_ERR_ACCOUNT,
			    "member '%.64s' appears twice", m->string);
		if (!cJSON_IsString(m) || !options_safe_name(m->string) ||
		    account_reserved_name(m->string))
			continue;
		ent = &a->entries[a->nentries];
		if ((ent->name = secmem_strndup(m->string,
		    strlen(m->string))) == NULL ||
		    (ent->data = (unsigned char *)secmem_strndup(
		    m->valuestring, strlen(m->valuestring))) == NULL) {
			/* Counted now, so account_free() frees both. */
			a->nentries++;
			return err_set(e, SAFS_ERR_NOMEM, "out of memory");
		}
		ent->len = strlen(m->valuestring);
		a->nentries++;
	}
	return 0;
}

/*
 * cJSON keeps strings NUL-terminated, so "a\u0000b" would come out as
 * "a": refuse such a file rather than serve a value cut short.
 */
static int
holds_nul(const char *s, size_t n)
{
	int in_str = 0;

	if (memchr(s, '\0', n) != NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (!in_str) {
			in_str = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_str = 0;
		} else if (s[i] == '\\' && i + 1 < n) {
			if (s[i + 1] == 'u' && i + 5 < n &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return 1;
			i++;
		}
	}
	return 0;
}

static const cJSON *
required_string(const cJSON *root, const char *name, struct errbuf *e,
    int *r)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, name);

	if (m == NULL)
		*r = err_set(e, SAFS_ERR_ACCOUNT, "not a service account: "
		    "member '%s' is missing", name);
	else if (!cJSON_IsString(m))
		*r = err_set(e, SAFS_ERR_ACCOUNT, "not a service account: "
		    "member '%s' is not a string", name);
	else if (*m->valuestring == '\0')
		*r = err_set(e, SAFS_ERR_ACCOUNT, "not a service account: "
		    "member '%s' is empty", name);
	else
		return m;
	return NULL;
}

int
account_load(const unsigned char *json, size_t len, struct account **outp,
    struct errbuf *e)
{
	struct account *a = NULL;
	cJSON *root = NULL;
	const cJSON *key, *kid;
	size_t pos;
	int r = SAFS_ERR_INTERNAL;

	*outp = NULL;
	if ((a = secmem_alloc(sizeof(*a))) == NULL ||
	    (a->json = secbuf_dup(json, len)) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = util_json_parse((const char *)secbuf_data(a->json), len,
	    &root, &pos)) != 0) {
		r = r == UTIL_JSON_SYNTAX ?
		    err_set(e, SAFS_ERR_JSON, "decrypted content is not valid "
		    "JSON (near byte %zu)", pos) :
		    err_set(e, SAFS_ERR_JSON, "decrypted content is not valid "
		    "JSON: data after the object");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		r = err_set(e, SAFS_ERR_ACCOUNT, "not a service account: the "
		    "JSON is not an object");
		goto out;
	}
	if (holds_nul((const char *)secbuf_data(a->json), len)) {
		r = err_set(e, SAFS_ERR_ACCOUNT, "not a usable service "
		    "account: a string holds a NUL character (\\u0000), "
		    "which safs will not serve cut short");
		goto out;
	}
	if (required_string(root, "client_email", e, &r) == NULL ||
	    (key = required_string(root, "private_key", e, &r)) == NULL)
		goto out;
	kid = cJSON_GetObjectItemCaseSensitive(root, "private_key_id");
	if (kid != NULL && !cJSON_IsString(kid)) {
		r = err_set(e, SAFS_ERR_ACCOUNT, "not a service account: "
		    "member 'private_key_id' is not a string");
		goto out;
	}
	if ((r = collect_entries(a, root, e)) != 0 ||
	    (r = load_key(a, key->valuestring, e)) != 0 ||
	    (r = derive_public(a, kid != NULL ? kid->valuestring : NULL,
	    e)) != 0)
		goto out;
	/* success */
	*outp = a;
	a = NULL;
	r = 0;
 out:
	cJSON_Delete(root);	/* the hooks wipe every node */
	account_free(a);
	return r;
}

void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nentries; i++) {
		secmem_free((void *)a->entries[i].name);
		secmem_free((void *)a->entries[i].data);
	}
	secmem_free(a->entries);
	EVP_PKEY_free(a->pkey);
	secmem_free(a->public_pem);
	secmem_free(a->jwks);
	secbuf_free(a->json);
	secmem_free(a);
}

const unsigned char *
account_json(const struct account *a, size_t *lenp)
{
	*lenp = secbuf_len(a->json);
	return secbuf_data(a->json);
}

size_t
account_nentries(const struct account *a)
{
	return a->nentries;
}

const struct account_entry *
account_entry(const struct account *a, size_t i)
{
	return i < a->nentries ? &a->entries[i] : NULL;
}

const char *
account_get(const struct account *a, const char *name)
{
	for (size_t i = 0; i < a->nentries; i++)
		if (strcmp(a->entries[i].name, name) == 0)
			return (const char *)a->entries[i].data;
	return NULL;
}

EVP_PKEY *
account_pkey(const struct account *a)
{
	return a->pkey;
}

int
account_key_bits(const struct account *a)
{
	return a->bits;
}

const char *
account_public_pem(const struct account *a)
{
	return a->public_pem;
}

const char *
account_jwks(const struct account *a)
{
	return a->jwks;
}
