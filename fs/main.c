/* SPDX-License-Identifier: MIT */
/*
 * safs: mount an encrypted service-account file as a read-only directory.
 *
 *   safs [-f] [-d] [-o OPT[,OPT...]] SOURCE MOUNTPOINT
 *   safs --check [-o ...] SOURCE
 *   safs --info SOURCE
 *   safs --token [-o ...] SOURCE [PROFILE]
 *   safs --help | --version
 */
#include "fs.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "passphrase.h"
#include "source.h"
#include "util.h"

/* Exit codes: stable, documented in --help and safs(8). */
enum {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,	/* out of memory, system error */
	EXIT_USAGE = 2,		/* bad command line, option or config */
	EXIT_SOURCE = 3,	/* source missing, unreadable, too large */
	EXIT_DECRYPT = 4,	/* passphrase wrong/missing, corrupt file */
	EXIT_ACCOUNT = 5,	/* not a usable service account */
	EXIT_MOUNT = 6,		/* mountpoint or FUSE mount failure */
};

enum mode { MODE_MOUNT, MODE_CHECK, MODE_INFO, MODE_TOKEN };

struct cli {
	int mode;
	int foreground;
	int debug;
	struct safs_opts opts;
	char *source;		/* absolute */
	char *mountpoint;	/* absolute */
	const char *profile;
};

static const char usage_text[] =
"usage: safs [-f] [-d] [-o OPT[,OPT...]] SOURCE MOUNTPOINT\n"
"       safs --check [-o OPT,...] SOURCE\n"
"       safs --info SOURCE\n"
"       safs --token [-o OPT,...] SOURCE [PROFILE]\n"
"       safs --help | --version\n"
"\n"
"Mounts the encrypted service-account file SOURCE read-only at MOUNTPOINT;\n"
"its contents are decrypted in memory and never written to disk.\n"
"\n"
"  -f                   stay in the foreground, log to stderr\n"
"  -d                   debug output (implies -f)\n"
"  -o OPT,...           mount options (below; also from mount(8)/fstab)\n"
"  --check              decrypt and validate SOURCE, print a summary\n"
"  --info               print what SOURCE records, without a passphrase\n"
"  --token              print one freshly minted token of PROFILE\n"
"  -h, --help           this help\n"
"  -V, --version        the version\n"
"\n"
"Passphrase (never on the command line):\n"
"  passfile=PATH        first line of PATH\n"
"  passfd=N             first line read from file descriptor N\n"
"  extpass=PROGRAM      first line of PROGRAM's output (no shell)\n"
"  (none)               $CREDENTIALS_DIRECTORY/safs.passphrase, else a\n"
"                       prompt on /dev/tty\n"
"Source format:\n"
"  format=auto|openssl|age|plain   container (auto: by magic bytes)\n"
"  cipher=NAME          openssl enc cipher (default aes-256-cbc)\n"
"  kdf=auto|pbkdf2|evp  key derivation (auto: pbkdf2, then legacy)\n"
"  md=NAME              KDF digest (default sha256; auto also md5)\n"
"  iter=N               PBKDF2 iterations (default 10000)\n"
"  allow_plaintext      accept an unencrypted JSON source\n"
"Tokens:\n"
"  audience=AUD         aud claim; the token entry exists once it is set\n"
"  user_id=ID           user_id claim\n"
"  project_id=ID        project_id claim (default: the account's)\n"
"  display_name=NAME    display_name claim\n"
"  resource_access=P1:P2   resource_access list, ':'-separated\n"
"  token_ttl=SECONDS    token lifetime (default 3600)\n"
"  refresh=PERCENT      re-mint after this share of the lifetime (80)\n"
"  config=PATH          JSON file of defaults and named profiles\n"
"Entries:\n"
"  uid=, gid=           owner of the entries (default: mounting user)\n"
"  mode=MODE            file mode, read bits only (default 0400)\n"
"  hide=NAME:NAME       leave entries out\n"
"Behaviour:\n"
"  audit                every open reaches the daemon and is logged\n"
"  nocache              every read served by the daemon (direct I/O)\n"
"  watch                reload when SOURCE changes (as on SIGHUP)\n"
"  require_mlock        refuse to run when memory cannot be locked\n"
"  debug                the same as -d\n"
"  allow_other, allow_root, auto_unmount, fsname=, subtype=, max_read=,\n"
"  async, sync, dirsync, [no]atime, [no]diratime, [no]relatime,\n"
"  [no]strictatime, [no]lazytime\n"
"                       passed to FUSE; the mount is always\n"
"                       ro,nosuid,nodev,noexec,default_permissions\n"
"\n"
"Exit codes: 0 success, 1 internal error, 2 usage or configuration,\n"
"3 source unreadable, 4 passphrase or decryption, 5 invalid service\n"
"account, 6 mount failure.\n";

