/* SPDX-License-Identifier: MIT */
/*
 * creds: the whole pipeline (config, source, passphrase, envelope,
 * account, minters) end to end, on files made with the openssl CLI, and
 * the order of its checks (config errors before any passphrase).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "options.h"
#include "passphrase.h"
#include "secmem.h"
#include "test.h"
#include "sa_fixture.h"

#define PASS "creds-Pw-93e1-unique"
#define EMAIL "etl@acme-prod.iam.gserviceaccount.com"
#define KID "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

static char *dir;
static char key[4096], passfile[4096], sajson[4096], encfile[4096];
static char marker[4096], markprog[4096], cfgfile[4096], badcfg[4096];

static void
encrypt(const char *in, const char *out)
{
	char passarg[4200];

	snprintf(passarg, sizeof(passarg), "file:%s", passfile);
	TEST_RUN_OK(NULL, "openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-in",
	    in, "-out", out, "-pass", passarg);
}

static int
load(const char *opts, const char *source, struct creds **cp,
    struct errbuf *e)
{
	struct safs_opts o;
	int r, fds = test_fd_count();

	options_init(&o);
	memset(e, 0, sizeof(*e));
	if (options_parse(&o, opts, e) != 0)
		TEST_FAIL("options %s: %s", opts, e->msg);
	*cp = (struct creds *)cp;
	r = creds_load(&o, source, cp, e);
	options_free(&o);
	if (r != 0)
		ASSERT_PTR_EQ(*cp, NULL);
	else
		ASSERT_PTR_NE(*cp, NULL);
	/* Nothing left open, on success or failure. */
	ASSERT_INT_EQ(test_fd_count(), fds);
	ASSERT_STR_NOT_CONTAINS(e->msg, PASS);
	return r;
}

/* The payload of a token, parsed. */
static cJSON *
payload_of(const struct secbuf *tok)
{
	const char *t = (const char *)secbuf_data(tok);
	const char *d1 = strchr(t, '.'), *d2;
	unsigned char *p;
	size_t n;
	cJSON *j;

	ASSERT_PTR_NE(d1, NULL);
	d2 = strchr(d1 + 1, '.');
	ASSERT_PTR_NE(d2, NULL);
	p = fx_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	ASSERT_PTR_NE(p, NULL);
	j = cJSON_Parse((char *)p);
	free(p);
	ASSERT_PTR_NE(j, NULL);
	return j;
}

static void
test_end_to_end(void)
{
	struct creds *c;
	struct errbuf e;
	struct stat st;
	struct secbuf *tok;
	const unsigned char *j;
	unsigned char *want;
	size_t jlen, wlen;
	char opts[8192];
	cJSON *pl;

	TEST_SNPRINTF(opts, "passfile=%s,audience=acme.chata.io,"
	    "user_id=svc-etl,token_ttl=900", passfile);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), 0);
	/* The account: exactly the JSON that was encrypted. */
	want = test_read_file(sajson, &wlen);
	j = account_json(c->account, &jlen);
	ASSERT_SIZE_T_EQ(jlen, wlen);
	ASSERT_MEM_EQ(j, want, wlen);
	free(want);
	ASSERT_STR_EQ(account_get(c->account, "client_email"), EMAIL);
	ASSERT_INT_EQ(account_key_bits(c->account), 2048);
	/* What was found and what worked. */
	ASSERT_INT_EQ(c->info.format, ENVELOPE_OPENSSL);
	ASSERT_INT_EQ(c->info.salted, 1);
	ASSERT_STR_EQ(c->info.cipher, "aes-256-cbc");
	ASSERT_INT_EQ(c->info.kdf, ENVELOPE_KDF_PBKDF2);
	ASSERT_INT_EQ(c->info.iter, 10000);
	ASSERT_INT_EQ(c->pass_from, PASSPHRASE_FROM_FILE);
	ASSERT_INT_EQ(c->pass_warn, 0);
	ASSERT_INT_EQ(stat(encfile, &st), 0);
	ASSERT_INT_EQ(c->mtime.tv_sec, st.st_mtim.tv_sec);
	ASSERT_INT_EQ(c->mtime.tv_nsec, st.st_mtim.tv_nsec);
	/* One profile, one minter, minting with the options' claims. */
	ASSERT_SIZE_T_EQ(c->config.nprofiles, 1);
	ASSERT_INT_EQ(c->config.has_default, 1);
	ASSERT_PTR_NE(c->minters, NULL);
	ASSERT_PTR_NE(c->minters[0], NULL);
	ASSERT_INT_EQ(minter_ttl(c->minters[0]), 900);
	ASSERT_INT_EQ(minter_mint(c->minters[0], 1764835200, &tok), 0);
	pl = payload_of(tok);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(pl, "aud")->valuestring,
	    "acme.chata.io");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(pl,
	    "user_id")->valuestring, "svc-etl");
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(pl,
	    "iss")->valuestring, EMAIL);
	ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(pl,
	    "project_id")->valuestring, "acme-prod");
	ASSERT_INT_EQ(cJSON_GetObjectItemCaseSensitive(pl,
	    "exp")->valuedouble, 1764835200 + 900);
	cJSON_Delete(pl);
	secbuf_free(tok);
	creds_free(c);
	creds_free(NULL);

	/* No audience: no profiles, no minters, still loads. */
	TEST_SNPRINTF(opts, "passfile=%s", passfile);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c->config.nprofiles, 0);
	ASSERT_INT_EQ(c->config.has_default, 0);
	creds_free(c);
}

