// SPDX-License-Identifier: GPL-2.0
/*
 * A small reader for kbuild Makefiles: enough to map foo.c to the
 * obj-$(CONFIG_FOO) line that builds it, directly or through a composite
 * object (bar-objs, bar-y, bar-objs-y, bar-$(CONFIG_BAZ) += foo.o).
 * Conditionals (ifdef) are ignored; variable references are skipped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbuild-makefile.h"
#include "strvec.h"
#include "util.h"

enum lhs_kind { LHS_NONE, LHS_OBJ, LHS_MEMBER };

struct lhs {
	enum lhs_kind kind;
	char *composite;	/* LHS_MEMBER: the composite's name */
	char *cond;		/* CONFIG_ symbol without prefix, or NULL */
};

/* Join backslash continuations and drop comments, in place. */
static void flatten(char *buf)
{
	char *r, *w;
	int in_comment = 0;

	for (r = w = buf; *r; r++) {
		if (r[0] == '\\' && r[1] == '\n') {
			*w++ = ' ';
			r++;
			continue;
		}
		if (*r == '\n')
			in_comment = 0;
		else if (*r == '#')
			in_comment = 1;
		if (!in_comment)
			*w++ = *r;
	}
	*w = '\0';
}

/*
 * obj-y, obj-m and obj-$(CONFIG_FOO) list objects; <composite>- and y,
 * m, objs, objs-y, objs-m, $(CONFIG_FOO) or objs-$(CONFIG_FOO) list the
 * members of a composite object.
 */
static int parse_lhs(const char *name, struct lhs *l)
{
	const char *cond = strstr(name, "-$(CONFIG_"), *end;
	size_t n = strlen(name);

	memset(l, 0, sizeof(*l));
	if (cond)
		n = cond - name;
	else if (ends_with(name, "-y") || ends_with(name, "-m"))
		n -= 2;
	else if (!ends_with(name, "-objs"))
		return -1;
	if (n > 5 && !strncmp(name + n - 5, "-objs", 5))
		n -= 5;
	if (!n || memchr(name, '$', n))
		return -1;
	if (cond) {
		/* "$(CONFIG_FOO)" ends the name: FOO */
		cond += strlen("-$(CONFIG_");
		end = strchr(cond, ')');
		if (!end || end[1])
			return -1;
		l->cond = xasprintf("%.*s", (int)(end - cond), cond);
	}
	l->kind = n == 3 && !strncmp(name, "obj", 3) ? LHS_OBJ : LHS_MEMBER;
	if (l->kind == LHS_MEMBER)
		l->composite = xasprintf("%.*s", (int)n, name);
	return 0;
}

static void lhs_clear(struct lhs *l)
{
	free(l->composite);
	free(l->cond);
}

/* Does the right-hand side list the word @obj? */
static int rhs_has(const char *rhs, const char *obj)
{
	size_t n = strlen(obj);
	const char *p;

	for (p = rhs; (p = strstr(p, obj)); p += n) {
		if ((p == rhs || isspace((unsigned char)p[-1])) &&
		    (!p[n] || isspace((unsigned char)p[n])))
			return 1;
	}
	return 0;
}

/* Split "lhs op rhs"; returns the rhs or NULL when this is no assignment. */
static char *split_assignment(char *line, char **name)
{
	char *eq = strchr(line, '='), *end;

	if (!eq)
		return NULL;
	end = eq > line && strchr("+:?", eq[-1]) ? eq - 1 : eq;
	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || strpbrk(line, " \t"))
		return NULL;
	*name = line;
	return eq + 1;
}

/*
 * Look for @obj in the Makefile text: the first obj- line naming it fills
 * @found (kind LHS_OBJ), else the first composite member line.
 */
static int scan_makefile(char *text, const char *obj, struct lhs *found)
{
	char *line, *next, *name, *rhs;
	struct lhs l;
	int have = 0;

	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rhs = split_assignment(line, &name);
		if (!rhs || !rhs_has(rhs, obj) || parse_lhs(name, &l) < 0)
			continue;
		if (!have || (l.kind == LHS_OBJ && found->kind != LHS_OBJ)) {
			if (have)
				lhs_clear(found);
			*found = l;
			have = 1;
		} else {
			lhs_clear(&l);
		}
	}
	return have ? 0 : -1;
}

