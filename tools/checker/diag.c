// SPDX-License-Identifier: GPL-2.0
/*
 * Compiler diagnostics in build logs (see diag.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

#define MAX_ERROR_LINES 5

static const char *const kinds[] = { "fatal error", "error", "warning" };

static const char *skip_num(const char *p)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == ':' ? p + 1 : NULL;
}

static char *relative(const char *path, size_t len,
		      const char *const *roots)
{
	size_t n;

	for (; roots && *roots; roots++) {
		n = strlen(*roots);
		if (len > n && !strncmp(path, *roots, n) && path[n] == '/') {
			path += n + 1;
			len -= n + 1;
			break;
		}
	}
	while (len > 2 && !strncmp(path, "./", 2)) {
		path += 2;
		len -= 2;
	}
	return xasprintf("%.*s", (int)len, path);
}

static void diag_push(struct diag_list *l, const struct diag *d)
{
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 32;
		l->d = xrealloc(l->d, l->alloc * sizeof(*l->d));
	}
	l->d[l->nr++] = *d;
}

/* Parse one line; returns 0 and fills @d when it is a diagnostic. */
static int parse_line(char *line, const char *const *roots,
		      struct diag *d)
{
	const char *colon, *p, *q, *sp, *msg = NULL;
	size_t i;

	for (colon = strchr(line, ':'); colon; colon = strchr(colon + 1, ':')) {
		p = skip_num(colon + 1);
		if (p)
			break;
	}
	if (!colon || colon == line)
		return -1;
	sp = strchr(line, ' ');
	if (sp && sp < colon)
		return -1;
	q = skip_num(p);
	if (q)
		p = q;
	for (i = 0; i < ARRAY_SIZE(kinds) && !msg; i++) {
		if (*p == ' ' && starts_with(p + 1, kinds[i]) &&
		    starts_with(p + 1 + strlen(kinds[i]), ": "))
			msg = p + 1;
	}
	if (!msg)
		return -1;
	d->path = relative(line, colon - line, roots);
	d->text = xasprintf("%s%s", d->path, colon);
	d->key = xasprintf("%s: %s", d->path, msg);
	d->is_error = !starts_with(msg, "warning");
	return 0;
}

void diag_parse(const char *text, const char *const *roots,
		struct diag_list *out)
{
	struct strvec lines = STRVEC_INIT;
	struct diag d;
	size_t i;

	strvec_split(&lines, text);
	for (i = 0; i < lines.nr; i++)
		if (!parse_line(lines.v[i], roots, &d))
			diag_push(out, &d);
	strvec_clear(&lines);
}

void diag_clear(struct diag_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->d[i].path);
		free(l->d[i].text);
		free(l->d[i].key);
	}
	free(l->d);
	memset(l, 0, sizeof(*l));
}

static void diag_copy(struct diag_list *out, const struct diag *d)
{
	struct diag c = {
		.path = xstrdup(d->path),
		.text = xstrdup(d->text),
		.key = xstrdup(d->key),
		.is_error = d->is_error,
	};

	diag_push(out, &c);
}

void diag_new_keys(const struct diag_list *base, const struct diag_list *now,
		   struct diag_list *out)
{
	char *used = xmalloc(base->nr + 1);
	size_t i, j;

	memset(used, 0, base->nr + 1);
	for (i = 0; i < now->nr; i++) {
		for (j = 0; j < base->nr; j++) {
			if (!used[j] && !strcmp(base->d[j].key, now->d[i].key))
				break;
		}
		if (j < base->nr)
			used[j] = 1;
		else
			diag_copy(out, &now->d[i]);
	}
	free(used);
}

static void push_errors(const struct diag_list *l, const char *src,
			const char *file, int any, struct strvec *out)
{
	size_t i;

	for (i = 0; i < l->nr && out->nr < MAX_ERROR_LINES; i++) {
		if (!l->d[i].is_error)
			continue;
		if (any || !strcmp(l->d[i].path, src) ||
		    !strcmp(l->d[i].path, file))
			strvec_push_unique(out, l->d[i].text);
	}
}

void diag_error_lines(const struct diag_list *l, const char *src,
		      const char *file, const char *obj, const char *log_text,
		      struct strvec *out)
{
	struct strvec lines = STRVEC_INIT;
	size_t i;

	push_errors(l, src, file, 0, out);
	if (!out->nr)
		push_errors(l, src, file, 1, out);
	if (!out->nr)
		strvec_split(&lines, log_text);
	for (i = 0; !out->nr && i < lines.nr; i++)
		if (strstr(lines.v[i], "*** [") && strstr(lines.v[i], obj))
			strvec_push(out, lines.v[i]);
	strvec_clear(&lines);
}
