// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow tree (see shadow.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run-command.h"
#include "shadow.h"
#include "util.h"

void shadow_init(struct shadow *s, const char *tree, const char *orig_dir,
		 const char *work)
{
	s->tree = tree;
	s->orig_dir = orig_dir;
	s->dir = xasprintf("%s/src", work);
	s->stamp = xasprintf("%s/src.stamp", work);
	s->links = xasprintf("%s/src.links", work);
	s->dirs = xasprintf("%s/src.dirs", work);
}

void shadow_clear(struct shadow *s)
{
	free(s->dir);
	free(s->stamp);
	free(s->links);
	free(s->dirs);
	memset(s, 0, sizeof(*s));
}

char *shadow_path(const struct shadow *s, const char *rel)
{
	return xasprintf("%s/%s", s->dir, rel);
}

char *shadow_orig(const struct shadow *s, const char *rel)
{
	char *p;

	if (!s->orig_dir)
		return NULL;
	p = xasprintf("%s/%s", s->orig_dir, rel);
	if (is_file(p))
		return p;
	free(p);
	return NULL;
}

/* The tree as it is now: a new copy of it has other inodes. */
static char *inode_stamp(const char *tree)
{
	struct stat a, b;
	char *mk = xasprintf("%s/Makefile", tree);
	int r = stat(tree, &a) | stat(mk, &b);

	free(mk);
	if (r)
		return xstrdup("none\n");
	return xasprintf("%lu:%lu %lu:%lu %ld\n", (unsigned long)a.st_dev,
			 (unsigned long)a.st_ino, (unsigned long)b.st_dev,
			 (unsigned long)b.st_ino, (long)b.st_mtime);
}

static int run_argv(const char *const *argv, int silent)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	int ret;

	for (; *argv; argv++)
		strvec_push(&cmd.args, *argv);
	cmd.silent = silent;
	ret = run_command(&cmd);
	child_process_clear(&cmd);
	return ret;
}

static void make_copy(struct shadow *s)
{
	const char *const rm[] = { "rm", "-rf", s->dir, NULL };
	const char *const cpl[] = { "cp", "-al", s->tree, s->dir, NULL };
	const char *const cpa[] = { "cp", "-a", s->tree, s->dir, NULL };
	double t0 = now_sec();

	unlink(s->stamp);
	unlink(s->links);
	unlink(s->dirs);
	run_argv(rm, 0);
	if (run_argv(cpl, 1)) {
		progress("[tree] hard links failed (another filesystem?): copying the tree");
		run_argv(rm, 0);
		if (run_argv(cpa, 0))
			die("cannot copy %s to %s", s->tree, s->dir);
	}
	progress("[tree] shadow copy %s (%.1f s)", s->dir, now_sec() - t0);
}

static int same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Point the copy's @rel at @from: unlink, then link (or copy). */
static void link_file(struct shadow *s, const char *rel, const char *from)
{
	char *to = shadow_path(s, rel);
	char *dir = xstrdup(to);

	if (same_inode(from, to))
		goto out;
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	if (unlink(to) < 0 && errno != ENOENT)
		die("cannot remove %s: %s", to, strerror(errno));
	if (!is_file(from))
		goto out;	/* gone from the tree: gone from the copy */
	if (link(from, to) < 0 && copy_file(from, to) < 0)
		die("cannot copy %s to %s", from, to);
out:
	free(dir);
	free(to);
}

void shadow_use(struct shadow *s, const struct strvec *touched, int orig)
{
	char *from, *o;
	size_t i;

	for (i = 0; i < touched->nr; i++) {
		o = orig ? shadow_orig(s, touched->v[i]) : NULL;
		from = o ? o : xasprintf("%s/%s", s->tree, touched->v[i]);
		link_file(s, touched->v[i], from);
		free(from);
	}
}

static void read_links(const struct shadow *s, struct strvec *links)
{
	char *text = read_file(s->links, NULL);
	char *line, *next;

	for (line = text; line && *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (*line)
			strvec_push_unique(links, line);
	}
	free(text);
}

