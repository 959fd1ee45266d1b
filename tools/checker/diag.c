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

void diag_new_keys(const struct diag_list *base, const struct diag_list *now,
		   struct diag_list *out)
{
	char *used = xmalloc(base->nr + 1);
	const struct diag *d;
	struct diag copy;
	size_t i, j;

	memset(used, 0, base->nr + 1);
	for (i = 0; i < now->nr; i++) {
		for (j = 0; j < base->nr; j++) {
			if (!used[j] && !strcmp(base->d[j].key, now->d[i].key))
				break;
		}
		if (j < base->nr) {
			used[j] = 1;
			continue;
		}
		d = &now->d[i];
		copy = (struct diag){ xstrdup(d->path), xstrdup(d->text),
				      xstrdup(d->key), d->is_error };
		diag_push(out, &copy);
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

/*
 * A kbuild quiet line: two spaces, an upper-case command word, optionally
 * " [M]", spaces, an argument.  Returns the command's length and points
 * @arg at the argument, or returns 0.
 */
static size_t quiet_line(const char *line, const char **arg)
{
	const char *p = line + 2;
	size_t n;

	if (strncmp(line, "  ", 2) || !isupper((unsigned char)*p))
		return 0;
	while (isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
	       *p == '_')
		p++;
	n = p - line - 2;
	if (!strncmp(p, " [M]", 4))
		p += 4;
	if (*p != ' ')
		return 0;
	while (*p == ' ')
		p++;
	if (!*p)
		return 0;
	*arg = p;
	return n;
}

static int make_message(const char *line)
{
	if (!starts_with(line, "make"))
		return 0;
	line += 4;
	if (*line == '[')
		line = strchr(line, ']');
	return line && !strncmp(line + (*line == ']'), ": ", 2);
}

/* Which object's part does @line start (index), or -1; -2: none now. */
static int part_start(const char *line, const struct strvec *objs)
{
	const char *arg;
	size_t n = quiet_line(line, &arg);

	if (make_message(line))
		return -2;
	if (!n)
		return -1;
	if (n == 5 && !strncmp(line + 2, "CHECK", 5))
		return -1;
	if (n == 2 && !strncmp(line + 2, "CC", 2) && strvec_find(objs, arg) >= 0)
		return strvec_find(objs, arg);
	return -2;
}

static void append(char **part, const char *line)
{
	char *p = xasprintf("%s%s\n", *part ? *part : "", line);

	free(*part);
	*part = p;
}

size_t buildlog_split(const char *text, const struct strvec *objs,
		      char **parts)
{
	struct strvec lines = STRVEC_INIT;
	size_t i, found = 0;
	int cur = -1, k;

	for (i = 0; i < objs->nr; i++)
		parts[i] = NULL;
	strvec_split(&lines, text);
	for (i = 0; i < lines.nr; i++) {
		k = part_start(lines.v[i], objs);
		if (k >= 0 && !parts[k])
			found++;
		if (k != -1)
			cur = k;
		if (cur >= 0)
			append(&parts[cur], lines.v[i]);
	}
	strvec_clear(&lines);
	return found;
}
