/* SPDX-License-Identifier: MIT */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "util.h"

#define ROOT_INO FUSE_ROOT_ID	/* 1 */
#define TOKENS_INO 2
#define FIRST_INO 3
#define HASH_SIZE 256
/* Contents never change under an inode, so the kernel may keep them as
 * long as it likes; a change is a new inode and an invalidation. */
#define STATIC_TIMEOUT (365.0 * 86400)

struct node {
	fuse_ino_t ino;
	uint64_t nlookup;	/* the kernel's references */
	unsigned links;		/* directory slots naming it */
	int is_dir;
	struct node *hnext;
	struct secbuf *data;	/* files: the content, immutable */
	struct timespec mtime;
	int64_t refresh_ms;	/* tokens: when a successor is due; else 0 */
	char *path;		/* "token", "tokens/x": for audit lines */
};

struct slot {
	char *name;
	struct node *node;
};

struct dir {
	struct node *node;
	struct slot *v;
	size_t n;
};

struct fs {
	pthread_mutex_t lock;
	struct fuse_session *se;
	struct fs_settings set;
	char *hide;
	char *unmatched;
	struct node *hash[HASH_SIZE];
	uint64_t next_ino;
	struct node rootnode, tokensnode;
	struct dir root, tokens;
	int has_tokens;
	size_t nnodes;
	uint64_t nbytes;
	int no_open;		/* zero-message opens (FUSE_CAP_NO_OPEN_SUPPORT) */
	int no_opendir;
};

static struct fs *
req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void
hash_add(struct fs *fs, struct node *n)
{
	struct node **b = &fs->hash[n->ino % HASH_SIZE];

	n->hnext = *b;
	*b = n;
	fs->nnodes++;
	fs->nbytes += n->data ? secbuf_len(n->data) : 0;
}

static struct node *
hash_find(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	if (ino == ROOT_INO)
		return &fs->rootnode;
	if (ino == TOKENS_INO)
		return fs->has_tokens ? &fs->tokensnode : NULL;
	for (n = fs->hash[ino % HASH_SIZE]; n != NULL; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void
node_destroy(struct node *n)
{
	secbuf_free(n->data);
	free(n->path);
	free(n);
}

/* Free a file node nobody names and the kernel has forgotten. */
static void
maybe_free(struct fs *fs, struct node *n)
{
	struct node **p;

	if (n->is_dir || n->links > 0 || n->nlookup > 0)
		return;
	for (p = &fs->hash[n->ino % HASH_SIZE]; *p != NULL; p = &(*p)->hnext)
		if (*p == n) {
			*p = n->hnext;
			break;
		}
	fs->nnodes--;
	fs->nbytes -= n->data ? secbuf_len(n->data) : 0;
	node_destroy(n);
}

static double
node_timeout(const struct node *n)
{
	double t;

	if (n->refresh_ms == 0)
		return STATIC_TIMEOUT;
	/*
	 * Invalidation retires a token's name at rotation; the timeout is a
	 * second line of defence, ending the kernel's trust in the name a
	 * little after its successor is due.
	 */
	t = (double)(n->refresh_ms - util_now_ms()) / 1000.0 + 1.0;
	return t < 0.1 ? 0.1 : t;
}

static void
node_stat(const struct fs *fs, const struct node *n, struct stat *st)
{
	mode_t dmode = fs->set.mode | ((fs->set.mode & 0444) >> 2);

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->set.uid;
	st->st_gid = fs->set.gid;
	st->st_atim = st->st_mtim = st->st_ctim = n->mtime;
	st->st_blksize = 4096;
	if (n->is_dir) {
		st->st_mode = S_IFDIR | dmode;
		st->st_nlink = 2 + (n->ino == ROOT_INO && fs->has_tokens);
		st->st_size = 4096;
	} else {
		st->st_mode = S_IFREG | fs->set.mode;
		st->st_nlink = n->links > 0 ? n->links : 1;
		st->st_size = (off_t)secbuf_len(n->data);
		st->st_blocks = (st->st_size + 511) / 512;
	}
}

static struct dir *
find_dir(struct fs *fs, fuse_ino_t ino)
{
	if (ino == ROOT_INO)
		return &fs->root;
	if (ino == TOKENS_INO && fs->has_tokens)
		return &fs->tokens;
	return NULL;
}

static struct node *
dir_lookup(const struct dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return d->v[i].node;
	return NULL;
}

/* Operations. Each answers from memory under a lock held for
 * microseconds; nothing here waits on I/O or on signing. */

static void
safs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	if ((conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) && !fs->set.audit &&
	    !fs->set.nocache)
		fs->no_open = 1;
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)
		fs->no_opendir = 1;
	/* Contents never change under an inode: no mtime-driven purges. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	log_debug("no_open=%d no_opendir=%d", fs->no_open, fs->no_opendir);
}

static void
safs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct dir *d;
	struct node *n = NULL;

	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&fs->lock);
	if ((d = find_dir(fs, parent)) != NULL &&
	    (n = dir_lookup(d, name)) != NULL) {
		n->nlookup++;
		e.ino = n->ino;
		e.generation = 1;
		node_stat(fs, n, &e.attr);
		e.attr_timeout = e.entry_timeout = node_timeout(n);
	}
	pthread_mutex_unlock(&fs->lock);
	if (n == NULL) {
		/* tokens/ gone with a reload is ENOENT, like its names. */
		fuse_reply_err(req, d == NULL && parent != TOKENS_INO ?
		    ENOTDIR : ENOENT);
		return;
	}
	if (fuse_reply_entry(req, &e) != 0) {
		/* The kernel never took the reference. */
		pthread_mutex_lock(&fs->lock);
		n->nlookup--;
		maybe_free(fs, n);
		pthread_mutex_unlock(&fs->lock);
	}
}

