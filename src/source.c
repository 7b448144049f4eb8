/* SPDX-License-Identifier: MIT */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
source_read(const char *path, size_t max, struct secbuf **outp,
    struct timespec *mtimep, struct errbuf *e)
{
	struct secbuf *buf = NULL;
	struct stat st;
	size_t cap, len = 0;
	ssize_t n;
	int fd = -1, r = SAFS_ERR_INTERNAL;

	*outp = NULL;
	/* O_NONBLOCK: a FIFO must not hang us waiting for a writer;
	 * fstat() below refuses anything but a regular file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		r = err_set(e, SAFS_ERR_SOURCE, "cannot open source %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = err_set(e, SAFS_ERR_SOURCE, "cannot stat source %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = err_set(e, SAFS_ERR_SOURCE, "source %s is a directory",
		    path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = err_set(e, SAFS_ERR_SOURCE,
		    "source %s is not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = err_set(e, SAFS_ERR_TOO_LARGE,
		    "source %s is %lld bytes; a service-account file is at "
		    "most %zu", path, (long long)st.st_size, max);
		goto out;
	}
	/* One byte of slack tells a file that grew since fstat. */
	cap = (size_t)st.st_size + 1;
	if ((buf = secbuf_new(cap)) == NULL) {
		r = err_set(e, SAFS_ERR_NOMEM, "out of secure memory");
		goto out;
	}
	while (len < cap) {
		n = read(fd, secbuf_data(buf) + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = err_set(e, SAFS_ERR_SOURCE,
			    "cannot read source %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap) {
		r = err_set(e, SAFS_ERR_SOURCE,
		    "source %s changed while being read", path);
		goto out;
	}
	secbuf_truncate(buf, len);
	secbuf_data(buf)[len] = '\0';
	if (mtimep != NULL)
		*mtimep = st.st_mtim;
	/* success */
	*outp = buf;
	buf = NULL;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	secbuf_free(buf);
	return r;
}
