/* SPDX-License-Identifier: MIT */
/*
 * safs_bench: the performance table of docs/performance.md.
 *
 * Every row is a ratio of two things measured side by side in this one
 * run, interleaved in alternating batches (ABAB..., the order flipped each
 * round) so that a noisy, shared machine moves both alike; each side's
 * figure is the median over the rounds and the ratio is the median of the
 * per-round ratios. Not a test: it prints numbers, the target of each row
 * and whether it is met. It exits non-zero only when a row could not be
 * measured at all.
 *
 * tests/bench/run.sh makes the fixtures, mounts them and runs this; see
 * there for the arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "creds.h"
#include "jwt.h"
#include "options.h"
#include "secmem.h"

#define MAX_ROWS 32
#define MAX_ROUNDS 64
#define READ_BUF (16 * 1024)
#define MIB (1024.0 * 1024.0)

struct params {
	const char *mnt;	/* the main mount (default options) */
	const char *tmpfs;	/* a tmpfs holding copies of its entries */
	const char *audit_mnt;	/* -o audit, -f, stderr to audit_log */
	const char *audit_log;
	const char *nocache_mnt;	/* -o nocache */
	const char *safs;	/* the safs binary, for mount cycles */
	const char *source;
	const char *passfile;
	const char *audience;
	const char *cycle_dir;	/* fresh mountpoints for mount cycles */
	pid_t pid;		/* the main mount's daemon */
	int quick;

	/* derived from quick */
	int rounds;		/* alternating rounds per file row */
	long batch;		/* open+read+close per batch, cached rows */
	long slow_batch;	/* the same, uncached rows (audit, nocache) */
	int cycles;		/* mount/unmount cycles */
	int mint_rounds;
	int mint_batch;
	int reader_rounds;
	double reader_secs;
};

struct row {
	char what[64];
	char safs[24];
	char base[24];
	char ratio[16];
	char target[16];
	const char *status;
};

static struct row rows[MAX_ROWS];
static int nrows;
static int failed;
static char notes[4096];

/* Helpers. */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: what a computation costs, without the time
 * other processes on a shared machine take the CPU away from it. */
static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	if (n <= 0)
		return 0;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void
fmt_time(char *buf, size_t len, double ns)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void
fmt_rate(char *buf, size_t len, double per_s)
{
	if (per_s >= 1e6)
		snprintf(buf, len, "%.2fM/s", per_s / 1e6);
	else if (per_s >= 1e3)
		snprintf(buf, len, "%.1fk/s", per_s / 1e3);
	else
		snprintf(buf, len, "%.0f/s", per_s);
}

static struct row *
add_row(const char *what)
{
	struct row *r = &rows[nrows < MAX_ROWS ? nrows++ : MAX_ROWS - 1];

	memset(r, 0, sizeof(*r));
	snprintf(r->what, sizeof(r->what), "%s", what);
	snprintf(r->safs, sizeof(r->safs), "-");
	snprintf(r->base, sizeof(r->base), "-");
	snprintf(r->ratio, sizeof(r->ratio), "-");
	snprintf(r->target, sizeof(r->target), "-");
	r->status = "";
	return r;
}

static void
row_error(struct row *r, const char *why)
{
	snprintf(r->safs, sizeof(r->safs), "error");
	r->status = "ERROR";
	failed = 1;
	fprintf(stderr, "safs_bench: %s: %s\n", r->what, why);
}

static void
note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
note(const char *fmt, ...)
{
	size_t n = strlen(notes);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(notes + n, sizeof(notes) - n, fmt, ap);
	va_end(ap);
	n = strlen(notes);
	if (n + 1 < sizeof(notes)) {
		notes[n] = '\n';
		notes[n + 1] = '\0';
	}
}

static void
join_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* open, read to EOF, close: the loop every row times. -1 on error. */
static long
read_file(const char *path, char *buf, size_t cap)
{
	long total = 0;
	ssize_t k;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((k = read(fd, buf, cap)) > 0)
		total += k;
	close(fd);
	return k < 0 ? -1 : total;
}

