// SPDX-License-Identifier: GPL-2.0
/*
 * Kept results of object builds (see objcache.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "objcache.h"
#include "util.h"

#define RECORD_HEAD "kbuild-check object 2"

static char *obj_file(const char *outdir, const char *obj, const char *fmt)
{
	const char *slash = strrchr(obj, '/');
	int dir = slash ? (int)(slash - obj + 1) : 0;

	return xasprintf("%s/%.*s.%s.%s", outdir, dir, obj, obj + dir, fmt);
}

/* The file a .cmd line names, "$(wildcard FILE)" or not, made absolute. */
static void push_dep(const char *outdir, const char *line,
		     struct strvec *deps)
{
	char word[4096];

	if (sscanf(line, " $(wildcard %4095[^)])", word) != 1 &&
	    sscanf(line, " %4095s", word) != 1)
		return;
	if (*word == '/')
		strvec_push(deps, word);
	else
		strvec_pushf(deps, "%s/%s", outdir, word);
}

/* "source_<obj> := FILE", then "deps_<obj> := \" and a dep per line. */
int cmd_file_deps(const char *outdir, const char *obj, struct strvec *deps)
{
	char *path = obj_file(outdir, obj, "cmd");
	char *text = read_file(path, NULL);
	char *src = xasprintf("source_%s := ", obj);
	char *head = xasprintf("deps_%s := \\", obj);
	struct strvec l = STRVEC_INIT;
	size_t i, j;
	int ret;

	strvec_split(&l, text);
	for (i = 0; i < l.nr && !starts_with(l.v[i], src); i++)
		;
	for (j = 0; j < l.nr && strcmp(l.v[j], head); j++)
		;
	ret = i < l.nr && j < l.nr ? 0 : -1;
	if (!ret)
		push_dep(outdir, l.v[i] + strlen(src), deps);
	for (; !ret && j + 1 < l.nr && ends_with(l.v[j], "\\"); j++)
		push_dep(outdir, l.v[j + 1], deps);
	strvec_clear(&l);
	free(head);
	free(src);
	free(text);
	free(path);
	return ret;
}

/*
 * A record's line for @dep: "dep HASH PATH", HASH "-" for no file.  The
 * content alone: a file replaced by the same text is no change.
 */
static char *dep_line(const struct objcache *oc, const char *dep)
{
	/* the file a dependency is read from now */
	char *src = oc->map ? oc->map(dep, oc->data) : NULL;
	char *buf, *line;
	size_t len;

	buf = read_file(src ? src : dep, &len);
	free(src);
	if (!buf)
		return xasprintf("dep - %s", dep);
	line = xasprintf("dep %016llx %s", fnv1a(FNV1A_INIT, buf, len), dep);
	free(buf);
	return line;
}

/* Returns the record's part if its key and every dep are as now. */
static char *check_record(const struct objcache *oc, const char *text)
{
	const char *part = strstr(text, "\npart\n");
	struct strvec lines = STRVEC_INIT;
	char *head, *key, *now, *p;
	size_t i;
	int ok;

	if (!part)
		return NULL;
	head = xasprintf("%.*s", (int)(part - text), text);
	strvec_split(&lines, head);
	key = xasprintf("key %s", oc->key);
	ok = lines.nr >= 2 && !strcmp(lines.v[0], RECORD_HEAD) &&
	     !strcmp(lines.v[1], key);
	for (i = 2; ok && i < lines.nr; i++) {
		p = strchr(lines.v[i], ' ');
		p = p ? strchr(p + 1, ' ') : NULL;
		now = p ? dep_line(oc, p + 1) : NULL;
		ok = now && !strcmp(now, lines.v[i]);
		free(now);
	}
	strvec_clear(&lines);
	free(head);
	free(key);
	return ok ? xstrdup(part + strlen("\npart\n")) : NULL;
}

/* Record @n of @obj, newest first: .<name>.o.kcheck-<kind>[.<n>] */
static char *record_path(const struct objcache *oc, const char *obj, int n)
{
	char *kind = n ? xasprintf("kcheck-%s.%d", oc->kind, n) :
			 xasprintf("kcheck-%s", oc->kind);
	char *path = obj_file(oc->outdir, obj, kind);

	free(kind);
	return path;
}

/* Records @from..@to-1 move one place down (the one at @to is lost). */
static void shift_records(const struct objcache *oc, const char *obj,
			  int from, int to)
{
	char *dst, *src;

	for (; to > from; to--) {
		dst = record_path(oc, obj, to);
		src = record_path(oc, obj, to - 1);
		rename(src, dst);
		free(dst);
		free(src);
	}
}

static char *lookup_record(const struct objcache *oc, const char *obj, int n)
{
	char *path = record_path(oc, obj, n);
	char *text = read_file(path, NULL);
	char *part = text ? check_record(oc, text) : NULL;

	if (part && n) {
		/* the newest again: it goes first */
		char *first = record_path(oc, obj, 0);
		char *moved = xasprintf("%s.hit", path);

		rename(path, moved);
		shift_records(oc, obj, 0, n);
		rename(moved, first);
		free(first);
		free(moved);
	}
	free(text);
	free(path);
	return part;
}

char *objcache_lookup(const struct objcache *oc, const char *obj)
{
	char *part = NULL;
	int n;

	for (n = 0; n < OBJCACHE_KEEP && !part; n++)
		part = lookup_record(oc, obj, n);
	return part;
}

int objcache_store(const struct objcache *oc, const char *obj,
		   const char *part)
{
	struct strvec deps = STRVEC_INIT, rec = STRVEC_INIT;
	char *path, *text;
	size_t i;
	int ret = -1;

	if (!cmd_file_deps(oc->outdir, obj, &deps) && deps.nr) {
		strvec_pushf(&rec, RECORD_HEAD "\nkey %s", oc->key);
		for (i = 0; i < deps.nr; i++) {
			text = dep_line(oc, deps.v[i]);
			strvec_push(&rec, text);
			free(text);
		}
		strvec_pushf(&rec, "part\n%s", part);
		text = strvec_join(&rec, "\n");
		shift_records(oc, obj, 0, OBJCACHE_KEEP - 1);
		path = record_path(oc, obj, 0);
		ret = write_file_atomic(path, text, strlen(text));
		free(path);
		free(text);
	}
	strvec_clear(&rec);
	strvec_clear(&deps);
	return ret;
}
