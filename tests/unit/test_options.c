/* SPDX-License-Identifier: MIT */
/* options: the -o model shared by the command line, mount.fuse3 and
 * fstab. */
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "envelope.h"
#include "options.h"
#include "test.h"

/* Parse s into a fresh o; returns the code, keeps e's message. */
static int
parse(struct safs_opts *o, const char *s, struct errbuf *e)
{
	options_init(o);
	memset(e, 0, sizeof(*e));
	return options_parse(o, s, e);
}

static void
test_defaults(void)
{
	struct safs_opts o;

	memset(&o, 0x5a, sizeof(o));
	options_init(&o);
	ASSERT_PTR_EQ(o.passfile, NULL);
	ASSERT_INT_EQ(o.passfd, -1);
	ASSERT_PTR_EQ(o.extpass, NULL);
	ASSERT_INT_EQ(o.format, ENVELOPE_AUTO);
	ASSERT_INT_EQ(o.kdf, ENVELOPE_KDF_AUTO);
	ASSERT_PTR_EQ(o.cipher, NULL);
	ASSERT_PTR_EQ(o.md, NULL);
	ASSERT_INT_EQ(o.iter, 0);
	ASSERT_INT_EQ(o.allow_plaintext, 0);
	ASSERT_PTR_EQ(o.audience, NULL);
	ASSERT_INT_EQ(o.token_ttl, 0);
	ASSERT_INT_EQ(o.refresh, 0);
	ASSERT_INT_EQ(o.mode, 0400);
	ASSERT_INT_EQ(o.have_uid + o.have_gid + o.have_mode, 0);
	ASSERT_PTR_EQ(o.fuse, NULL);
	ASSERT_INT_EQ(o.audit + o.nocache + o.watch + o.require_mlock +
	    o.allow_other, 0);
	options_free(&o);
	/* options_free leaves a state safe to free again. */
	options_free(&o);
}