static void
forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = hash_find(fs, ino);

	if (n == NULL || n->is_dir)
		return;
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	maybe_free(fs, n);
}

static void
safs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void
safs_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *forgets)
{
	struct fs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void
safs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n;
	struct stat st;
	double t = 0;

	(void)fi;
	pthread_mutex_lock(&fs->lock);
	if ((n = hash_find(fs, ino)) != NULL) {
		node_stat(fs, n, &st);
		t = node_timeout(n);
	}
	pthread_mutex_unlock(&fs->lock);
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, t);
}

static void
audit_open(fuse_req_t req, const struct node *n)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[64], comm[64] = "?", quoted[128];
	struct timespec ts;
	struct tm tm;
	char when[32];
	ssize_t k;
	size_t i;
	int fd;

	/* procfs answers from kernel memory: no wait on any disk. */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)ctx->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		if ((k = read(fd, comm, sizeof(comm) - 1)) > 0) {
			comm[k] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
		}
		close(fd);
	}
	/* The reader names itself: quote it, escaping what would end or
	 * bend the quotes (the log escapes control bytes). */
	for (k = 0, i = 0; comm[i] != '\0' && (size_t)k + 5 < sizeof(quoted);
	     i++) {
		if (comm[i] == '"' || comm[i] == '\\')
			k += snprintf(quoted + k, sizeof(quoted) - (size_t)k,
			    "\\x%02x", (unsigned char)comm[i]);
		else
			quoted[k++] = comm[i];
	}
	quoted[k] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* Queued, never written here: a slow log must not stall opens. */
	log_msg_async(LOG_AUTHPRIV | LOG_NOTICE, "audit: time=%s.%03ldZ "
	    "entry=%s pid=%d uid=%u gid=%u comm=\"%s\"", when,
	    ts.tv_nsec / 1000000, n->path, (int)ctx->pid, (unsigned)ctx->uid,
	    (unsigned)ctx->gid, quoted);
}