static int
exit_code(int r)
{
	switch (r) {
	case SAFS_OK:
		return EXIT_OK;
	case SAFS_ERR_USAGE:
	case SAFS_ERR_CONFIG:
		return EXIT_USAGE;
	case SAFS_ERR_SOURCE:
	case SAFS_ERR_TOO_LARGE:
		return EXIT_SOURCE;
	case SAFS_ERR_FORMAT:
	case SAFS_ERR_UNSUPPORTED:
	case SAFS_ERR_PASSPHRASE:
	case SAFS_ERR_NOPASS:
	case SAFS_ERR_PLAINTEXT:
		return EXIT_DECRYPT;
	case SAFS_ERR_JSON:
	case SAFS_ERR_ACCOUNT:
	case SAFS_ERR_KEY:
	case SAFS_ERR_SIGN:
		return EXIT_ACCOUNT;
	default:
		return EXIT_INTERNAL;
	}
}

static int
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	return code;
}

static int
usage_error(const char *what)
{
	log_error("%s (see safs --help)", what);
	return EXIT_USAGE;
}

/* An absolute path, so reloads work after chdir("/"). */
static int
absolutize(char **p)
{
	char cwd[PATH_MAX], *abs;

	if (*p == NULL || **p == '/')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    asprintf(&abs, "%s/%s", cwd, *p) < 0)
		return -1;
	free(*p);
	*p = abs;
	return 0;
}

/* extpass="./getpass arg": a program named by a relative path. */
static int
relative_program(const char *cmd)
{
	size_t first;

	if (cmd == NULL || *cmd == '/')
		return 0;
	first = strcspn(cmd, " ");
	return memchr(cmd, '/', first) != NULL;
}

static int
parse_cli(int argc, char **argv, struct cli *cli)
{
	const char *pos[3];
	struct errbuf e = { { 0 } };
	int npos = 0, i, r, only_pos = 0;

	memset(cli, 0, sizeof(*cli));
	options_init(&cli->opts);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (npos == 3)
				return usage_error("too many arguments");
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
		} else if (strcmp(a, "--check") == 0) {
			cli->mode = MODE_CHECK;
		} else if (strcmp(a, "--info") == 0) {
			cli->mode = MODE_INFO;
		} else if (strcmp(a, "--token") == 0) {
			cli->mode = MODE_TOKEN;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		} else if (strcmp(a, "-V") == 0 ||
		    strcmp(a, "--version") == 0) {
			printf("safs %s (libfuse %d, %s)\n", SAFS_VERSION,
			    fuse_version(), OpenSSL_version(OPENSSL_VERSION));
			exit(EXIT_OK);
		} else if (strncmp(a, "-o", 2) == 0) {
			const char *v = a[2] != '\0' ? a + 2 : argv[++i];

			if (v == NULL)
				return usage_error("-o needs options");
			if ((r = options_parse(&cli->opts, v, &e)) != 0)
				return usage_error(err_msg(&e, r));
		} else if (a[1] != '-') {
			/* -f, -d, -fd */
			for (const char *f = a + 1; *f != '\0'; f++) {
				if (*f == 'f')
					cli->foreground = 1;
				else if (*f == 'd')
					cli->debug = cli->foreground = 1;
				else {
					char msg[64];

					snprintf(msg, sizeof(msg),
					    "unknown flag -%c", *f);
					return usage_error(msg);
				}
			}
		} else {
			char msg[300];

			snprintf(msg, sizeof(msg), "unknown argument %.200s",
			    a);
			return usage_error(msg);
		}
	}
	if (cli->opts.debug)
		cli->debug = cli->foreground = 1;
	if ((r = options_validate(&cli->opts, &e)) != 0)
		return usage_error(err_msg(&e, r));
	switch (cli->mode) {
	case MODE_MOUNT:
		if (npos != 2)
			return usage_error("expected SOURCE and MOUNTPOINT");
		if ((cli->mountpoint = strdup(pos[1])) == NULL ||
		    absolutize(&cli->mountpoint) != 0)
			return fail(EXIT_INTERNAL, "out of memory");
		break;
	case MODE_TOKEN:
		if (npos < 1 || npos > 2)
			return usage_error("expected SOURCE [PROFILE]");
		cli->profile = npos == 2 ? pos[1] : NULL;
		break;
	default:
		if (npos != 1)
			return usage_error("expected SOURCE");
	}
	if ((cli->source = strdup(pos[0])) == NULL ||
	    absolutize(&cli->source) != 0 ||
	    absolutize(&cli->opts.passfile) != 0 ||
	    absolutize(&cli->opts.config) != 0 ||
	    (relative_program(cli->opts.extpass) &&
	    absolutize(&cli->opts.extpass) != 0))
		return fail(EXIT_INTERNAL, "out of memory");
	return EXIT_OK;
}