static void
test_every_option(void)
{
	struct safs_opts o;
	struct errbuf e;

	ASSERT_INT_EQ(parse(&o, "passfile=/run/pw,format=openssl,"
	    "cipher=aes-128-cbc,kdf=pbkdf2,md=sha512,iter=1000,"
	    "allow_plaintext,audience=acme.chata.io,user_id=svc-etl,"
	    "project_id=p-123,display_name=BI Team,"
	    "resource_access=/autoql/api/v1/query/**:/autoql/api/v1/x,"
	    "token_ttl=600,refresh=50,config=/etc/safs.json,uid=1234,"
	    "gid=4321,mode=0440,hide=private_key:credentials.json,audit,"
	    "nocache,watch,require_mlock,debug", &e), 0);
	ASSERT_STR_EQ(o.passfile, "/run/pw");
	ASSERT_INT_EQ(o.format, ENVELOPE_OPENSSL);
	ASSERT_STR_EQ(o.cipher, "aes-128-cbc");
	ASSERT_INT_EQ(o.kdf, ENVELOPE_KDF_PBKDF2);
	ASSERT_STR_EQ(o.md, "sha512");
	ASSERT_INT_EQ(o.iter, 1000);
	ASSERT_INT_EQ(o.allow_plaintext, 1);
	ASSERT_STR_EQ(o.audience, "acme.chata.io");
	ASSERT_STR_EQ(o.user_id, "svc-etl");
	ASSERT_STR_EQ(o.project_id, "p-123");
	ASSERT_STR_EQ(o.display_name, "BI Team");
	ASSERT_STR_EQ(o.resource_access,
	    "/autoql/api/v1/query/**:/autoql/api/v1/x");
	ASSERT_INT_EQ(o.token_ttl, 600);
	ASSERT_INT_EQ(o.refresh, 50);
	ASSERT_STR_EQ(o.config, "/etc/safs.json");
	ASSERT_INT_EQ(o.uid, 1234);
	ASSERT_INT_EQ(o.have_uid, 1);
	ASSERT_INT_EQ(o.gid, 4321);
	ASSERT_INT_EQ(o.have_gid, 1);
	ASSERT_INT_EQ(o.mode, 0440);
	ASSERT_INT_EQ(o.have_mode, 1);
	ASSERT_STR_EQ(o.hide, "private_key:credentials.json");
	ASSERT_INT_EQ(o.audit, 1);
	ASSERT_INT_EQ(o.nocache, 1);
	ASSERT_INT_EQ(o.watch, 1);
	ASSERT_INT_EQ(o.require_mlock, 1);
	ASSERT_INT_EQ(o.debug, 1);
	ASSERT_PTR_EQ(o.fuse, NULL);
	ASSERT_INT_EQ(options_validate(&o, &e), 0);
	options_free(&o);

	ASSERT_INT_EQ(parse(&o, "passfd=7,format=age", &e), 0);
	ASSERT_INT_EQ(o.passfd, 7);
	ASSERT_INT_EQ(o.format, ENVELOPE_AGE);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "passfd=0,format=plain,kdf=evp", &e), 0);
	ASSERT_INT_EQ(o.passfd, 0);
	ASSERT_INT_EQ(o.format, ENVELOPE_PLAIN);
	ASSERT_INT_EQ(o.kdf, ENVELOPE_KDF_EVP);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "format=auto,kdf=auto,extpass=/usr/bin/pw "
	    "--name sa", &e), 0);
	ASSERT_INT_EQ(o.format, ENVELOPE_AUTO);
	ASSERT_INT_EQ(o.kdf, ENVELOPE_KDF_AUTO);
	ASSERT_STR_EQ(o.extpass, "/usr/bin/pw --name sa");
	options_free(&o);

	/* mode: octal, read bits only; 444 and 0400 forms. */
	ASSERT_INT_EQ(parse(&o, "mode=444", &e), 0);
	ASSERT_INT_EQ(o.mode, 0444);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "mode=0400", &e), 0);
	ASSERT_INT_EQ(o.mode, 0400);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "mode=040", &e), 0);
	ASSERT_INT_EQ(o.mode, 040);
	options_free(&o);

	/* An empty resource_access= is a valid (empty) claim list. */
	ASSERT_INT_EQ(parse(&o, "resource_access=", &e), 0);
	ASSERT_STR_EQ(o.resource_access, "");
	options_free(&o);

	/* Boundaries. */
	ASSERT_INT_EQ(parse(&o, "refresh=1,token_ttl=1,iter=1", &e), 0);
	ASSERT_INT_EQ(o.refresh, 1);
	ASSERT_INT_EQ(o.token_ttl, 1);
	ASSERT_INT_EQ(o.iter, 1);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "refresh=99,token_ttl=2678400", &e), 0);
	ASSERT_INT_EQ(o.refresh, 99);
	ASSERT_INT_EQ(o.token_ttl, 2678400);
	options_free(&o);
}

static void
test_ids_by_name(void)
{
	struct safs_opts o;
	struct errbuf e;
	struct passwd *pw;
	struct group *gr;

	ASSERT_INT_EQ(parse(&o, "uid=root,gid=root", &e), 0);
	ASSERT_INT_EQ(o.uid, 0);
	ASSERT_INT_EQ(o.gid, 0);
	ASSERT_INT_EQ(o.have_uid, 1);
	ASSERT_INT_EQ(o.have_gid, 1);
	options_free(&o);
	/* Another account of the system database, when there is one. */
	if ((pw = getpwnam("nobody")) != NULL) {
		uid_t want = pw->pw_uid;

		ASSERT_INT_EQ(parse(&o, "uid=nobody", &e), 0);
		ASSERT_INT_EQ(o.uid, want);
		options_free(&o);
	}
	if ((gr = getgrnam("nogroup")) != NULL) {
		gid_t want = gr->gr_gid;

		ASSERT_INT_EQ(parse(&o, "gid=nogroup", &e), 0);
		ASSERT_INT_EQ(o.gid, want);
		options_free(&o);
	}
	ASSERT_INT_EQ(parse(&o, "uid=0,gid=0", &e), 0);
	ASSERT_INT_EQ(o.have_uid, 1);
	ASSERT_INT_EQ(o.uid, 0);
	options_free(&o);

	ASSERT_INT_EQ(parse(&o, "uid=no-such-user-xyzzy", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "no-such-user-xyzzy");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "gid=no-such-group-xyzzy", &e),
	    SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "no-such-group-xyzzy");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "uid=-1", &e), SAFS_ERR_USAGE);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "uid=4294967295", &e), SAFS_ERR_USAGE);
	options_free(&o);
}