static void
test_config_profiles(void)
{
	struct creds *c;
	struct errbuf e;
	char opts[8192];

	TEST_SNPRINTF(opts, "passfile=%s,config=%s", passfile,
	    cfgfile);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), 0);
	ASSERT_SIZE_T_EQ(c->config.nprofiles, 2);
	ASSERT_STR_EQ(minter_name(c->minters[0]), "default");
	ASSERT_STR_EQ(minter_name(c->minters[1]), "reporting");
	ASSERT_INT_EQ(minter_ttl(c->minters[1]), 600);
	creds_free(c);
}

static void
test_passphrase_sources(void)
{
	struct creds *c;
	struct errbuf e;
	char opts[8192], loose[4096];
	int p[2];

	/* passfd: read and closed. */
	ASSERT_INT_EQ(pipe(p), 0);
	ASSERT_INT_EQ(write(p[1], PASS "\n", strlen(PASS) + 1),
	    (ssize_t)strlen(PASS) + 1);
	close(p[1]);
	TEST_SNPRINTF(opts, "passfd=%d", p[0]);
	{
		struct safs_opts o;
		int r;

		options_init(&o);
		ASSERT_INT_EQ(options_parse(&o, opts, &e), 0);
		r = creds_load(&o, encfile, &c, &e);
		options_free(&o);
		if (r != 0)
			TEST_FAIL("creds_load passfd: %d %s", r, e.msg);
	}
	ASSERT_INT_EQ(c->pass_from, PASSPHRASE_FROM_FD);
	ASSERT_INT_EQ(fcntl(p[0], F_GETFD), -1);
	creds_free(c);

	/* A group-readable passfile works, with the warning flag. */
	TEST_PATH(loose, dir, "loose-pw");
	test_write_str(loose, PASS "\n", 0644);
	TEST_SNPRINTF(opts, "passfile=%s", loose);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), 0);
	ASSERT_INT_NE(c->pass_warn & PASSPHRASE_WARN_PERMS, 0);
	creds_free(c);

	/* Wrong passphrase. */
	test_write_str(loose, "not-" PASS "\n", 0600);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_PASSPHRASE);
	ASSERT_STR_CONTAINS(e.msg, "passphrase");
	/* Missing passfile. */
	TEST_PATH(loose, dir, "no-such-pw");
	TEST_SNPRINTF(opts, "passfile=%s", loose);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_NOPASS);
	ASSERT_STR_CONTAINS(e.msg, loose);
}

static int
marker_exists(void)
{
	return access(marker, F_OK) == 0;
}

static void
test_errors_before_passphrase(void)
{
	struct creds *c;
	struct errbuf e;
	char opts[8192], missing[4096];
	char rest[64];
	int p[2];

	/* The passphrase program leaves a marker when it runs: none of the
	 * failures below may get that far. */
	unlink(marker);
	TEST_SNPRINTF(opts, "extpass=%s", markprog);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), 0);
	ASSERT_INT_EQ(c->pass_from, PASSPHRASE_FROM_EXTPASS);
	creds_free(c);
	ASSERT_TRUE(marker_exists());
	ASSERT_INT_EQ(unlink(marker), 0);

	/* Invalid config: reported first. */
	TEST_SNPRINTF(opts, "extpass=%s,config=%s", markprog, badcfg);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_CONFIG);
	ASSERT_STR_CONTAINS(e.msg, "refresh");
	ASSERT_FALSE(marker_exists());
	/* ... even when the passphrase source is broken too. */
	TEST_PATH(missing, dir, "no-such-pw");
	TEST_SNPRINTF(opts, "passfile=%s,config=%s", missing, badcfg);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_CONFIG);
	/* A missing config file too. */
	TEST_SNPRINTF(opts, "passfile=%s,config=%s/none.json",
	    missing, dir);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_CONFIG);
	/* Claims without audience: a usage error, before the passphrase. */
	TEST_SNPRINTF(opts, "extpass=%s,user_id=x", markprog);
	ASSERT_INT_EQ(load(opts, encfile, &c, &e), SAFS_ERR_USAGE);
	ASSERT_FALSE(marker_exists());
	/* passfd is left unread on a config error. */
	ASSERT_INT_EQ(pipe(p), 0);
	ASSERT_INT_EQ(write(p[1], "fdpw\n", 5), 5);
	close(p[1]);
	TEST_SNPRINTF(opts, "passfd=%d,config=%s", p[0], badcfg);
	{
		struct safs_opts o;

		options_init(&o);
		ASSERT_INT_EQ(options_parse(&o, opts, &e), 0);
		ASSERT_INT_EQ(creds_load(&o, encfile, &c, &e),
		    SAFS_ERR_CONFIG);
		options_free(&o);
	}
	ASSERT_INT_EQ(read(p[0], rest, sizeof(rest)), 5);
	close(p[0]);

	/* A missing source, a directory, an empty or unrecognised file:
	 * found before asking for a passphrase. */
	TEST_SNPRINTF(opts, "extpass=%s", markprog);
	ASSERT_INT_EQ(load(opts, missing, &c, &e), SAFS_ERR_SOURCE);
	ASSERT_STR_CONTAINS(e.msg, missing);
	ASSERT_INT_EQ(load(opts, dir, &c, &e), SAFS_ERR_SOURCE);
	ASSERT_STR_CONTAINS(e.msg, "directory");
	{
		char empty[4096], junk[4096];

		TEST_PATH(empty, dir, "empty.enc");
		test_write_file(empty, "", 0, 0600);
		ASSERT_INT_EQ(load(opts, empty, &c, &e), SAFS_ERR_FORMAT);
		TEST_PATH(junk, dir, "junk.enc");
		test_write_str(junk, "\x01\x02 not a known format", 0600);
		ASSERT_INT_EQ(load(opts, junk, &c, &e), SAFS_ERR_FORMAT);
	}
	ASSERT_FALSE(marker_exists());
}