/*
 * Before any secret is touched: no core dumps, no ptrace or /proc/PID/mem
 * by same-uid processes, and locked secure memory (after any fork, since
 * memory locks are not inherited).
 */
static int
harden(const struct cli *cli)
{
	struct rlimit rl = { 0, 0 };
	int st;

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return fail(EXIT_INTERNAL, "cannot disable core dumps: %s",
		    strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return fail(EXIT_INTERNAL, "cannot make the process "
		    "non-dumpable: %s", strerror(errno));
	st = secmem_init(SECMEM_DEFAULT_SIZE);
	if (st != SECMEM_LOCKED) {
		if (cli->opts.require_mlock)
			return fail(EXIT_INTERNAL, "cannot lock memory "
			    "(RLIMIT_MEMLOCK is %s) and require_mlock is set",
			    "too low");
		log_warn("cannot lock memory (raise RLIMIT_MEMLOCK, e.g. "
		    "LimitMEMLOCK=); secrets could be swapped out");
	}
	log_debug("secure heap: %s, OpenSSL's allocations %s",
	    st == SECMEM_LOCKED ? "locked" : "not locked",
	    secmem_all_openssl() ? "inside it" : "outside it");
	if (!secmem_lock_all())
		log_debug("memory locked: the secure heap only (no "
		    "CAP_IPC_LOCK, finite RLIMIT_MEMLOCK)");
	secmem_cjson_hooks();
	return EXIT_OK;
}

static int
load(const struct cli *cli, struct creds **cp)
{
	struct errbuf e = { { 0 } };
	int r;

	if ((r = creds_load(&cli->opts, cli->source, cp, &e)) != 0)
		return fail(exit_code(r), "%s", err_msg(&e, r));
	if ((*cp)->pass_warn & PASSPHRASE_WARN_PERMS)
		log_warn("passfile %s is readable by group or others",
		    cli->opts.passfile);
	if ((*cp)->info.format == ENVELOPE_PLAIN)
		log_warn("%s is not encrypted (allow_plaintext)", cli->source);
	return EXIT_OK;
}

static int
run_info(const struct cli *cli)
{
	struct envelope_info info;
	struct errbuf e = { { 0 } };
	struct secbuf *raw = NULL;
	int r;

	if ((r = source_read(cli->source, SOURCE_MAX, &raw, NULL, &e)) != 0 ||
	    (r = envelope_inspect(secbuf_data(raw), secbuf_len(raw),
	    cli->opts.format, &info, &e)) != 0) {
		secbuf_free(raw);
		return fail(exit_code(r), "%s", err_msg(&e, r));
	}
	printf("source: %s\n", cli->source);
	printf("size: %zu bytes\n", secbuf_len(raw));
	printf("format: %s\n", envelope_format_name(info.format));
	if (info.format == ENVELOPE_OPENSSL) {
		printf("encoding: %s\n", info.armored ? "base64 (openssl enc "
		    "-a)" : "binary");
		if (info.salted) {
			printf("salt: ");
			for (int i = 0; i < 8; i++)
				printf("%02x", info.salt[i]);
			printf("\n");
		} else {
			printf("salt: none (openssl enc -nosalt)\n");
		}
		printf("ciphertext: %zu bytes\n", info.data_len);
		printf("note: openssl enc records neither cipher nor key "
		    "derivation; safs tries cipher=%s with pbkdf2 (%s, %d "
		    "iterations), then EVP_BytesToKey (sha256, md5)\n",
		    cli->opts.cipher ? cli->opts.cipher :
		    ENVELOPE_DEFAULT_CIPHER, ENVELOPE_DEFAULT_MD,
		    ENVELOPE_DEFAULT_ITER);
	} else if (info.format == ENVELOPE_AGE) {
		printf("encoding: %s\n", info.armored ? "armoured" :
		    "binary");
		printf("recipient: passphrase (scrypt, work factor %d)\n",
		    info.log_n);
		printf("payload: %zu bytes (ChaCha20-Poly1305)\n",
		    info.data_len);
	} else if (info.format == ENVELOPE_PLAIN) {
		printf("encryption: none (needs allow_plaintext)\n");
	}
	secbuf_free(raw);
	return EXIT_OK;
}

static int
run_check(const struct cli *cli)
{
	struct creds *c = NULL;
	const struct account *a;
	const char *s;
	int code;

	if ((code = harden(cli)) != EXIT_OK || (code = load(cli, &c)) != 0)
		return code;
	a = c->account;
	printf("source: %s\n", cli->source);
	printf("format: %s%s\n", envelope_format_name(c->info.format),
	    c->info.armored ? " (base64)" : "");
	if (c->info.format != ENVELOPE_PLAIN) {
		printf("cipher: %s\n", c->info.cipher);
		if (c->info.format == ENVELOPE_AGE)
			printf("kdf: scrypt (work factor %d)\n",
			    c->info.log_n);
		else if (c->info.kdf == ENVELOPE_KDF_PBKDF2)
			printf("kdf: pbkdf2 (%s, %lu iterations)\n",
			    c->info.md, c->info.iter);
		else
			printf("kdf: evp (legacy EVP_BytesToKey, %s)\n",
			    c->info.md);
	}
	printf("client_email: %s\n", account_get(a, "client_email"));
	printf("project_id: %s\n", (s = account_get(a, "project_id")) ?
	    s : "-");
	printf("private_key_id: %s\n", (s = account_get(a,
	    "private_key_id")) ? s : "-");
	printf("key: RSA %d bits\n", account_key_bits(a));
	printf("entries:");
	for (size_t i = 0; i < account_nentries(a); i++)
		printf(" %s", account_entry(a, i)->name);
	printf(" credentials.json public_key.pem jwks.json\n");
	for (size_t i = 0; i < c->config.nprofiles; i++) {
		const struct token_profile *p = &c->config.profiles[i];

		printf("token %s: aud=%s ttl=%ld refresh=%d%%\n", p->name,
		    p->audience, p->ttl, p->refresh);
	}
	creds_free(c);
	return EXIT_OK;
}

static int
run_token(const struct cli *cli)
{
	const char *want = cli->profile ? cli->profile :
	    CONFIG_DEFAULT_PROFILE;
	struct creds *c = NULL;
	struct secbuf *tok = NULL;
	size_t i;
	int code, r;

	if ((code = harden(cli)) != EXIT_OK || (code = load(cli, &c)) != 0)
		return code;
	for (i = 0; i < c->config.nprofiles; i++)
		if (strcmp(c->config.profiles[i].name, want) == 0)
			break;
	if (i == c->config.nprofiles) {
		code = c->config.nprofiles == 0 && cli->profile == NULL ?
		    fail(EXIT_USAGE, "no token configured: give -o "
		    "audience= or config=") :
		    fail(EXIT_USAGE, "no token profile '%s'", want);
		creds_free(c);
		return code;
	}
	if ((r = minter_mint(c->minters[i], time(NULL), &tok)) != 0) {
		creds_free(c);
		return fail(exit_code(r), "minting token %s: %s", want,
		    safs_strerror(r));
	}
	daemon_check_clock();
	secbuf_data(tok)[secbuf_len(tok)] = '\n';
	if (write(STDOUT_FILENO, secbuf_data(tok), secbuf_len(tok) + 1) !=
	    (ssize_t)secbuf_len(tok) + 1)
		code = fail(EXIT_INTERNAL, "writing the token: %s",
		    strerror(errno));
	secbuf_data(tok)[secbuf_len(tok)] = '\0';
	secbuf_free(tok);
	creds_free(c);
	return code;
}

static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt,
    va_list ap) __attribute__((format(printf, 2, 0)));

