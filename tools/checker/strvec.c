// SPDX-License-Identifier: GPL-2.0
/*
 * String vectors (see strvec.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strvec.h"
#include "util.h"

void strvec_push(struct strvec *sv, const char *s)
{
	if (sv->nr + 2 > sv->alloc) {
		sv->alloc = sv->alloc ? 2 * sv->alloc : 8;
		sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->nr++] = xstrdup(s);
	sv->v[sv->nr] = NULL;
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strvec_push(sv, s);
	free(s);
}

int strvec_find(const struct strvec *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		if (!strcmp(sv->v[i], s))
			return (int)i;
	return -1;
}

void strvec_push_unique(struct strvec *sv, const char *s)
{
	if (strvec_find(sv, s) < 0)
		strvec_push(sv, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *sv)
{
	if (sv->nr > 1)
		qsort(sv->v, sv->nr, sizeof(*sv->v), cmp_str);
}

int strvec_sorted_has(const struct strvec *sv, const char *s)
{
	return sv->nr && bsearch(&s, sv->v, sv->nr, sizeof(*sv->v), cmp_str);
}

void strvec_split(struct strvec *sv, const char *text)
{
	const char *end;

	for (; text && *text; text = *end ? end + 1 : end) {
		end = strchrnul(text, '\n');
		strvec_pushf(sv, "%.*s", (int)(end - text), text);
	}
}

char *strvec_join(const struct strvec *sv, const char *sep)
{
	size_t i, len = 1;
	char *buf, *p;

	for (i = 0; i < sv->nr; i++)
		len += strlen(sv->v[i]) + strlen(sep);
	p = buf = xmalloc(len);
	*p = '\0';
	for (i = 0; i < sv->nr; i++)
		p = stpcpy(stpcpy(p, i ? sep : ""), sv->v[i]);
	return buf;
}

void strvec_clear(struct strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		free(sv->v[i]);
	free(sv->v);
	*sv = (struct strvec)STRVEC_INIT;
}
