/* SPDX-License-Identifier: MIT */
#include "creds.h"

#include <stdlib.h>
#include <unistd.h>

#include "passphrase.h"
#include "source.h"

int
creds_load(const struct safs_opts *o, const char *source,
    struct creds **outp, struct errbuf *e)
{
	struct envelope_params ep = { .format = o->format, .cipher = o->cipher,
		.kdf = o->kdf, .md = o->md, .iter = o->iter,
		.allow_plaintext = o->allow_plaintext };
	struct passphrase_src ps = { .file = o->passfile, .fd = o->passfd,
		.extpass = o->extpass, .what = source };
	struct secbuf *raw = NULL, *pass = NULL, *plain = NULL;
	struct creds *c;
	const struct account *a;
	int r = SAFS_ERR_INTERNAL;

	*outp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	if ((r = config_load(o, &c->config, e)) != 0 ||
	    (r = source_read(source, SOURCE_MAX, &raw, &c->mtime, e)) != 0 ||
	    (r = envelope_inspect(secbuf_data(raw), secbuf_len(raw),
	    o->format, &c->info, e)) != 0)
		goto out;
	if (!envelope_needs_passphrase(secbuf_data(raw), secbuf_len(raw), &ep)) {
		/* A plain source: a passfd= is not read, but still closed,
		 * as it would be once read. */
		if (o->passfd >= 0)
			close(o->passfd);
	} else if ((r = passphrase_get(&ps, &pass, &c->pass_from,
	    &c->pass_warn, e)) != 0) {
		goto out;
	}
	r = envelope_open(secbuf_data(raw), secbuf_len(raw), &ep,
	    pass ? (const char *)secbuf_data(pass) : NULL,
	    pass ? secbuf_len(pass) : 0, &plain, &c->info, e);
	/* The passphrase has done its work. */
	secbuf_free(pass);
	pass = NULL;
	if (r != 0 || (r = account_load(secbuf_data(plain), secbuf_len(plain),
	    &c->account, e)) != 0)
		goto out;
	a = c->account;
	if (c->config.nprofiles > 0 && (c->minters = calloc(
	    c->config.nprofiles, sizeof(*c->minters))) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->config.nprofiles; i++)
		if ((r = minter_new(account_pkey(a),
		    account_get(a, "private_key_id"),
		    account_get(a, "client_email"),
		    account_get(a, "project_id"), &c->config.profiles[i],
		    &c->minters[i], e)) != 0)
			goto out;
	/* success */
	*outp = c;
	c = NULL;
	r = 0;
 out:
	secbuf_free(plain);
	secbuf_free(pass);
	secbuf_free(raw);
	creds_free(c);
	return r;
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	if (c->minters != NULL)
		for (size_t i = 0; i < c->config.nprofiles; i++)
			minter_free(c->minters[i]);
	free(c->minters);
	config_free(&c->config);
	account_free(c->account);
	free(c);
}