static void
safs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct node *n;

	if (fs->no_open) {
		/* Success, and the kernel stops asking: zero-message opens. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	n = hash_find(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->is_dir) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* Outside the lock: the kernel's reference keeps n alive. */
	if (fs->set.audit)
		audit_open(req, n);
	fi->keep_cache = !fs->set.nocache;
	fi->direct_io = fs->set.nocache;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void
safs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	const unsigned char *data = NULL;
	struct node *n;
	size_t len = 0;

	(void)fi;
	pthread_mutex_lock(&fs->lock);
	if ((n = hash_find(fs, ino)) != NULL && !n->is_dir) {
		data = secbuf_data(n->data);
		len = secbuf_len(n->data);
	}
	pthread_mutex_unlock(&fs->lock);
	/*
	 * Replying outside the lock is safe: a file the kernel reads holds
	 * a lookup reference, and a node is freed only once it has none.
	 */
	if (n == NULL || n->is_dir) {
		fuse_reply_err(req, n == NULL ? ENOENT : EISDIR);
		return;
	}
	if (off < 0 || (uint64_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	fuse_reply_buf(req, (const char *)data + off, size);
}

static void
safs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
safs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);

	(void)ino;
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void
safs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs *fs = req_fs(req);
	struct stat st;
	struct dir *d;
	char *buf;
	size_t pos = 0, k, total;
	off_t i;

	(void)fi;
	if (size > 128 * 1024)
		size = 128 * 1024;
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if ((d = find_dir(fs, ino)) == NULL) {
		pthread_mutex_unlock(&fs->lock);
		free(buf);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	total = d->n + 2;
	memset(&st, 0, sizeof(st));
	for (i = off < 0 ? 0 : off; (size_t)i < total; i++) {
		const char *name;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? ino : ROOT_INO;
			st.st_mode = S_IFDIR;
		} else {
			name = d->v[i - 2].name;
			st.st_ino = d->v[i - 2].node->ino;
			st.st_mode = d->v[i - 2].node->is_dir ? S_IFDIR :
			    S_IFREG;
		}
		k = fuse_add_direntry(req, buf + pos, size - pos, name, &st,
		    i + 1);
		if (k > size - pos)
			break;
		pos += k;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void
safs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = req_fs(req);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	pthread_mutex_lock(&fs->lock);
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = (fs->nbytes + 4095) / 4096;
	sv.f_files = fs->nnodes + 1 + fs->has_tokens;
	pthread_mutex_unlock(&fs->lock);
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

/* Read-only means it: whatever the kernel lets through is refused. */

static void
safs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void
safs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EROFS);
}

static void
safs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EROFS);
}

static void
safs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void
safs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void
safs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void
safs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EROFS);
}

static void
safs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void
safs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void
safs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void
safs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void
safs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
    off_t length, struct fuse_file_info *fi)
{
	(void)ino;
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

/*
 * flush, getxattr and listxattr are left out: libfuse answers ENOSYS and
 * the kernel stops sending them, so close() costs no round trip.
 */
static const struct fuse_lowlevel_ops safs_ops = {
	.init = safs_init,
	.lookup = safs_lookup,
	.forget = safs_forget,
	.forget_multi = safs_forget_multi,
	.getattr = safs_getattr,
	.open = safs_open,
	.read = safs_read,
	.release = safs_release,
	.opendir = safs_opendir,
	.readdir = safs_readdir,
	.statfs = safs_statfs,
	.setattr = safs_setattr,
	.mknod = safs_mknod,
	.mkdir = safs_mkdir,
	.unlink = safs_unlink,
	.rmdir = safs_unlink,
	.symlink = safs_symlink,
	.rename = safs_rename,
	.link = safs_link,
	.write = safs_write,
	.create = safs_create,
	.setxattr = safs_setxattr,
	.removexattr = safs_removexattr,
	.fallocate = safs_fallocate,
};

const struct fuse_lowlevel_ops *
fs_ops(void)
{
	return &safs_ops;
}

/* Building and swapping the tree. */

struct fs *
fs_new(const struct fs_settings *s)
{
	struct fs *fs = calloc(1, sizeof(*fs));

	if (fs == NULL)
		return NULL;
	fs->set = *s;
	if (s->hide != NULL && (fs->hide = strdup(s->hide)) == NULL) {
		free(fs);
		return NULL;
	}
	fs->set.hide = fs->hide;
	pthread_mutex_init(&fs->lock, NULL);
	fs->next_ino = FIRST_INO;
	fs->rootnode.ino = ROOT_INO;
	fs->rootnode.is_dir = 1;
	fs->tokensnode.ino = TOKENS_INO;
	fs->tokensnode.is_dir = 1;
	fs->root.node = &fs->rootnode;
	fs->tokens.node = &fs->tokensnode;
	return fs;
}

void
fs_set_session(struct fs *fs, struct fuse_session *se)
{
	pthread_mutex_lock(&fs->lock);
	fs->se = se;
	pthread_mutex_unlock(&fs->lock);
}

static void
slots_free(struct slot *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* New file node holding its own copy of len bytes (or taking buf). */
static struct node *
node_new(struct fs *fs, const char *path, const void *p, size_t len,
    struct secbuf *buf, const struct timespec *mtime)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->path = strdup(path)) == NULL ||
	    (buf == NULL && (buf = secbuf_dup(p, len)) == NULL)) {
		if (n != NULL)
			free(n->path);
		free(n);
		return NULL;
	}
	n->data = buf;
	n->mtime = *mtime;
	n->ino = fs->next_ino++;
	return n;
}

