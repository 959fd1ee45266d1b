// SPDX-License-Identifier: GPL-2.0
/*
 * Kept results of object builds (see objcache.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objcache.h"
#include "util.h"

#define RECORD_HEAD "kbuild-check object 1\n"

struct file_id {
	int present;
	unsigned long long dev, ino, size, mtime_ns, hash;
};

static char *obj_file(const char *outdir, const char *obj, const char *fmt)
{
	const char *slash = strrchr(obj, '/');
	int dir = slash ? (int)(slash - obj + 1) : 0;

	return xasprintf("%s/%.*s.%s.%s", outdir, dir, obj, obj + dir, fmt);
}

static void push_dep(const char *outdir, const char *word, size_t len,
		     struct strvec *deps)
{
	if (starts_with(word, "$(wildcard ")) {
		word += strlen("$(wildcard ");
		len -= strlen("$(wildcard ") + 1;
	}
	if (!len)
		return;
	if (*word == '/')
		strvec_pushf(deps, "%.*s", (int)len, word);
	else
		strvec_pushf(deps, "%s/%.*s", outdir, (int)len, word);
}

/* The "deps_<obj> := \" list: one dependency per line. */
static void parse_deps(const char *outdir, const char *p,
		       struct strvec *deps)
{
	const char *end, *last;

	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, '\n');
		while (*p == ' ' || *p == '\t')
			p++;
		last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\\'))
			last--;
		push_dep(outdir, p, last - p, deps);
		if (end == p || end[-1] != '\\')
			break;
	}
}

static int parse_cmd(const char *outdir, const char *obj, const char *text,
		     struct strvec *deps)
{
	char *src = xasprintf("\nsource_%s := ", obj);
	char *dep = xasprintf("\ndeps_%s := \\\n", obj);
	const char *p = strstr(text, src);
	const char *q = strstr(text, dep);
	int ret = -1;

	if (!p || !q)
		goto out;
	p += strlen(src);
	push_dep(outdir, p, strchrnul(p, '\n') - p, deps);
	parse_deps(outdir, q + strlen(dep), deps);
	ret = 0;
out:
	free(src);
	free(dep);
	return ret;
}

int cmd_file_deps(const char *outdir, const char *obj, struct strvec *deps)
{
	char *path = obj_file(outdir, obj, "cmd");
	char *text = read_file(path, NULL);
	char *nl;
	int ret;

	free(path);
	if (!text)
		return -1;
	nl = xasprintf("\n%s", text);
	ret = parse_cmd(outdir, obj, nl, deps);
	free(nl);
	free(text);
	return ret;
}

static int hash_file(const char *path, unsigned long long *hash)
{
	size_t len;
	char *buf = read_file(path, &len);

	if (!buf)
		return -1;
	*hash = fnv1a(FNV1A_INIT, buf, len);
	free(buf);
	return 0;
}

/* The file a dependency is read from now. */
static char *dep_source(const struct objcache *oc, const char *dep)
{
	char *p = oc->map ? oc->map(dep, oc->data) : NULL;

	return p ? p : xstrdup(dep);
}

static void stat_id(const char *path, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) < 0)
		return;
	id->present = 1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns = st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec;
}