/*
 * Per-op wall-clock ns of n loops on path, or -1 when a read came back
 * short; per-op CPU ns of this thread into *cpu when not NULL.
 */
static double
time_batch(const char *path, long n, long expect, char *buf, double *cpu)
{
	double t0 = now_ns(), c0 = cpu_ns();

	for (long i = 0; i < n; i++)
		if (read_file(path, buf, READ_BUF) != expect)
			return -1;
	if (cpu != NULL)
		*cpu = (cpu_ns() - c0) / (double)n;
	return (now_ns() - t0) / (double)n;
}

/* A field (VmRSS:, VmHWM:) of /proc/PID/status, in KiB; -1 if absent. */
static long
proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0) {
			kb = strtol(line + flen, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/*
 * Fill r from n paired rounds: the side's figures are the medians of a[]
 * and b[], the ratio the median of the per-round ratios a[i] / b[i]
 * (each round ran both sides back to back, so a machine-wide slowdown
 * cancels out of its ratio).
 */
/* utime + stime of pid in ms (fields 14 and 15 of /proc/PID/stat). */
static double
proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* After the ")" that ends comm: state is field 3. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static void
set_ratio_row(struct row *r, const double *a, const double *b, int n,
    double target, int lower_is_better, int is_rate)
{
	double rr[MAX_ROUNDS], ratio;

	for (int i = 0; i < n; i++)
		rr[i] = b[i] > 0 ? a[i] / b[i] : 0;
	ratio = median(rr, n);
	if (is_rate) {
		fmt_rate(r->safs, sizeof(r->safs), median(a, n));
		fmt_rate(r->base, sizeof(r->base), median(b, n));
	} else {
		fmt_time(r->safs, sizeof(r->safs), median(a, n));
		fmt_time(r->base, sizeof(r->base), median(b, n));
	}
	snprintf(r->ratio, sizeof(r->ratio), "%.2fx", ratio);
	if (target <= 0) {
		r->status = "";
		return;
	}
	snprintf(r->target, sizeof(r->target), "%s%.1fx",
	    lower_is_better ? "<=" : ">=", target);
	if (lower_is_better)
		r->status = ratio <= target ? "ok" : "MISS";
	else
		r->status = ratio >= target ? "ok" : "MISS";
}

/*
 * Rows 1, 2, 7: open+read+close of safs's entry a against tmpfs's b.
 * Returns the number of loops run on a (warm-up included), or -1.
 */
static long
file_row(const struct params *p, const char *what, const char *a,
    const char *b, long batch, double target)
{
	static char buf[READ_BUF];
	struct row *r = add_row(what);
	double ta[MAX_ROUNDS], tb[MAX_ROUNDS], ca[MAX_ROUNDS], cb[MAX_ROUNDS];
	double x, y;
	long la, lb, opens = 0;
	char why[PATH_MAX + 64];

	fprintf(stderr, "safs_bench: %s\n", what);
	/* The first read goes to the daemon; the rest should not. */
	if ((la = read_file(a, buf, sizeof(buf))) < 0 ||
	    (lb = read_file(b, buf, sizeof(buf))) < 0) {
		snprintf(why, sizeof(why), "cannot read %s or %s: %s", a, b,
		    strerror(errno));
		row_error(r, why);
		return -1;
	}
	opens++;
	if (la != lb) {
		snprintf(why, sizeof(why), "%s has %ld bytes, %s %ld", a, la,
		    b, lb);
		row_error(r, why);
		return -1;
	}
	/* Warm-up batch of each. */
	if (time_batch(a, batch, la, buf, NULL) < 0 ||
	    time_batch(b, batch, lb, buf, NULL) < 0) {
		row_error(r, "short read during warm-up");
		return -1;
	}
	opens += batch;
	for (int i = 0; i < p->rounds; i++) {
		if (i % 2 == 0) {
			x = time_batch(a, batch, la, buf, &ca[i]);
			y = time_batch(b, batch, lb, buf, &cb[i]);
		} else {
			y = time_batch(b, batch, lb, buf, &cb[i]);
			x = time_batch(a, batch, la, buf, &ca[i]);
		}
		if (x < 0 || y < 0) {
			row_error(r, "short read");
			return -1;
		}
		opens += batch;
		ta[i] = x;
		tb[i] = y;
	}
	set_ratio_row(r, ta, tb, p->rounds, target, 1, 0);
	if (target > 0) {
		/*
		 * Cached rows: the daemon does nothing (see the daemon CPU
		 * note), so the reader's own CPU time is the whole cost, and
		 * it leaves out the time neighbours take the CPU away.
		 */
		double rr[MAX_ROUNDS];

		for (int i = 0; i < p->rounds; i++)
			rr[i] = cb[i] > 0 ? ca[i] / cb[i] : 0;
		note("%s: %.2fx in thread CPU time (%.1f us vs %.1f us)", what,
		    median(rr, p->rounds), median(ca, p->rounds) / 1e3,
		    median(cb, p->rounds) / 1e3);
	}
	return opens;
}

/* Row 3: mount time against the bare key derivation. */

static int
read_salt_pass(const struct params *p, unsigned char salt[8], char *pass,
    size_t passcap)
{
	unsigned char hdr[16];
	size_t n;
	FILE *f;

	if ((f = fopen(p->source, "rbe")) == NULL)
		return -1;
	n = fread(hdr, 1, sizeof(hdr), f);
	fclose(f);
	if (n != sizeof(hdr) || memcmp(hdr, "Salted__", 8) != 0)
		return -1;
	memcpy(salt, hdr + 8, 8);
	if ((f = fopen(p->passfile, "re")) == NULL)
		return -1;
	if (fgets(pass, (int)passcap, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	pass[strcspn(pass, "\r\n")] = '\0';
	return 0;
}

/* One PBKDF2 as openssl enc -pbkdf2 does it: key + IV of aes-256-cbc. */
static double
time_kdf(const char *pass, const unsigned char salt[8])
{
	unsigned char out[48];
	double t0 = now_ns(), t;

	if (PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, 8, 10000,
	    EVP_sha256(), (int)sizeof(out), out) != 1)
		return -1;
	t = now_ns() - t0;
	OPENSSL_cleanse(out, sizeof(out));
	return t;
}

static int
run_wait(char *const argv[])
{
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
is_mounted(const char *mnt)
{
	char line[PATH_MAX * 2 + 256], dev[256], dir[PATH_MAX + 1];
	int found = 0;
	FILE *f;

	if ((f = fopen("/proc/self/mounts", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%255s %4096s", dev, dir) == 2 &&
		    strcmp(dir, mnt) == 0)
			found = 1;
	fclose(f);
	return found;
}

/* The process whose argv has an argument equal to mnt (the daemon). */
static pid_t
find_daemon(const char *mnt)
{
	char path[64], buf[8192];
	pid_t found = -1, pid;
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int fd;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (found < 0 && (de = readdir(d)) != NULL) {
		if ((pid = (pid_t)strtol(de->d_name, NULL, 10)) <= 0 ||
		    pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *s = buf; s < buf + n; s += strlen(s) + 1)
			if (strcmp(s, mnt) == 0) {
				found = pid;
				break;
			}
	}
	closedir(d);
	return found;
}

static void
unmount_cycle(const char *mnt, pid_t daemon_pid)
{
	char fm[] = "fusermount3", u[] = "-u", um[] = "umount", l[] = "-l";
	char *argv_u[] = { fm, u, (char *)mnt, NULL };
	char *argv_l[] = { um, l, (char *)mnt, NULL };
	double deadline;
	int st;

	if (is_mounted(mnt))
		run_wait(argv_u);
	if (is_mounted(mnt))
		run_wait(argv_l);
	if (daemon_pid <= 0)
		return;
	/* We are the subreaper: the daemon is our child now. */
	deadline = now_ns() + 10e9;
	while (waitpid(daemon_pid, &st, WNOHANG) == 0) {
		if (now_ns() > deadline) {
			kill(daemon_pid, SIGKILL);
			waitpid(daemon_pid, &st, 0);
			break;
		}
		usleep(1000);
	}
}

static void
mount_row(const struct params *p)
{
	struct row *r = add_row("mount time vs PBKDF2 (10000 iter)");
	double tm[MAX_ROUNDS], tk[MAX_ROUNDS * 3], t0, t, km, mm;
	char pass[1024], mnt[PATH_MAX + 32], opts[PATH_MAX + 256];
	char why[PATH_MAX + 128], dash_o[] = "-o";
	unsigned char salt[8];
	int nk = 0, code;
	pid_t dpid;

	fprintf(stderr, "safs_bench: %s\n", r->what);
	if (read_salt_pass(p, salt, pass, sizeof(pass)) != 0) {
		row_error(r, "cannot read the salt or the passphrase");
		return;
	}
	snprintf(opts, sizeof(opts), "passfile=%s,audience=%s", p->passfile,
	    p->audience);
	time_kdf(pass, salt);	/* warm OpenSSL's fetch caches */
	for (int i = 0; i < p->cycles; i++) {
		char *argv[] = { (char *)p->safs, dash_o, opts,
			(char *)p->source, mnt, NULL };

		/* Interleaved: KDFs, then a mount, each cycle. */
		for (int j = 0; j < 3; j++) {
			if ((t = time_kdf(pass, salt)) < 0) {
				row_error(r, "PKCS5_PBKDF2_HMAC failed");
				goto out;
			}
			tk[nk++] = t;
		}
		snprintf(mnt, sizeof(mnt), "%s/m%d", p->cycle_dir, i);
		if (mkdir(mnt, 0700) == -1 && errno != EEXIST) {
			snprintf(why, sizeof(why), "mkdir %s: %s", mnt,
			    strerror(errno));
			row_error(r, why);
			goto out;
		}
		t0 = now_ns();
		code = run_wait(argv);
		t = now_ns() - t0;
		dpid = find_daemon(mnt);
		if (code != 0 || !is_mounted(mnt)) {
			snprintf(why, sizeof(why), "safs exited %d, %s", code,
			    is_mounted(mnt) ? "mounted" : "not mounted");
			unmount_cycle(mnt, dpid);
			rmdir(mnt);
			row_error(r, why);
			goto out;
		}
		tm[i] = t;
		unmount_cycle(mnt, dpid);
		rmdir(mnt);
	}
	/* Medians of all KDF runs and of all mounts. */
	qsort(tk, (size_t)nk, sizeof(*tk), cmp_double);
	km = nk % 2 ? tk[nk / 2] : (tk[nk / 2 - 1] + tk[nk / 2]) / 2;
	mm = median(tm, p->cycles);
	fmt_time(r->safs, sizeof(r->safs), mm);
	fmt_time(r->base, sizeof(r->base), km);
	snprintf(r->ratio, sizeof(r->ratio), "%+.1f ms", (mm - km) / 1e6);
	snprintf(r->target, sizeof(r->target), "<=+50 ms");
	r->status = mm - km <= 50e6 ? "ok" : "MISS";
	note("mount time: %d mount/unmount cycles (safs daemon mode, until "
	    "it returns), median; baseline: %d in-process PKCS5_PBKDF2_HMAC "
	    "(sha256, 10000 iter, 48 bytes), interleaved", p->cycles, nk);
 out:
	OPENSSL_cleanse(pass, sizeof(pass));
}

/* Row 4 and 6d. */
static void
mem_row(const char *what, long kb)
{
	struct row *r = add_row(what);

	if (kb < 0) {
		row_error(r, "cannot read /proc/PID/status");
		return;
	}
	snprintf(r->safs, sizeof(r->safs), "%.1f MiB", (double)kb / 1024.0);
	snprintf(r->target, sizeof(r->target), "<=8 MiB");
	r->status = kb * 1024.0 <= 8 * MIB ? "ok" : "MISS";
}

/* Row 5: one mint against a bare RS256 signature. */

static int
mint_once(struct minter *m, double *ns)
{
	struct secbuf *tok;
	double t0 = cpu_ns();
	int r;

	/* Freeing the token is part of what a mint costs. */
	r = minter_mint(m, time(NULL), &tok);
	secbuf_free(tok);
	*ns += cpu_ns() - t0;
	return r == 0 ? 0 : -1;
}

static int
sign_once(EVP_PKEY *pkey, const unsigned char *in, size_t len, double *ns)
{
	unsigned char sig[ACCOUNT_SIG_MAX];
	size_t siglen = sizeof(sig);
	double t0 = cpu_ns();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    pkey) == 1 && EVP_DigestSign(ctx, sig, &siglen, in, len) == 1;
	EVP_MD_CTX_free(ctx);
	*ns += cpu_ns() - t0;
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/*
 * Round i: a batch of n mints and a batch of n bare signatures, the order
 * flipped every round; per-op ns of each into *a and *b. (Batches, not
 * one-by-one alternation: a bare signature right after a mint costs
 * measurably more than one right after another signature, so strict
 * alternation would bias the ratio.)
 */
static int
mint_round(struct minter *m, EVP_PKEY *pkey, const unsigned char *in,
    size_t len, int n, int i, double *a, double *b)
{
	double ta = 0, tb = 0;

	for (int k = 0; k < 2; k++) {
		if ((k == 0) == (i % 2 == 0)) {
			for (int j = 0; j < n; j++)
				if (mint_once(m, &ta) != 0)
					return -1;
		} else {
			for (int j = 0; j < n; j++)
				if (sign_once(pkey, in, len, &tb) != 0)
					return -1;
		}
	}
	*a = ta / n;
	*b = tb / n;
	return 0;
}

static void
mint_row(const struct params *p)
{
	struct row *r = add_row("one mint vs bare RS256 sign");
	struct safs_opts o;
	struct errbuf e = { { 0 } };
	struct creds *c = NULL;
	struct secbuf *tok = NULL;
	char optstr[PATH_MAX + 256], why[512];
	double ta[MAX_ROUNDS], tb[MAX_ROUNDS], x, y;
	unsigned char *in = NULL;
	EVP_PKEY *pkey;
	const char *dot;
	size_t len;
	int rc;

	fprintf(stderr, "safs_bench: %s\n", r->what);
	/* As the daemon does: secure heap first, then the pipeline. */
	secmem_init(SECMEM_DEFAULT_SIZE);
	secmem_cjson_hooks();
	options_init(&o);
	snprintf(optstr, sizeof(optstr), "passfile=%s,audience=%s",
	    p->passfile, p->audience);
	if ((rc = options_parse(&o, optstr, &e)) != 0 ||
	    (rc = options_validate(&o, &e)) != 0 ||
	    (rc = creds_load(&o, p->source, &c, &e)) != 0) {
		snprintf(why, sizeof(why), "creds_load: %s", err_msg(&e, rc));
		row_error(r, why);
		goto out;
	}
	if (c->config.nprofiles < 1 ||
	    minter_mint(c->minters[0], time(NULL), &tok) != 0) {
		row_error(r, "no token profile or minter_mint failed");
		goto out;
	}
	/* The signing input of a real token: header.payload. */
	if ((dot = strrchr((const char *)secbuf_data(tok), '.')) == NULL) {
		row_error(r, "minted token has no signature part");
		goto out;
	}
	len = (size_t)(dot - (const char *)secbuf_data(tok));
	if ((in = malloc(len)) == NULL) {
		row_error(r, "out of memory");
		goto out;
	}
	memcpy(in, secbuf_data(tok), len);
	/* Warm both paths, then the measured rounds. */
	pkey = account_pkey(c->account);
	if (mint_round(c->minters[0], pkey, in, len, p->mint_batch, 0, &x,
	    &y) != 0) {
		row_error(r, "signing failed");
		goto out;
	}
	for (int i = 0; i < p->mint_rounds; i++)
		if (mint_round(c->minters[0], pkey, in, len, p->mint_batch,
		    i, &ta[i], &tb[i]) != 0) {
			row_error(r, "signing failed");
			goto out;
		}
	set_ratio_row(r, ta, tb, p->mint_rounds, 1.1, 1, 0);
	note("mint: minter_mint on creds_load's minter (RSA-%d, token %zu "
	    "bytes) vs EVP_MD_CTX_new+EVP_DigestSignInit+EVP_DigestSign over "
	    "the same %zu-byte signing input, same EVP_PKEY; %d rounds of a "
	    "batch of %d of each, alternating; thread CPU time "
	    "(CLOCK_THREAD_CPUTIME_ID), immune to preemption by neighbours",
	    account_key_bits(c->account), secbuf_len(tok), len,
	    p->mint_rounds, p->mint_batch);
 out:
	free(in);
	secbuf_free(tok);
	creds_free(c);
	options_free(&o);
}

/* Row 6: concurrent readers. */

struct reader {
	pthread_t th;
	const char *path;
	long expect;
	pthread_barrier_t *bar;
	atomic_int *stop;
	unsigned long ops;
	int err;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	char buf[READ_BUF];

	pthread_barrier_wait(rd->bar);
	while (!atomic_load_explicit(rd->stop, memory_order_relaxed)) {
		if (read_file(rd->path, buf, sizeof(buf)) != rd->expect) {
			rd->err = 1;
			break;
		}
		rd->ops++;
	}
	return NULL;
}

/* Aggregate open+read+close per second of n threads over secs; -1 on
 * error. */
static double
run_readers(const char *path, long expect, int n, double secs)
{
	struct reader *rd = calloc((size_t)n, sizeof(*rd));
	struct timespec ts = { (time_t)secs,
		(long)((secs - (double)(time_t)secs) * 1e9) };
	pthread_barrier_t bar;
	atomic_int stop = 0;
	unsigned long total = 0;
	double t0, t1;
	int started = 0, err = 0;

	if (rd == NULL)
		return -1;
	pthread_barrier_init(&bar, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		rd[i] = (struct reader){ .path = path, .expect = expect,
			.bar = &bar, .stop = &stop };
		if (pthread_create(&rd[i].th, NULL, reader_main, &rd[i]) != 0)
			break;
		started++;
	}
	if (started < n) {
		/* Cannot happen short of resource exhaustion: give up. */
		fprintf(stderr, "safs_bench: pthread_create failed\n");
		exit(1);
	}
	pthread_barrier_wait(&bar);
	t0 = now_ns();
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	t1 = now_ns();
	for (int i = 0; i < n; i++) {
		pthread_join(rd[i].th, NULL);
		total += rd[i].ops;
		err |= rd[i].err;
	}
	pthread_barrier_destroy(&bar);
	free(rd);
	return err ? -1 : (double)total * 1e9 / (t1 - t0);
}

static void
readers_rows(const struct params *p)
{
	static const int counts[] = { 1, 8, 64 };
	static char buf[READ_BUF];
	char a[PATH_MAX], b[PATH_MAX], what[64];
	double ra[MAX_ROUNDS], rb[MAX_ROUNDS], x = 0, y = 0;
	long la, lb, hwm_life, hwm = -1;
	int reset = 0;

	join_path(a, sizeof(a), p->mnt, "token");
	join_path(b, sizeof(b), p->tmpfs, "token");
	la = read_file(a, buf, sizeof(buf));
	lb = read_file(b, buf, sizeof(buf));
	hwm_life = proc_status_kb(p->pid, "VmHWM:");
	for (size_t k = 0; k < sizeof(counts) / sizeof(*counts); k++) {
		int n = counts[k];
		struct row *r;

		snprintf(what, sizeof(what), "token reads/s, %d reader%s", n,
		    n > 1 ? "s" : "");
		r = add_row(what);
		fprintf(stderr, "safs_bench: %s\n", what);
		if (la < 0 || la != lb) {
			row_error(r, "cannot read token, or sizes differ");
			continue;
		}
		if (n == 64) {
			/* Reset the peak so VmHWM covers this run only. */
			FILE *f;
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/clear_refs",
			    (int)p->pid);
			if ((f = fopen(path, "we")) != NULL) {
				reset = fputs("5", f) >= 0;
				reset = (fclose(f) == 0) && reset;
			}
		}
		/* A short warm-up run of each. */
		if (run_readers(a, la, n, p->reader_secs / 4) < 0 ||
		    run_readers(b, lb, n, p->reader_secs / 4) < 0) {
			row_error(r, "short read");
			continue;
		}
		for (int i = 0; i < p->reader_rounds; i++) {
			if (i % 2 == 0) {
				x = run_readers(a, la, n, p->reader_secs);
				y = run_readers(b, lb, n, p->reader_secs);
			} else {
				y = run_readers(b, lb, n, p->reader_secs);
				x = run_readers(a, la, n, p->reader_secs);
			}
			if (x < 0 || y < 0)
				break;
			ra[i] = x;
			rb[i] = y;
		}
		if (x < 0 || y < 0) {
			row_error(r, "short read");
			continue;
		}
		set_ratio_row(r, ra, rb, p->reader_rounds, n > 1 ? 0.8 : 0, 0,
		    1);
		if (n == 64)
			hwm = proc_status_kb(p->pid, "VmHWM:");
	}
	mem_row(reset ? "daemon VmHWM during 64 readers" :
	    "daemon VmHWM (lifetime; no clear_refs)", hwm);
	note("readers: threads looping open+read+close on token for %.2f s "
	    "per run, %d runs of each side alternating (aggregate rate); "
	    "daemon VmHWM over its whole life before that: %.1f MiB",
	    p->reader_secs, p->reader_rounds, (double)hwm_life / 1024.0);
}

static long
count_lines(const char *path, const char *needle)
{
	char line[2048];
	long n = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
print_line(const char *what, const char *safs, const char *base,
    const char *ratio, const char *target, const char *status)
{
	char line[256];
	size_t n;

	snprintf(line, sizeof(line), "%-42s %-11s %-11s %-9s %-9s %s", what,
	    safs, base, ratio, target, status);
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

static void
print_table(const struct params *p)
{
	putchar('\n');
	print_line("what", "safs", "baseline", "ratio", "target", "");
	for (int i = 0; i < nrows; i++)
		print_line(rows[i].what, rows[i].safs, rows[i].base,
		    rows[i].ratio, rows[i].target, rows[i].status);
	printf("\nbaseline: the same loop on a tmpfs file with the same "
	    "content, unless noted; safs and baseline: medians over the "
	    "rounds;\nratio: median of the per-round ratios (rounds "
	    "alternate the two sides); %s mode\n", p->quick ? "QUICK (tiny "
	    "counts, numbers meaningless)" : "full");
	fputs(notes, stdout);
	fflush(stdout);
}

static void
usage(void)
{
	fputs("usage: safs_bench --mnt DIR --tmpfs DIR --pid PID "
	    "--audit-mnt DIR --audit-log FILE\n"
	    "           --nocache-mnt DIR --safs BIN --source FILE "
	    "--passfile FILE\n"
	    "           --audience AUD --cycle-dir DIR [--quick]\n"
	    "Normally run by tests/bench/run.sh.\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "mnt", required_argument, NULL, 'm' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "audit-mnt", required_argument, NULL, 'a' },
		{ "audit-log", required_argument, NULL, 'l' },
		{ "nocache-mnt", required_argument, NULL, 'n' },
		{ "safs", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'S' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "audience", required_argument, NULL, 'A' },
		{ "cycle-dir", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct params p = { .audience = "bench.chata.io" };
	char a[PATH_MAX], b[PATH_MAX];
	long opens, lines_before, lines_after, cached_opens = 0, k;
	double cpu0, cpu1;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			p.mnt = optarg;
			break;
		case 't':
			p.tmpfs = optarg;
			break;
		case 'a':
			p.audit_mnt = optarg;
			break;
		case 'l':
			p.audit_log = optarg;
			break;
		case 'n':
			p.nocache_mnt = optarg;
			break;
		case 's':
			p.safs = optarg;
			break;
		case 'S':
			p.source = optarg;
			break;
		case 'P':
			p.passfile = optarg;
			break;
		case 'A':
			p.audience = optarg;
			break;
		case 'c':
			p.cycle_dir = optarg;
			break;
		case 'p':
			p.pid = (pid_t)strtol(optarg, NULL, 10);
			break;
		case 'q':
			p.quick = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !p.mnt || !p.tmpfs || !p.audit_mnt ||
	    !p.audit_log || !p.nocache_mnt || !p.safs || !p.source ||
	    !p.passfile || !p.cycle_dir || p.pid <= 0)
		usage();
	if (p.quick) {
		p.rounds = 3;
		p.batch = 50;
		p.slow_batch = 20;
		p.cycles = 2;
		p.mint_rounds = 3;
		p.mint_batch = 3;
		p.reader_rounds = 1;
		p.reader_secs = 0.05;
	} else {
		p.rounds = 21;
		p.batch = 5000;
		p.slow_batch = 1000;
		p.cycles = 9;
		p.mint_rounds = 21;
		p.mint_batch = 40;
		p.reader_rounds = 15;
		p.reader_secs = 0.2;
	}
	/* Orphaned safs daemons of the mount cycles become our children. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* Row 4 first: resident memory right after mounting. */
	mem_row("daemon VmRSS after mount", proc_status_kb(p.pid, "VmRSS:"));

	/* The cached rows should cost the daemon nothing at all. */
	cpu0 = proc_cpu_ms(p.pid);
	join_path(a, sizeof(a), p.mnt, "client_email");
	join_path(b, sizeof(b), p.tmpfs, "client_email");
	if ((k = file_row(&p, "static open+read+close (client_email)", a, b,
	    p.batch, 1.3)) > 0)
		cached_opens += k;
	join_path(a, sizeof(a), p.mnt, "private_key");
	join_path(b, sizeof(b), p.tmpfs, "private_key");
	if ((k = file_row(&p, "static open+read+close (private_key)", a, b,
	    p.batch, 1.3)) > 0)
		cached_opens += k;
	join_path(a, sizeof(a), p.mnt, "token");
	join_path(b, sizeof(b), p.tmpfs, "token");
	if ((k = file_row(&p, "token open+read+close", a, b, p.batch,
	    1.3)) > 0)
		cached_opens += k;
	cpu1 = proc_cpu_ms(p.pid);
	if (cpu0 >= 0 && cpu1 >= 0)
		note("daemon CPU time (utime+stime) during the %ld opens of "
		    "the three rows above: %.0f ms", cached_opens,
		    cpu1 - cpu0);

	mount_row(&p);
	mint_row(&p);
	cpu0 = proc_cpu_ms(p.pid);
	readers_rows(&p);
	cpu1 = proc_cpu_ms(p.pid);
	if (cpu0 >= 0 && cpu1 >= 0)
		note("daemon CPU time during the reader runs: %.0f ms",
		    cpu1 - cpu0);

	join_path(a, sizeof(a), p.audit_mnt, "client_email");
	join_path(b, sizeof(b), p.tmpfs, "client_email");
	lines_before = count_lines(p.audit_log, "audit:");
	opens = file_row(&p, "-o audit open+read+close (client_email)", a, b,
	    p.slow_batch, 0);
	lines_after = count_lines(p.audit_log, "audit:");
	if (opens >= 0)
		note("audit: safs -f, stderr to a file (no syslogd here); %ld "
		    "opens logged %ld audit lines", opens,
		    lines_after - lines_before);
	join_path(a, sizeof(a), p.nocache_mnt, "client_email");
	file_row(&p, "-o nocache open+read+close (client_email)", a, b,
	    p.slow_batch, 0);

	print_table(&p);
	return failed;
}