static void
test_fuse_passthrough(void)
{
	struct safs_opts o;
	struct errbuf e;

	ASSERT_INT_EQ(parse(&o, "allow_other,auto_unmount,fsname=safs\\,x",
	    &e), 0);
	ASSERT_INT_EQ(o.allow_other, 1);
	/* Collected in order, the comma of the value escaped again so
	 * libfuse's own option parser sees one option. */
	ASSERT_STR_EQ(o.fuse, "allow_other,auto_unmount,fsname=safs\\,x");
	/* A second -o appends. */
	ASSERT_INT_EQ(options_parse(&o, "allow_root,subtype=safs,max_read="
	    "65536,noatime", &e), 0);
	ASSERT_STR_EQ(o.fuse, "allow_other,auto_unmount,fsname=safs\\,x,"
	    "allow_root,subtype=safs,max_read=65536,noatime");
	options_free(&o);
	ASSERT_PTR_EQ(o.fuse, NULL);

	/* A backslash in a pass-through value is escaped too. */
	ASSERT_INT_EQ(parse(&o, "fsname=a\\\\b", &e), 0);
	ASSERT_STR_EQ(o.fuse, "fsname=a\\\\b");
	options_free(&o);

	/* Safs's own options never leak into the pass-through list. */
	ASSERT_INT_EQ(parse(&o, "audience=x,allow_other,hide=a", &e), 0);
	ASSERT_STR_EQ(o.fuse, "allow_other");
	options_free(&o);

	/* Flags take no value, value options need one. */
	ASSERT_INT_EQ(parse(&o, "allow_other=1", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "allow_other");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "fsname", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "fsname");
	options_free(&o);
}

static void
test_mount_vocabulary_ignored(void)
{
	struct safs_opts o;
	struct errbuf e;

	/* What mount.fuse3 and fstab add around the user's options. */
	ASSERT_INT_EQ(parse(&o, "rw,passfile=/p,dev,suid,defaults,noauto,"
	    "nofail,_netdev,x-systemd.automount,x-systemd.requires=a.service,"
	    "comment=x,ro,nodev,nosuid,exec,noexec,auto,user,users,nouser",
	    &e), 0);
	ASSERT_STR_EQ(o.passfile, "/p");
	/* Dropped, not passed to libfuse (safs forces ro,nodev,nosuid). */
	ASSERT_PTR_EQ(o.fuse, NULL);
	ASSERT_INT_EQ(o.allow_other, 0);
	options_free(&o);
	/* Empty items ("a,,b", a trailing comma) are harmless. */
	ASSERT_INT_EQ(parse(&o, ",audit,,watch,", &e), 0);
	ASSERT_INT_EQ(o.audit, 1);
	ASSERT_INT_EQ(o.watch, 1);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "", &e), 0);
	options_free(&o);
}

static void
test_escaped_commas(void)
{
	struct safs_opts o;
	struct errbuf e;

	ASSERT_INT_EQ(parse(&o, "display_name=Acme\\, Inc.,user_id=u\\,1,"
	    "passfile=/a\\,b/pw", &e), 0);
	ASSERT_STR_EQ(o.display_name, "Acme, Inc.");
	ASSERT_STR_EQ(o.user_id, "u,1");
	ASSERT_STR_EQ(o.passfile, "/a,b/pw");
	options_free(&o);
	/* "\\\\" is one backslash. */
	ASSERT_INT_EQ(parse(&o, "display_name=a\\\\b,audit", &e), 0);
	ASSERT_STR_EQ(o.display_name, "a\\b");
	ASSERT_INT_EQ(o.audit, 1);
	options_free(&o);
	/* A later value replaces an earlier one, without leaking it. */
	ASSERT_INT_EQ(parse(&o, "audience=a,audience=b", &e), 0);
	ASSERT_STR_EQ(o.audience, "b");
	options_free(&o);
}

static void
test_secrets_refused(void)
{
	static const char *const secret[] = { "password=hunter2",
		"pass=hunter2", "passphrase=hunter2", "password" };
	struct safs_opts o;
	struct errbuf e;

	for (size_t i = 0; i < sizeof(secret) / sizeof(*secret); i++) {
		ASSERT_INT_EQ(parse(&o, secret[i], &e), SAFS_ERR_USAGE);
		/* Points at the right way, and never echoes the secret. */
		ASSERT_STR_CONTAINS(e.msg, "passfile=");
		ASSERT_STR_NOT_CONTAINS(e.msg, "hunter2");
		options_free(&o);
	}
	/* Also inside a longer list, after valid options. */
	ASSERT_INT_EQ(parse(&o, "audit,passphrase=s3cr3t,watch", &e),
	    SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "passphrase");
	ASSERT_STR_CONTAINS(e.msg, "passfile=");
	ASSERT_STR_NOT_CONTAINS(e.msg, "s3cr3t");
	options_free(&o);
}