static void write_links(const struct shadow *s, const struct strvec *links)
{
	size_t i, len = 1;
	char *buf, *p;

	for (i = 0; i < links->nr; i++)
		len += strlen(links->v[i]) + 1;
	buf = xmalloc(len);
	p = buf;
	for (i = 0; i < links->nr; i++)
		p += sprintf(p, "%s\n", links->v[i]);
	if (write_file_atomic(s->links, buf, p - buf) < 0)
		die("cannot write %s", s->links);
	free(buf);
}

/* Directory mtimes of the tree at the last sync, sorted by path. */
struct dir_times {
	struct dir_time {
		char *rel;
		long long mtime;
	} *d;
	size_t nr, alloc;
};

static void times_add(struct dir_times *t, const char *rel, long long mtime)
{
	if (t->nr == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 1024;
		t->d = xrealloc(t->d, t->alloc * sizeof(*t->d));
	}
	t->d[t->nr].rel = xstrdup(rel);
	t->d[t->nr++].mtime = mtime;
}

static int cmp_time(const void *a, const void *b)
{
	return strcmp(((const struct dir_time *)a)->rel,
		      ((const struct dir_time *)b)->rel);
}

static long long times_find(const struct dir_times *t, const char *rel)
{
	struct dir_time key = { .rel = (char *)rel };
	struct dir_time *d;

	d = t->nr ? bsearch(&key, t->d, t->nr, sizeof(*t->d), cmp_time) : NULL;
	return d ? d->mtime : -1;
}

static void times_clear(struct dir_times *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->d[i].rel);
	free(t->d);
	memset(t, 0, sizeof(*t));
}

static void times_load(const char *path, struct dir_times *t)
{
	char *text = read_file(path, NULL);
	char *line, *next, *sp;

	for (line = text; line && *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (sp)
			times_add(t, sp + 1, strtoll(line, NULL, 10));
	}
	free(text);
	if (t->nr > 1)
		qsort(t->d, t->nr, sizeof(*t->d), cmp_time);
}

static void times_save(const char *path, const struct dir_times *t)
{
	size_t i, len = 0, alloc = 1;
	char *buf = xmalloc(alloc);
	char *line;

	for (i = 0; i < t->nr; i++) {
		line = xasprintf("%lld %s\n", t->d[i].mtime, t->d[i].rel);
		if (len + strlen(line) + 1 > alloc) {
			alloc = 2 * (len + strlen(line) + 1);
			buf = xrealloc(buf, alloc);
		}
		strcpy(buf + len, line);
		len += strlen(line);
		free(line);
	}
	if (write_file_atomic(path, buf, len) < 0)
		die("cannot write %s", path);
	free(buf);
}