static int
add_slot(struct slot **v, size_t *n, const char *name, struct node *node)
{
	struct slot *t = reallocarray(*v, *n + 1, sizeof(**v));

	if (t == NULL)
		return -1;
	*v = t;
	if ((t[*n].name = strdup(name)) == NULL)
		return -1;
	t[*n].node = node;
	if (!node->is_dir)
		node->links++;
	(*n)++;
	return 0;
}

static void
invalidate_dir(struct fuse_session *se, fuse_ino_t ino, struct slot *v,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_entry(se, ino, v[i].name,
		    strlen(v[i].name));
}

/* Drop a directory's old slots; their nodes go once forgotten. */
static void
release_slots(struct fs *fs, struct slot *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].node->is_dir) {
			v[i].node->links--;
			maybe_free(fs, v[i].node);
		}
	}
}

static int
hidden(const struct fs *fs, const char *name)
{
	return options_list_has(fs->hide, name);
}

/* Every name the source offers, hidden or not: what hide= may name. */
static int
known_name(const struct creds *c, const char *name)
{
	const struct account *a = c->account;

	for (size_t i = 0; i < account_nentries(a); i++)
		if (strcmp(account_entry(a, i)->name, name) == 0)
			return 1;
	return strcmp(name, "credentials.json") == 0 ||
	    strcmp(name, "public_key.pem") == 0 ||
	    strcmp(name, "jwks.json") == 0 ||
	    (strcmp(name, "token") == 0 && c->config.has_default) ||
	    (strcmp(name, "tokens") == 0 && c->config.nprofiles > 0);
}

/* The hide= names that match nothing in c, ':'-separated. */
static char *
unmatched_hides(const char *hide, const struct creds *c)
{
	char *out, *copy, *tok, *save = NULL;

	if (hide == NULL || (out = calloc(1, strlen(hide) + 1)) == NULL)
		return NULL;
	if ((copy = strdup(hide)) == NULL) {
		free(out);
		return NULL;
	}
	for (tok = strtok_r(copy, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save)) {
		if (known_name(c, tok))
			continue;
		if (*out != '\0')
			strcat(out, ":");
		strcat(out, tok);
	}
	free(copy);
	return out;
}

void
fs_unmatched_hides(struct fs *fs, char *buf, size_t len)
{
	pthread_mutex_lock(&fs->lock);
	snprintf(buf, len, "%s", fs->unmatched ? fs->unmatched : "");
	pthread_mutex_unlock(&fs->lock);
}

