/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

int
util_in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

int
util_set_str(char **dst, const char *v, struct errbuf *e)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return err_set(e, SAFS_ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

char *
util_escape_opt(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *q = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == '\\')
			*q++ = '\\';
		*q++ = *s;
	}
	*q = '\0';
	return out;
}

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
util_json_parse(const char *text, size_t len, cJSON **rootp,
    size_t *errposp)
{
	const char *end = NULL;
	cJSON *root;

	*rootp = NULL;
	*errposp = 0;
	if ((root = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL) {
		if (end != NULL)
			*errposp = (size_t)(end - text);
		return UTIL_JSON_SYNTAX;
	}
	for (; (size_t)(end - text) < len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' &&
		    *end != '\r') {
			cJSON_Delete(root);
			return UTIL_JSON_TRAILING;
		}
	*rootp = root;
	return 0;
}

int
util_json_twin(const cJSON *obj, const cJSON *m)
{
	for (const cJSON *o = obj->child; o != NULL && o != m; o = o->next)
		if (strcmp(o->string, m->string) == 0)
			return 1;
	return 0;
}