static void
test_plaintext_and_content_errors(void)
{
	struct creds *c;
	struct errbuf e;
	char opts[8192], f[4096], enc[4096];

	/* Plain JSON: never asks for a passphrase. */
	unlink(marker);
	TEST_SNPRINTF(opts, "extpass=%s,allow_plaintext", markprog);
	ASSERT_INT_EQ(load(opts, sajson, &c, &e), 0);
	ASSERT_INT_EQ(c->info.format, ENVELOPE_PLAIN);
	ASSERT_INT_EQ(c->pass_from, PASSPHRASE_FROM_NONE);
	ASSERT_STR_EQ(account_get(c->account, "client_email"), EMAIL);
	creds_free(c);
	TEST_SNPRINTF(opts, "extpass=%s", markprog);
	ASSERT_INT_EQ(load(opts, sajson, &c, &e), SAFS_ERR_PLAINTEXT);
	ASSERT_STR_CONTAINS(e.msg, "allow_plaintext");
	ASSERT_FALSE(marker_exists());

	/* Decrypts, but is not JSON / not a service account. */
	TEST_SNPRINTF(opts, "passfile=%s", passfile);
	TEST_PATH(f, dir, "notjson.txt");
	TEST_PATH(enc, dir, "notjson.enc");
	test_write_str(f, "hello, this is text and not JSON\n", 0600);
	encrypt(f, enc);
	ASSERT_INT_EQ(load(opts, enc, &c, &e), SAFS_ERR_JSON);
	TEST_PATH(f, dir, "nokey.json");
	TEST_PATH(enc, dir, "nokey.enc");
	test_write_str(f, "{\"client_email\":\"" EMAIL "\"}\n", 0600);
	encrypt(f, enc);
	ASSERT_INT_EQ(load(opts, enc, &c, &e), SAFS_ERR_ACCOUNT);
	ASSERT_STR_CONTAINS(e.msg, "private_key");
}

int
main(void)
{
	char *json;

	test_init();
	secmem_cjson_hooks();
	unsetenv("CREDENTIALS_DIRECTORY");
	dir = test_tmpdir_new();
	TEST_PATH(key, dir, "rsa.pem");
	TEST_PATH(passfile, dir, "pw");
	TEST_PATH(sajson, dir, "sa.json");
	TEST_PATH(encfile, dir, "sa.json.enc");
	TEST_PATH(marker, dir, "extpass-ran");
	TEST_PATH(markprog, dir, "extpass.sh");
	TEST_PATH(cfgfile, dir, "safs.json");
	TEST_PATH(badcfg, dir, "bad.json");
	fx_genrsa(key, "2048");
	json = fx_sa_json(key, KID, EMAIL, "acme-prod");
	test_write_str(sajson, json, 0600);
	free(json);
	test_write_str(passfile, PASS "\n", 0600);
	encrypt(sajson, encfile);
	{
		char script[8192];

		snprintf(script, sizeof(script), "#!/bin/sh\n: > '%s'\n"
		    "echo '%s'\n", marker, PASS);
		test_write_str(markprog, script, 0700);
	}
	test_write_str(cfgfile, "{\"audience\":\"acme.chata.io\","
	    "\"profiles\":{\"default\":{\"user_id\":\"svc-etl\"},"
	    "\"reporting\":{\"token_ttl\":600}}}", 0644);
	test_write_str(badcfg, "{\"audience\":\"acme.chata.io\","
	    "\"refresh\":100}", 0644);

	TEST(test_end_to_end);
	TEST(test_config_profiles);
	TEST(test_passphrase_sources);
	TEST(test_errors_before_passphrase);
	TEST(test_plaintext_and_content_errors);

	test_tmpdir_free(dir);
	return test_done();
}
