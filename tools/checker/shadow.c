// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow tree (see shadow.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* @sv's lines to @path, written whole or not at all. */
static void save_lines(const char *path, const struct strvec *sv)
{
	char *text = strvec_join(sv, "\n");

	if (write_file_atomic(path, text, strlen(text)) < 0)
		die("cannot write %s", path);
	free(text);
}

static void load_lines(const char *path, struct strvec *sv)
{
	char *text = read_file(path, NULL);

	strvec_split(sv, text);
	free(text);
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
	char target[4096];
	ssize_t n;

	if (lstat(from, &a) < 0) {
		if (have && !S_ISDIR(b.st_mode))
			unlink(to);
	} else if (S_ISDIR(a.st_mode)) {
		if (!have)
			mkdir(to, 0755);
	} else if (S_ISREG(a.st_mode)) {
		link_file(s, rel, from);
	} else if (S_ISLNK(a.st_mode) &&
		   !(have && a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
		if (have && !S_ISDIR(b.st_mode))
			unlink(to);
		n = readlink(from, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (symlink(target, to) < 0)
				warn_msg("cannot link %s", to);
		}
	}
	free(from);
	free(to);
}

/* Entries of the tree's and the copy's directory @rel. */
static void mirror_dir(struct shadow *s, const char *rel)
{
	struct strvec names = STRVEC_INIT;
	struct dirent *e;
	char *path;
	size_t i;
	DIR *d;

	for (i = 0; i < 2; i++) {
		path = join(i ? s->dir : s->tree, rel);
		d = opendir(path);
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				strvec_push_unique(&names, e->d_name);
		if (d)
			closedir(d);
		free(path);
	}
	for (i = 0; i < names.nr; i++) {
		path = join(rel, names.v[i]);
		mirror_entry(s, path);
		free(path);
	}
	strvec_clear(&names);
}

/* Directory mtimes of the tree as "<mtime ns> <rel>" lines. */
struct walk {
	struct shadow *s;
	const struct strvec *was;	/* at the last sync, sorted */
	struct strvec now;
	size_t changed;
	long long recent;	/* mtimes after this are not kept */
};

static int is_subdir(DIR *d, const struct dirent *e)
{
	struct stat st;

	if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
		return 0;
	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_DIR;
	return !fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
	       S_ISDIR(st.st_mode);
}

/* Visit the tree's directory @rel; mirror it if its mtime moved. */
static void walk_dir(struct walk *w, const char *rel)
{
	char *path = join(w->s->tree, rel), *sub, *line;
	struct dirent *e;
	struct stat st;
	long long mt;
	DIR *d;

	d = opendir(path);
	if (!d || fstat(dirfd(d), &st) < 0)
		goto out;
	mt = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	line = xasprintf("%lld %s", mt, rel);
	if (w->was && !strvec_sorted_has(w->was, line)) {
		mirror_dir(w->s, rel);
		w->changed++;
	}
	free(line);
	/* a change later in the same clock tick would not move it: redo */
	strvec_pushf(&w->now, "%lld %s", mt > w->recent ? -1 : mt, rel);
	while ((e = readdir(d))) {
		if (!is_subdir(d, e))
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
static void follow_tree(struct shadow *s, const struct strvec *was)
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
	save_lines(s->dirs, &w.now);
	strvec_clear(&w.now);
}

void shadow_sync(struct shadow *s, const struct strvec *touched)
{
	struct strvec links = STRVEC_INIT, was = STRVEC_INIT;
	char *want = inode_stamp(s->tree);
	char *have = read_file(s->stamp, NULL);
	size_t i;

	if (!have || strcmp(have, want) || !is_dir(s->dir)) {
		make_copy(s);
		follow_tree(s, NULL);
		if (write_file_atomic(s->stamp, want, strlen(want)) < 0)
			die("cannot write %s", s->stamp);
	} else {
		load_lines(s->dirs, &was);
		strvec_sort(&was);
		follow_tree(s, &was);
		strvec_clear(&was);
	}
	load_lines(s->links, &links);
	for (i = 0; i < touched->nr; i++)
		strvec_push_unique(&links, touched->v[i]);
	save_lines(s->links, &links);
	shadow_use(s, &links, 0);
	strvec_clear(&links);
	free(have);
	free(want);
}