/* Look for @obj in @dir's Kbuild, else its Makefile (scan_makefile()). */
static int lookup(const char *tree, const char *dir, const char *obj,
		  struct lhs *l)
{
	static const char *const names[] = { "Kbuild", "Makefile" };
	char *path, *text = NULL;
	size_t i;
	int ret;

	for (i = 0; !text && i < ARRAY_SIZE(names); i++) {
		path = xasprintf("%s/%s/%s", tree, dir, names[i]);
		text = read_file(path, NULL);
		free(path);
	}
	if (!text)
		return -1;
	flatten(text);
	ret = scan_makefile(text, obj, l);
	free(text);
	return ret;
}

/* obj-y += foo.o: the symbol is the one that descends into the directory. */
static int dir_symbol(const char *tree, const char *dir, struct obj_rule *r,
		      int depth)
{
	const char *slash = strrchr(dir, '/');
	struct lhs l = { LHS_NONE, NULL, NULL };
	char *parent, *sub;
	int ret = -1;

	if (!slash || depth > 8)
		return -1;
	parent = xasprintf("%.*s", (int)(slash - dir), dir);
	sub = xasprintf("%s/", slash + 1);
	if (!lookup(tree, parent, sub, &l) && l.kind == LHS_OBJ) {
		if (l.cond) {
			r->sym = xstrdup(l.cond);
			ret = 0;
		} else {
			ret = dir_symbol(tree, parent, r, depth + 1);
		}
	}
	lhs_clear(&l);
	free(parent);
	free(sub);
	return ret;
}

static int resolve_obj(const char *tree, const char *dir, const char *obj,
		       struct obj_rule *r)
{
	struct lhs l;
	char *comp;
	int ret;

	if (lookup(tree, dir, obj, &l) < 0) {
		r->why = xasprintf("no rule in %s/Makefile builds %s", dir, obj);
		return -1;
	}
	if (l.kind == LHS_MEMBER) {
		if (r->composite) {
			lhs_clear(&l);
			r->why = xasprintf("nested composite object for %s", obj);
			return -1;
		}
		r->member = l.cond;
		l.cond = NULL;
		r->composite = xasprintf("%s.o", l.composite);
		comp = r->composite;
		lhs_clear(&l);
		return resolve_obj(tree, dir, comp, r);
	}
	if (l.cond) {
		r->sym = l.cond;
		return 0;
	}
	ret = dir_symbol(tree, dir, r, 0);
	if (ret < 0)
		r->why = xasprintf("%s/%s is built unconditionally (obj-y) and no CONFIG_ symbol builds its directory",
				   dir, obj);
	return ret;
}

int find_obj_rule(const char *tree, const char *src, struct obj_rule *r)
{
	const char *slash = strrchr(src, '/');
	char *dir, *obj;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!slash || !ends_with(src, ".c")) {
		r->why = xasprintf("%s is not a .c file in a subdirectory", src);
		return -1;
	}
	dir = xasprintf("%.*s", (int)(slash - src), src);
	obj = xasprintf("%.*s.o", (int)(strlen(slash + 1) - 2), slash + 1);
	ret = resolve_obj(tree, dir, obj, r);
	free(dir);
	free(obj);
	return ret;
}

void obj_rule_clear(struct obj_rule *r)
{
	free(r->sym);
	free(r->member);
	free(r->composite);
	free(r->why);
	memset(r, 0, sizeof(*r));
}

int kconfig_defines(const char *tree, const char *src, const char *sym)
{
	char *dir = xstrdup(src), *slash, *path, *text;
	struct strvec lines = STRVEC_INIT;
	char kw[16], word[256];
	int found = 0;
	size_t i;

	while (!found && (slash = strrchr(dir, '/'))) {
		*slash = '\0';
		path = xasprintf("%s/%s/Kconfig", tree, dir);
		text = read_file(path, NULL);
		strvec_split(&lines, text);
		for (i = 0; i < lines.nr && !found; i++)
			found = sscanf(lines.v[i], "%15s %255s", kw, word) == 2 &&
				(!strcmp(kw, "config") ||
				 !strcmp(kw, "menuconfig")) &&
				!strcmp(word, sym);
		strvec_clear(&lines);
		free(text);
		free(path);
	}
	free(dir);
	return found;
}