static void
test_unknown_option(void)
{
	struct safs_opts o;
	struct errbuf e;

	ASSERT_INT_EQ(parse(&o, "audit,frobnicate=3", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "frobnicate");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "Audit", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "Audit");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "passfile", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "passfile");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "audit=yes", &e), SAFS_ERR_USAGE);
	ASSERT_STR_CONTAINS(e.msg, "audit");
	options_free(&o);
}

static void
test_bad_values(void)
{
	static const struct {
		const char *opt;
		const char *named;	/* the message names this */
	} bad[] = {
		{ "iter=0", "iter" }, { "iter=abc", "iter" },
		{ "iter=-5", "iter" }, { "iter=10x", "iter" },
		{ "iter= 5", "iter" }, { "iter=+5", "iter" },
		{ "iter=99999999999999999999", "iter" },
		{ "refresh=0", "refresh" }, { "refresh=100", "refresh" },
		{ "refresh=80%", "refresh" },
		{ "token_ttl=0", "token_ttl" },
		{ "token_ttl=2678401", "token_ttl" },
		{ "token_ttl=1h", "token_ttl" },
		{ "mode=0600", "mode" }, { "mode=0777", "mode" },
		{ "mode=0", "mode" }, { "mode=0400x", "mode" },
		{ "mode=0800", "mode" }, { "mode=0500", "mode" },
		{ "mode=rw", "mode" }, { "mode=-0400", "mode" },
		{ "passfd=-1", "passfd" }, { "passfd=x", "passfd" },
		{ "format=zip", "format" }, { "format=", "format" },
		{ "kdf=x", "kdf" }, { "kdf=scrypt", "kdf" },
		{ "hide=../x", "hide" }, { "hide=a/b", "hide" },
		{ "hide=a::b", "hide" }, { "hide=", "hide" },
		{ "hide=..", "hide" },
		{ "audience=", "audience" }, { "cipher=", "cipher" },
		{ "uid=", "uid" },
	};
	struct safs_opts o;
	struct errbuf e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int r = parse(&o, bad[i].opt, &e);

		if (r != SAFS_ERR_USAGE)
			TEST_FAIL("options_parse(\"%s\") = %d, want %d",
			    bad[i].opt, r, SAFS_ERR_USAGE);
		ASSERT_STR_CONTAINS(e.msg, bad[i].named);
		options_free(&o);
	}
	/* A refused value leaves the default in place. */
	ASSERT_INT_EQ(parse(&o, "mode=0600", &e), SAFS_ERR_USAGE);
	ASSERT_INT_EQ(o.mode, 0400);
	ASSERT_INT_EQ(o.have_mode, 0);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "passfd=-1", &e), SAFS_ERR_USAGE);
	ASSERT_INT_EQ(o.passfd, -1);
	options_free(&o);
}

static void
test_validate(void)
{
	static const char *const two[] = { "passfile=/p,passfd=3",
		"passfile=/p,extpass=/bin/true", "passfd=3,extpass=/bin/true",
		"passfile=/p,passfd=0,extpass=x" };
	struct safs_opts o;
	struct errbuf e;

	for (size_t i = 0; i < sizeof(two) / sizeof(*two); i++) {
		ASSERT_INT_EQ(parse(&o, two[i], &e), 0);
		ASSERT_INT_EQ(options_validate(&o, &e), SAFS_ERR_USAGE);
		ASSERT_STR_CONTAINS(e.msg, "passfile=");
		ASSERT_STR_CONTAINS(e.msg, "passfd=");
		ASSERT_STR_CONTAINS(e.msg, "extpass=");
		options_free(&o);
	}
	/* The same option twice is one source. */
	ASSERT_INT_EQ(parse(&o, "passfile=/a,passfile=/b", &e), 0);
	ASSERT_INT_EQ(options_validate(&o, &e), 0);
	ASSERT_STR_EQ(o.passfile, "/b");
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "passfd=0", &e), 0);
	ASSERT_INT_EQ(options_validate(&o, &e), 0);
	options_free(&o);
	ASSERT_INT_EQ(parse(&o, "", &e), 0);
	ASSERT_INT_EQ(options_validate(&o, &e), 0);
	options_free(&o);
}