static long long mtime_ns(const struct stat *st)
{
	return st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static char *join(const char *a, const char *b)
{
	return *b ? xasprintf("%s/%s", a, b) : xstrdup(a);
}

/* Make the copy's entry @rel what the tree's is: a file, link or dir. */
static void mirror_entry(struct shadow *s, const char *rel)
{
	char *from = join(s->tree, rel), *to = join(s->dir, rel);
	struct stat a, b;
	int have = !lstat(to, &b);

	if (lstat(from, &a) < 0) {
		if (have && !S_ISDIR(b.st_mode))
			unlink(to);
		goto out;
	}
	if (S_ISDIR(a.st_mode)) {
		if (!have)
			mkdir(to, 0755);
		goto out;
	}
	if (have && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		goto out;
	if (have && !S_ISDIR(b.st_mode))
		unlink(to);
	if (S_ISLNK(a.st_mode)) {
		char target[4096];
		ssize_t n = readlink(from, target, sizeof(target) - 1);

		if (n >= 0) {
			target[n] = '\0';
			if (symlink(target, to) < 0)
				warn_msg("cannot link %s", to);
		}
	} else if (S_ISREG(a.st_mode)) {
		if (link(from, to) < 0 && copy_file(from, to) < 0)
			die("cannot copy %s to %s", from, to);
	}
out:
	free(from);
	free(to);
}

static void names_in(const char *dir, struct strvec *names)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			strvec_push_unique(names, e->d_name);
	closedir(d);
}

/* Entries of the tree's and the copy's directory @rel. */
static void mirror_dir(struct shadow *s, const char *rel)
{
	struct strvec names = STRVEC_INIT;
	char *path;
	size_t i;

	path = join(s->tree, rel);
	names_in(path, &names);
	free(path);
	path = join(s->dir, rel);
	names_in(path, &names);
	free(path);
	for (i = 0; i < names.nr; i++) {
		path = join(rel, names.v[i]);
		mirror_entry(s, path);
		free(path);
	}
	strvec_clear(&names);
}

struct walk {
	struct shadow *s;
	const struct dir_times *was;
	struct dir_times now;
	size_t changed;
	long long recent;	/* mtimes after this are not kept */
};

static int is_subdir(const char *dir, const struct dirent *e)
{
	char *p;
	struct stat st;
	int ret;

	if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
		return 0;
	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_DIR;
	p = xasprintf("%s/%s", dir, e->d_name);
	ret = !lstat(p, &st) && S_ISDIR(st.st_mode);
	free(p);
	return ret;
}

/* Visit the tree's directory @rel; mirror it if its mtime moved. */
static void walk_dir(struct walk *w, const char *rel)
{
	char *path = join(w->s->tree, rel), *sub;
	struct dirent *e;
	struct stat st;
	DIR *d;

	d = opendir(path);
	if (!d || fstat(dirfd(d), &st) < 0)
		goto out;
	/* a change later in the same clock tick would not move it: redo */
	times_add(&w->now, rel, mtime_ns(&st) > w->recent ? -1 : mtime_ns(&st));
	if (w->was && times_find(w->was, rel) != mtime_ns(&st)) {
		mirror_dir(w->s, rel);
		w->changed++;
	}
	while ((e = readdir(d))) {
		if (!is_subdir(path, e))
			continue;
		sub = join(rel, e->d_name);
		walk_dir(w, sub);
		free(sub);
	}
out:
	if (d)
		closedir(d);
	free(path);
}

/*
 * Files are only ever replaced in the tree (an edit in place reaches the
 * copy through the hard link): a replaced, new or removed file moves its
 * directory's mtime.  Mirror the directories whose mtime moved since the
 * last sync (@was), or just note the mtimes (@was NULL, a new copy).
 */
static void follow_tree(struct shadow *s, const struct dir_times *was)
{
	struct walk w = { .s = s, .was = was };
	double t0 = now_sec();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	w.recent = (ts.tv_sec - 2) * 1000000000LL + ts.tv_nsec;
	walk_dir(&w, "");
	if (w.changed)
		progress("[tree] %zu directory(ies) of %s changed since the last run: followed (%.1f s)",
			 w.changed, s->tree, now_sec() - t0);
	times_save(s->dirs, &w.now);
	times_clear(&w.now);
}

void shadow_sync(struct shadow *s, const struct strvec *touched)
{
	struct strvec links = STRVEC_INIT;
	struct dir_times was = { 0 };
	char *want = inode_stamp(s->tree);
	char *have = read_file(s->stamp, NULL);
	size_t i;

	if (!have || strcmp(have, want) || !is_dir(s->dir)) {
		make_copy(s);
		follow_tree(s, NULL);
		if (write_file_atomic(s->stamp, want, strlen(want)) < 0)
			die("cannot write %s", s->stamp);
	} else {
		times_load(s->dirs, &was);
		follow_tree(s, &was);
		times_clear(&was);
	}
	read_links(s, &links);
	for (i = 0; i < touched->nr; i++)
		strvec_push_unique(&links, touched->v[i]);
	write_links(s, &links);
	shadow_use(s, &links, 0);
	strvec_clear(&links);
	free(have);
	free(want);
}