/* A static entry: a copy of len bytes at p, unless hidden. */
static int
add_static(struct fs *fs, struct slot **v, size_t *n, const char *name,
    const void *p, size_t len, const struct timespec *mtime)
{
	struct node *node;

	if (hidden(fs, name))
		return 0;
	if ((node = node_new(fs, name, p, len, NULL, mtime)) == NULL)
		return -1;
	if (add_slot(v, n, name, node) != 0) {
		node_destroy(node);
		return -1;
	}
	return 0;
}

/* A token node named token (profile 0 when default) and tokens/NAME. */
static int
add_token(struct fs *fs, struct slot **rv, size_t *rn, struct slot **tv,
    size_t *tn, const char *pname, int is_default, struct secbuf *tok,
    time_t iat, int64_t refresh_ms)
{
	struct timespec mt = { .tv_sec = iat };
	char path[300];
	struct node *node;

	snprintf(path, sizeof(path), is_default ? "token" : "tokens/%s",
	    pname);
	if ((node = node_new(fs, path, NULL, 0, tok, &mt)) == NULL) {
		secbuf_free(tok);
		return -1;
	}
	node->refresh_ms = refresh_ms;
	if ((is_default && !hidden(fs, "token") &&
	    add_slot(rv, rn, "token", node) != 0) ||
	    (!hidden(fs, "tokens") && add_slot(tv, tn, pname, node) != 0)) {
		if (node->links == 0)
			node_destroy(node);
		return -1;
	}
	if (node->links == 0)
		node_destroy(node);
	return 0;
}

static void
slots_destroy_new(struct slot *v, size_t n)
{
	/* Nodes not yet published: nobody else knows them. */
	for (size_t i = 0; i < n; i++) {
		if (!v[i].node->is_dir && --v[i].node->links == 0)
			node_destroy(v[i].node);
	}
	slots_free(v, n);
}

static void
publish_nodes(struct fs *fs, struct slot *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i].node->is_dir && hash_find(fs, v[i].node->ino) ==
		    NULL)
			hash_add(fs, v[i].node);
}

int
fs_populate(struct fs *fs, const struct creds *c, struct secbuf **tokens,
    const time_t *iats, const int64_t *refresh_ms)
{
	const struct account *a = c->account;
	struct slot *rv = NULL, *tv = NULL, *orv, *otv;
	size_t rn = 0, tn = 0, orn, otn, len, i;
	struct fuse_session *se;
	const unsigned char *json;
	const char *s;
	int ok = 1;

	for (i = 0; ok && i < account_nentries(a); i++) {
		const struct account_entry *ent = account_entry(a, i);

		ok = add_static(fs, &rv, &rn, ent->name, ent->data, ent->len,
		    &c->mtime) == 0;
	}
	json = account_json(a, &len);
	ok = ok && add_static(fs, &rv, &rn, "credentials.json", json, len,
	    &c->mtime) == 0;
	s = account_public_pem(a);
	ok = ok && add_static(fs, &rv, &rn, "public_key.pem", s, strlen(s),
	    &c->mtime) == 0;
	s = account_jwks(a);
	ok = ok && add_static(fs, &rv, &rn, "jwks.json", s, strlen(s),
	    &c->mtime) == 0;
	for (i = 0; i < c->config.nprofiles; i++) {
		struct secbuf *tok = tokens[i];

		tokens[i] = NULL;
		if (ok && add_token(fs, &rv, &rn, &tv, &tn,
		    c->config.profiles[i].name, c->config.has_default && i == 0,
		    tok, iats[i], refresh_ms[i]) != 0)
			ok = 0;
		else if (!ok)
			secbuf_free(tok);
	}
	if (ok && tn > 0 && add_slot(&rv, &rn, "tokens", &fs->tokensnode) != 0)
		ok = 0;
	if (!ok) {
		slots_destroy_new(rv, rn);
		slots_destroy_new(tv, tn);
		return SAFS_ERR_NOMEM;
	}

	pthread_mutex_lock(&fs->lock);
	publish_nodes(fs, rv, rn);
	publish_nodes(fs, tv, tn);
	orv = fs->root.v;
	orn = fs->root.n;
	otv = fs->tokens.v;
	otn = fs->tokens.n;
	fs->root.v = rv;
	fs->root.n = rn;
	fs->tokens.v = tv;
	fs->tokens.n = tn;
	fs->has_tokens = tn > 0;
	fs->rootnode.mtime = fs->tokensnode.mtime = c->mtime;
	release_slots(fs, orv, orn);
	release_slots(fs, otv, otn);
	free(fs->unmatched);
	fs->unmatched = unmatched_hides(fs->hide, c);
	se = fs->se;
	pthread_mutex_unlock(&fs->lock);

	/* Outside the lock: the kernel may need a lookup answered first. */
	if (se != NULL) {
		invalidate_dir(se, ROOT_INO, orv, orn);
		invalidate_dir(se, ROOT_INO, rv, rn);
		invalidate_dir(se, TOKENS_INO, otv, otn);
		invalidate_dir(se, TOKENS_INO, tv, tn);
		fuse_lowlevel_notify_inval_inode(se, ROOT_INO, 0, 0);
		fuse_lowlevel_notify_inval_inode(se, TOKENS_INO, 0, 0);
	}
	slots_free(orv, orn);
	slots_free(otv, otn);
	return 0;
}