static int same_stat(const struct file_id *a, const struct file_id *b)
{
	return a->present == b->present && a->dev == b->dev &&
	       a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* One "dep" line of a record: "dep DEV INO SIZE MTIME HASH PATH". */
static int parse_dep(const char *line, struct file_id *id, const char **path)
{
	int n = 0;

	memset(id, 0, sizeof(*id));
	if (!strncmp(line, "dep - ", 6)) {
		*path = line + 6;
		return 0;
	}
	if (sscanf(line, "dep %llu %llu %llu %llu %llx %n", &id->dev, &id->ino,
		   &id->size, &id->mtime_ns, &id->hash, &n) != 5 || !n)
		return -1;
	id->present = 1;
	*path = line + n;
	return 0;
}

/* Is the file as recorded? *@stale: only its stat changed. */
static int dep_unchanged(const struct objcache *oc, const char *dep,
			 const struct file_id *was, int *stale)
{
	char *src = dep_source(oc, dep);
	struct file_id now;
	int ret = 0;

	stat_id(src, &now);
	if (same_stat(&now, was) || (!now.present && !was->present)) {
		ret = 1;
		goto out;
	}
	if (!now.present || !was->present || hash_file(src, &now.hash) < 0)
		goto out;
	ret = now.hash == was->hash;
	*stale |= ret;
out:
	free(src);
	return ret;
}

static int check_line(const struct objcache *oc, const char *line,
		      struct strvec *deps, int *stale)
{
	struct file_id was;
	const char *path;

	if (parse_dep(line, &was, &path) < 0)
		return 0;
	strvec_push(deps, path);
	return dep_unchanged(oc, path, &was, stale);
}

/* Checks the record's head and deps; returns its part, or NULL. */
static char *check_record(const struct objcache *oc, char *text,
			  struct strvec *deps, int *stale)
{
	char *line, *next, *key;

	if (!starts_with(text, RECORD_HEAD))
		return NULL;
	line = text + strlen(RECORD_HEAD);
	key = xasprintf("key %s\n", oc->key);
	if (!starts_with(line, key)) {
		free(key);
		return NULL;
	}
	line += strlen(key);
	free(key);
	for (; starts_with(line, "dep "); line = next) {
		next = strchrnul(line, '\n');
		if (!*next)
			return NULL;
		*next++ = '\0';
		if (!check_line(oc, line, deps, stale))
			return NULL;
	}
	if (!starts_with(line, "part\n"))
		return NULL;
	return xstrdup(line + strlen("part\n"));
}

static int write_record(const struct objcache *oc, const char *obj,
			const struct strvec *deps, const char *part);

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
	struct strvec deps = STRVEC_INIT;
	char *part = NULL;
	int stale = 0;

	if (text)
		part = check_record(oc, text, &deps, &stale);
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
	/* the same files with new inodes or mtimes: note those */
	if (part && stale)
		write_record(oc, obj, &deps, part);
	strvec_clear(&deps);
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

static void append(char **buf, size_t *len, size_t *alloc, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *alloc) {
		*alloc = 2 * (*len + n + 1);
		*buf = xrealloc(*buf, *alloc);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

static char *dep_line(const struct objcache *oc, const char *dep)
{
	char *src = dep_source(oc, dep);
	struct file_id id;
	char *line;

	stat_id(src, &id);
	if (id.present && hash_file(src, &id.hash) < 0)
		id.present = 0;
	if (id.present)
		line = xasprintf("dep %llu %llu %llu %llu %016llx %s\n", id.dev,
				 id.ino, id.size, id.mtime_ns, id.hash, dep);
	else
		line = xasprintf("dep - %s\n", dep);
	free(src);
	return line;
}

static int write_record(const struct objcache *oc, const char *obj,
			const struct strvec *deps, const char *part)
{
	size_t i, len = 0, alloc = 0;
	char *buf = NULL, *s, *path;
	int ret;

	s = xasprintf("%skey %s\n", RECORD_HEAD, oc->key);
	append(&buf, &len, &alloc, s);
	free(s);
	for (i = 0; i < deps->nr; i++) {
		s = dep_line(oc, deps->v[i]);
		append(&buf, &len, &alloc, s);
		free(s);
	}
	append(&buf, &len, &alloc, "part\n");
	append(&buf, &len, &alloc, part);
	path = record_path(oc, obj, 0);
	ret = write_file_atomic(path, buf, len);
	free(path);
	free(buf);
	return ret;
}

int objcache_store(const struct objcache *oc, const char *obj,
		   const char *part)
{
	struct strvec deps = STRVEC_INIT;
	int ret = -1;

	if (!cmd_file_deps(oc->outdir, obj, &deps) && deps.nr) {
		shift_records(oc, obj, 0, OBJCACHE_KEEP - 1);
		ret = write_record(oc, obj, &deps, part);
	}
	strvec_clear(&deps);
	return ret;
}
