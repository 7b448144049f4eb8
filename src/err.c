/* SPDX-License-Identifier: MIT */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
safs_strerror(int r)
{
	switch (r) {
	case SAFS_OK:
		return "success";
	case SAFS_ERR_NOMEM:
		return "out of memory";
	case SAFS_ERR_USAGE:
		return "invalid usage";
	case SAFS_ERR_CONFIG:
		return "invalid configuration";
	case SAFS_ERR_SOURCE:
		return "cannot read source";
	case SAFS_ERR_TOO_LARGE:
		return "input too large";
	case SAFS_ERR_FORMAT:
		return "unrecognised or corrupt file";
	case SAFS_ERR_UNSUPPORTED:
		return "unsupported";
	case SAFS_ERR_PASSPHRASE:
		return "wrong passphrase, or the file is corrupt";
	case SAFS_ERR_NOPASS:
		return "no passphrase available";
	case SAFS_ERR_JSON:
		return "decrypted content is not valid JSON";
	case SAFS_ERR_ACCOUNT:
		return "not a usable service account";
	case SAFS_ERR_KEY:
		return "private_key is not a usable RSA key";
	case SAFS_ERR_SIGN:
		return "signing failed";
	case SAFS_ERR_PLAINTEXT:
		return "source is unencrypted JSON";
	case SAFS_ERR_SYSTEM:
		return "system error";
	default:
		return "internal error";
	}
}

int
err_set(struct errbuf *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e != NULL) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *
err_msg(const struct errbuf *e, int code)
{
	if (e != NULL && e->msg[0] != '\0')
		return e->msg;
	return safs_strerror(code);
}
