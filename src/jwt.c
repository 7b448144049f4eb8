/* SPDX-License-Identifier: MIT */
#include "jwt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>

#include "b64.h"

struct minter {
	char *name;
	long ttl;
	int refresh;
	EVP_PKEY *pkey;
	EVP_MD_CTX *base;	/* DigestSign initialised once, copied per mint */
	char *header_b64;	/* base64url(header) "." */
	size_t header_len;
	char *claims_tail;	/* the payload JSON after "exp":N, */
	size_t tail_len;
	size_t sig_len;
};

static int
add_str(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* Everything but iat and exp, as JSON members: "iss":...,...} */
static char *
build_tail(const char *email, const char *sa_project_id,
    const struct token_profile *p)
{
	const char *project = p->project_id ? p->project_id : sa_project_id;
	cJSON *o = cJSON_CreateObject(), *arr, *it, *copy;
	char *text = NULL, *tail = NULL;
	int ok;

	if (o == NULL)
		return NULL;
	ok = add_str(o, "iss", email) && add_str(o, "sub", email) &&
	    add_str(o, "email", email) && add_str(o, "aud", p->audience) &&
	    (project == NULL || add_str(o, "project_id", project)) &&
	    (p->user_id == NULL || add_str(o, "user_id", p->user_id)) &&
	    (arr = cJSON_AddArrayToObject(o, "resource_access")) != NULL;
	for (char **s = p->resource_access; ok && s && *s; s++) {
		if ((it = cJSON_CreateString(*s)) == NULL)
			ok = 0;
		else
			cJSON_AddItemToArray(arr, it);
	}
	if (ok && p->display_name != NULL)
		ok = add_str(o, "display_name", p->display_name);
	if (ok && p->claims != NULL) {
		cJSON_ArrayForEach(it, p->claims) {
			if ((copy = cJSON_Duplicate(it, 1)) == NULL) {
				ok = 0;
				break;
			}
			cJSON_AddItemToObject(o, it->string, copy);
		}
	}
	if (ok && (text = cJSON_PrintUnformatted(o)) != NULL &&
	    text[0] == '{')
		tail = strdup(text + 1);
	secmem_free(text);
	cJSON_Delete(o);
	return tail;
}

static char *
build_header(const char *kid)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL, *out = NULL;
	size_t n;

	if (o != NULL && add_str(o, "alg", "RS256") && add_str(o, "typ", "JWT")
	    && (kid == NULL || add_str(o, "kid", kid)) &&
	    (text = cJSON_PrintUnformatted(o)) != NULL) {
		n = strlen(text);
		if ((out = malloc(b64url_len(n) + 2)) != NULL) {
			b64url_encode(text, n, out);
			strcat(out, ".");
		}
	}
	secmem_free(text);
	cJSON_Delete(o);
	return out;
}

int
minter_new(EVP_PKEY *pkey, const char *kid, const char *client_email,
    const char *sa_project_id, const struct token_profile *p,
    struct minter **outp, struct errbuf *e)
{
	struct minter *m;
	int r = SAFS_ERR_NOMEM;

	*outp = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return err_set(e, r, "out of memory");
	m->ttl = p->ttl;
	m->refresh = p->refresh;
	m->pkey = pkey;
	if ((m->name = strdup(p->name)) == NULL ||
	    (m->header_b64 = build_header(kid)) == NULL ||
	    (m->claims_tail = build_tail(client_email, sa_project_id, p)) ==
	    NULL || (m->base = EVP_MD_CTX_new()) == NULL) {
		err_set(e, r, "out of memory");
		goto out;
	}
	m->header_len = strlen(m->header_b64);
	m->tail_len = strlen(m->claims_tail);
	if (EVP_DigestSignInit(m->base, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_PKEY_get_size(pkey) <= 0) {
		ERR_clear_error();
		r = err_set(e, SAFS_ERR_SIGN, "cannot set up RS256 signing "
		    "with private_key");
		goto out;
	}
	m->sig_len = (size_t)EVP_PKEY_get_size(pkey);
	/* success */
	*outp = m;
	m = NULL;
	r = 0;
 out:
	minter_free(m);
	return r;
}

void
minter_free(struct minter *m)
{
	if (m == NULL)
		return;
	EVP_MD_CTX_free(m->base);
	free(m->name);
	free(m->header_b64);
	free(m->claims_tail);
	free(m);
}

int
minter_mint(struct minter *m, time_t iat, struct secbuf **outp)
{
	unsigned char sig[ACCOUNT_SIG_MAX];
	struct secbuf *payload = NULL, *tok = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t plen, b64len, siglen = sizeof(sig), pos, total;
	int n, r = SAFS_ERR_NOMEM;
	char *out;

	*outp = NULL;
	if (m->sig_len > sizeof(sig))
		return SAFS_ERR_SIGN;
	/* {"iat":N,"exp":N, + tail: two 20-digit numbers and punctuation */
	if ((payload = secbuf_new(m->tail_len + 64)) == NULL)
		goto out;
	n = snprintf((char *)secbuf_data(payload), m->tail_len + 64,
	    "{\"iat\":%" PRId64 ",\"exp\":%" PRId64 ",%s", (int64_t)iat,
	    (int64_t)iat + m->ttl, m->claims_tail);
	if (n < 0 || (size_t)n >= m->tail_len + 64) {
		r = SAFS_ERR_INTERNAL;
		goto out;
	}
	plen = (size_t)n;
	b64len = b64url_len(plen);
	total = m->header_len + b64len + 1 + b64url_len(m->sig_len);
	if ((tok = secbuf_new(total)) == NULL)
		goto out;
	out = (char *)secbuf_data(tok);
	memcpy(out, m->header_b64, m->header_len);
	pos = m->header_len;
	pos += b64url_encode(secbuf_data(payload), plen, out + pos);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_MD_CTX_copy_ex(ctx, m->base) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)out, pos) !=
	    1 || siglen != m->sig_len) {
		ERR_clear_error();
		r = SAFS_ERR_SIGN;
		goto out;
	}
	out[pos++] = '.';
	pos += b64url_encode(sig, siglen, out + pos);
	if (pos != total) {
		r = SAFS_ERR_INTERNAL;
		goto out;
	}
	/* success */
	*outp = tok;
	tok = NULL;
	r = 0;
 out:
	OPENSSL_cleanse(sig, sizeof(sig));
	EVP_MD_CTX_free(ctx);
	secbuf_free(payload);
	secbuf_free(tok);
	return r;
}

const char *
minter_name(const struct minter *m)
{
	return m->name;
}

long
minter_ttl(const struct minter *m)
{
	return m->ttl;
}

int64_t
minter_refresh_at(const struct minter *m, time_t iat)
{
	int64_t at = (int64_t)iat * 1000 + (int64_t)m->ttl * m->refresh * 10;

	/*
	 * iat is whole seconds: a token minted late in second iat with a
	 * refresh point inside that second (token_ttl=1) would be due at
	 * once, and its successor would carry the same iat. One mint per
	 * second at most.
	 */
	return at > ((int64_t)iat + 1) * 1000 ? at : ((int64_t)iat + 1) * 1000;
}

int
minter_due(const struct minter *m, time_t iat, int64_t now_ms)
{
	/* A second of slack: iat is whole seconds, now_ms is not. */
	return now_ms >= minter_refresh_at(m, iat) ||
	    now_ms < (int64_t)iat * 1000 - 1000;
}