static void
test_list_has(void)
{
	ASSERT_INT_EQ(options_list_has("private_key:credentials.json",
	    "private_key"), 1);
	ASSERT_INT_EQ(options_list_has("private_key:credentials.json",
	    "credentials.json"), 1);
	ASSERT_INT_EQ(options_list_has("a:b:c", "b"), 1);
	ASSERT_INT_EQ(options_list_has("a", "a"), 1);
	/* Whole items only. */
	ASSERT_INT_EQ(options_list_has("private_key:credentials.json",
	    "private"), 0);
	ASSERT_INT_EQ(options_list_has("private_key_id", "private_key"), 0);
	ASSERT_INT_EQ(options_list_has("private_key", "private_key_id"), 0);
	ASSERT_INT_EQ(options_list_has("a:bb", "b"), 0);
	ASSERT_INT_EQ(options_list_has("a:b", "a:b"), 0);
	ASSERT_INT_EQ(options_list_has("abc", "ABC"), 0);
	ASSERT_INT_EQ(options_list_has(NULL, "a"), 0);
	ASSERT_INT_EQ(options_list_has("", "a"), 0);
	ASSERT_INT_EQ(options_list_has("a::b", "b"), 1);
}

static void
test_safe_name(void)
{
	char name[300];

	ASSERT_INT_EQ(options_safe_name("client_email"), 1);
	ASSERT_INT_EQ(options_safe_name("a.b-c_D9"), 1);
	ASSERT_INT_EQ(options_safe_name("..."), 1);
	ASSERT_INT_EQ(options_safe_name(".hidden"), 1);
	ASSERT_INT_EQ(options_safe_name(""), 0);
	ASSERT_INT_EQ(options_safe_name("."), 0);
	ASSERT_INT_EQ(options_safe_name(".."), 0);
	ASSERT_INT_EQ(options_safe_name("a/b"), 0);
	ASSERT_INT_EQ(options_safe_name("/"), 0);
	ASSERT_INT_EQ(options_safe_name("a b"), 0);
	ASSERT_INT_EQ(options_safe_name("a\nb"), 0);
	ASSERT_INT_EQ(options_safe_name("caf\xc3\xa9"), 0);
	ASSERT_INT_EQ(options_safe_name("a:b"), 0);
	ASSERT_INT_EQ(options_safe_name("a\\b"), 0);
	/* NAME_MAX is the limit of one path component. */
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	ASSERT_INT_EQ(options_safe_name(name), 1);
	name[255] = 'n';
	name[256] = '\0';
	ASSERT_INT_EQ(options_safe_name(name), 0);
}

static void
test_parse_ulong(void)
{
	unsigned long v = 77;

	ASSERT_INT_EQ(options_parse_ulong("42", 1, 100, &v), 0);
	ASSERT_INT_EQ(v, 42);
	ASSERT_INT_EQ(options_parse_ulong("1", 1, 1, &v), 0);
	ASSERT_INT_EQ(v, 1);
	v = 77;
	ASSERT_INT_EQ(options_parse_ulong("0", 1, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("101", 1, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("", 0, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("-1", 0, (unsigned long)-1, &v),
	    -1);
	ASSERT_INT_EQ(options_parse_ulong("+1", 0, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong(" 1", 0, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("1 ", 0, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("0x10", 0, 100, &v), -1);
	ASSERT_INT_EQ(options_parse_ulong("99999999999999999999999", 0,
	    (unsigned long)-1, &v), -1);
	/* Failures leave *out alone. */
	ASSERT_INT_EQ(v, 77);
}

int
main(void)
{
	test_init();
	TEST(test_defaults);
	TEST(test_every_option);
	TEST(test_ids_by_name);
	TEST(test_fuse_passthrough);
	TEST(test_mount_vocabulary_ignored);
	TEST(test_escaped_commas);
	TEST(test_secrets_refused);
	TEST(test_unknown_option);
	TEST(test_bad_values);
	TEST(test_validate);
	TEST(test_list_has);
	TEST(test_safe_name);
	TEST(test_parse_ulong);
	return test_done();
}