static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg((int)level, "fuse: %s", msg);
}

/*
 * Fork before any secret exists: the child does all the work and tells
 * the waiting parent its exit code once mounted (or failed), so the
 * parent's exit status is the mount's and errors reach the terminal.
 */
static int
daemonize_early(int *statusfd)
{
	int p[2];
	pid_t pid;
	unsigned char code;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return fail(EXIT_INTERNAL, "cannot fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		*statusfd = p[1];
		return -1;	/* in the child: carry on */
	}
	close(p[1]);
	while ((n = read(p[0], &code, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(code);
	/* The child died before reporting. */
	waitpid(pid, NULL, WNOHANG);
	_exit(EXIT_INTERNAL);
}

static void
report(int *statusfd, int code)
{
	unsigned char c = (unsigned char)code;

	if (*statusfd < 0)
		return;
	if (write(*statusfd, &c, 1) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(*statusfd);
	*statusfd = -1;
}

static void
detach(void)
{
	int fd;

	setsid();
	if (chdir("/") == -1) {
		/* "/" always exists */
	}
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_init(1, log_debug_enabled());
}

static int
run_mount(struct cli *cli)
{
	struct fs_settings set = { 0 };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct secbuf **tokens = NULL;
	struct daemon *d = NULL;
	struct creds *c = NULL;
	struct fs *fs = NULL;
	int64_t *refresh = NULL;
	time_t *iats = NULL;
	char *fsname = NULL, *mopts = NULL;
	struct stat st;
	int statusfd = -1, code, r, mounted = 0, stuck = 0;
	sigset_t sigs;
	size_t n;

	if (stat(cli->mountpoint, &st) == -1)
		return fail(EXIT_MOUNT, "mountpoint %s: %s", cli->mountpoint,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(EXIT_MOUNT, "mountpoint %s is not a directory",
		    cli->mountpoint);
	if (!cli->foreground && (code = daemonize_early(&statusfd)) >= 0)
		return code;
	if ((code = harden(cli)) != EXIT_OK || (code = load(cli, &c)) != 0)
		goto out;
	n = c->config.nprofiles;
	if (n > 0)
		daemon_check_clock();

	set.uid = cli->opts.have_uid ? cli->opts.uid : getuid();
	set.gid = cli->opts.have_gid ? cli->opts.gid : getgid();
	set.mode = cli->opts.mode;
	set.hide = cli->opts.hide;
	set.audit = cli->opts.audit;
	set.nocache = cli->opts.nocache;
	if ((fs = fs_new(&set)) == NULL ||
	    (tokens = calloc(n + 1, sizeof(*tokens))) == NULL ||
	    (iats = calloc(n + 1, sizeof(*iats))) == NULL ||
	    (refresh = calloc(n + 1, sizeof(*refresh))) == NULL) {
		code = fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = daemon_mint_all(c, tokens, iats, refresh)) != 0) {
		code = fail(exit_code(r), "minting tokens: %s",
		    safs_strerror(r));
		goto out;
	}
	if ((r = fs_populate(fs, c, tokens, iats, refresh)) != 0) {
		code = fail(exit_code(r), "%s", safs_strerror(r));
		goto out;
	}
	{
		char unmatched[512];

		fs_unmatched_hides(fs, unmatched, sizeof(unmatched));
		if (unmatched[0] != '\0')
			log_warn("hide=: no entry named %s", unmatched);
	}

	if ((fsname = util_escape_opt(cli->source)) == NULL ||
	    asprintf(&mopts, "ro,nosuid,nodev,noexec,default_permissions,"
	    "fsname=%s,subtype=safs%s%s", fsname, cli->opts.fuse ? "," : "",
	    cli->opts.fuse ? cli->opts.fuse : "") < 0) {
		mopts = NULL;
		code = fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	if (fuse_opt_add_arg(&args, "safs") != 0 ||
	    fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, mopts) != 0 ||
	    (cli->debug && fuse_opt_add_arg(&args, "-d") != 0)) {
		code = fail(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	fuse_set_log_func(fuse_log_to_ours);
	if ((se = fuse_session_new(&args, fs_ops(), sizeof(*fs_ops()), fs)) ==
	    NULL) {
		code = fail(EXIT_USAGE, "FUSE refused the mount options");
		goto out;
	}
	/* From here on SIGINT/SIGTERM/SIGHUP wait for the daemon's thread,
	 * which takes them through signalfd (see daemon.c). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (fuse_session_mount(se, cli->mountpoint) != 0) {
		code = fail(EXIT_MOUNT, "cannot mount on %s",
		    cli->mountpoint);
		goto out;
	}
	mounted = 1;
	fs_set_session(fs, se);
	if ((r = daemon_start(&d, fs, se, c, iats, &cli->opts,
	    cli->source)) != 0) {
		c = NULL;	/* daemon_start() freed it */
		code = fail(EXIT_INTERNAL, "cannot start: %s",
		    safs_strerror(r));
		goto out;
	}
	c = NULL;		/* the daemon owns the credentials now */
	if (!cli->foreground)
		detach();
	/* Silent on the terminal when daemonized: success says nothing. */
	log_info("mounted %s on %s", cli->source, cli->mountpoint);
	if (cli->opts.audit && log_async_start() != 0)
		log_warn("audit lines are written synchronously (cannot "
		    "start the log thread)");
	log_debug("secure heap in use: %zu bytes", CRYPTO_secure_used());
	report(&statusfd, EXIT_OK);
	notify_send("READY=1\nSTATUS=mounted");

	code = fuse_session_loop(se) < 0 ? EXIT_INTERNAL : EXIT_OK;
	log_async_stop();	/* every audit line written */
	notify_send("STOPPING=1");
	log_info("unmounting %s", cli->mountpoint);
 out:
	/* Before the fs its worker publishes to. */
	stuck = daemon_stop(d) != 0;
	if (mounted)
		fuse_session_unmount(se);
	if (se != NULL)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	if (tokens != NULL)
		for (size_t i = 0; i < n; i++)
			secbuf_free(tokens[i]);
	free(tokens);
	free(iats);
	free(refresh);
	free(fsname);
	free(mopts);
	fs_free(fs);
	creds_free(c);
	report(&statusfd, code);
	if (stuck)
		_exit(code);	/* a reload thread still borrows the options */
	return code;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	int code;

	log_init(0, 0);
	if ((code = parse_cli(argc, argv, &cli)) != EXIT_OK)
		goto out;
	log_init(0, cli.debug);
	switch (cli.mode) {
	case MODE_INFO:
		code = run_info(&cli);
		break;
	case MODE_CHECK:
		code = run_check(&cli);
		break;
	case MODE_TOKEN:
		code = run_token(&cli);
		break;
	default:
		code = run_mount(&cli);
	}
 out:
	options_free(&cli.opts);
	free(cli.source);
	free(cli.mountpoint);
	return code;
}