/* Point every slot naming old at new; returns how many. */
static int
swap_slots(struct dir *d, struct node *old, struct node *new)
{
	int k = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].node == old) {
			d->v[i].node = new;
			new->links++;
			old->links--;
			k++;
		}
	return k;
}

int
fs_publish_token(struct fs *fs, size_t i, struct secbuf *tok, time_t iat,
    int64_t refresh_ms)
{
	struct timespec mt = { .tv_sec = iat };
	struct node *old = NULL, *node;
	struct fuse_session *se;
	char name[300];
	int in_root = 0;

	pthread_mutex_lock(&fs->lock);
	/* Profile i's node is the i-th token node of tokens/, or token. */
	if (i < fs->tokens.n)
		old = fs->tokens.v[i].node;
	else if (i == 0)
		old = dir_lookup(&fs->root, "token");
	if (old == NULL) {
		pthread_mutex_unlock(&fs->lock);
		secbuf_free(tok);
		return 0;	/* hidden */
	}
	if ((node = node_new(fs, old->path, NULL, 0, tok, &mt)) == NULL) {
		pthread_mutex_unlock(&fs->lock);
		secbuf_free(tok);
		return SAFS_ERR_NOMEM;
	}
	node->refresh_ms = refresh_ms;
	in_root = swap_slots(&fs->root, old, node);
	swap_slots(&fs->tokens, old, node);
	hash_add(fs, node);
	snprintf(name, sizeof(name), "%s", i < fs->tokens.n ?
	    fs->tokens.v[i].name : "");
	maybe_free(fs, old);
	se = fs->se;
	pthread_mutex_unlock(&fs->lock);
	/* The name, and the cached listing that still shows the old
	 * inode number. */
	if (se != NULL) {
		if (in_root) {
			fuse_lowlevel_notify_inval_entry(se, ROOT_INO, "token",
			    5);
			fuse_lowlevel_notify_inval_inode(se, ROOT_INO, 0, 0);
		}
		if (name[0] != '\0') {
			fuse_lowlevel_notify_inval_entry(se, TOKENS_INO, name,
			    strlen(name));
			fuse_lowlevel_notify_inval_inode(se, TOKENS_INO, 0, 0);
		}
	}
	return 0;
}

void
fs_free(struct fs *fs)
{
	struct node *n, *next;

	if (fs == NULL)
		return;
	for (size_t b = 0; b < HASH_SIZE; b++)
		for (n = fs->hash[b]; n != NULL; n = next) {
			next = n->hnext;
			node_destroy(n);
		}
	slots_free(fs->root.v, fs->root.n);
	slots_free(fs->tokens.v, fs->tokens.n);
	pthread_mutex_destroy(&fs->lock);
	free(fs->hide);
	free(fs->unmatched);
	free(fs);
}
