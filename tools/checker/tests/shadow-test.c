// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of shadow.c: a small tree, its hard-linked copy.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"
#include "shadow.h"
#include "util.h"

struct fixture {
	char *tree, *orig, *work;
	struct shadow s;
	struct strvec touched;
};

static void setup(struct ktest *test, struct fixture *f)
{
	const char *tmp = ktest_tmpdir(test);

	free(ktest_write(test, "linux/Makefile", "VERSION = 6\n"));
	free(ktest_write(test, "linux/a.c", "a rewritten\n"));
	free(ktest_write(test, "linux/b.c", "b\n"));
	free(ktest_write(test, "linux/.iommu-dma/orig/a.c", "a original\n"));
	f->tree = xasprintf("%s/linux", tmp);
	f->orig = xasprintf("%s/linux/.iommu-dma/orig", tmp);
	f->work = xasprintf("%s/work", tmp);
	mkdir_p(f->work);
	memset(&f->touched, 0, sizeof(f->touched));
	strvec_push(&f->touched, "a.c");
	shadow_init(&f->s, f->tree, f->orig, f->work);
}

static void teardown(struct fixture *f)
{
	strvec_clear(&f->touched);
	free(f->tree);
	free(f->orig);
	free(f->work);
}

/* An old mtime: the tree's top directory did not change lately. */
static void age_top(struct fixture *f)
{
	struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };

	utimensat(AT_FDCWD, f->tree, ts, 0);
}

static char *mark(struct fixture *f)
{
	char *marker = shadow_path(&f->s, "marker");

	write_file(marker, "", 0);
	return marker;
}

static unsigned long inode(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;
	int r = stat(p, &st);

	free(p);
	return r ? 0 : st.st_ino;
}

static char *shadow_text(struct fixture *f, const char *rel)
{
	char *p = shadow_path(&f->s, rel);
	char *text = read_file(p, NULL);

	free(p);
	return text;
}

static void copies_with_hard_links(struct ktest *test)
{
	struct fixture f;
	char *marker;

	setup(test, &f);
	age_top(&f);
	shadow_sync(&f.s, &f.touched);
	KTEST_EXPECT_EQ(test, inode(f.s.dir, "b.c"), inode(f.tree, "b.c"));
	KTEST_EXPECT_EQ(test, inode(f.s.dir, "a.c"), inode(f.tree, "a.c"));
	/* a second sync keeps the copy */
	marker = mark(&f);
	shadow_sync(&f.s, &f.touched);
	KTEST_EXPECT_TRUE(test, is_file(marker));
	free(marker);
	teardown(&f);
}

static void swaps_originals(struct ktest *test)
{
	struct fixture f;
	char *text, *o;

	setup(test, &f);
	shadow_sync(&f.s, &f.touched);
	o = shadow_orig(&f.s, "a.c");
	KTEST_EXPECT_NOT_NULL(test, o);
	KTEST_EXPECT_NULL(test, shadow_orig(&f.s, "b.c"));
	shadow_use(&f.s, &f.touched, 1);
	text = shadow_text(&f, "a.c");
	KTEST_EXPECT_STREQ(test, text, "a original\n");
	free(text);
	KTEST_EXPECT_EQ(test, inode(f.s.dir, "a.c"), inode(f.orig, "a.c"));
	shadow_use(&f.s, &f.touched, 0);
	text = shadow_text(&f, "a.c");
	KTEST_EXPECT_STREQ(test, text, "a rewritten\n");
	free(text);
	/* the tree and its originals are never written */
	text = read_file(o, NULL);
	KTEST_EXPECT_STREQ(test, text, "a original\n");
	free(text);
	free(o);
	teardown(&f);
}

/*
 * A file an earlier run linked goes back to the tree's though not touched
 * now and its directory did not change (a run stopped in its baseline).
 */
static void relinks_earlier_links(struct ktest *test)
{
	struct strvec now = STRVEC_INIT;
	struct fixture f;
	char *text;

	setup(test, &f);
	age_top(&f);
	shadow_sync(&f.s, &f.touched);
	shadow_use(&f.s, &f.touched, 1);
	strvec_push(&now, "b.c");
	shadow_sync(&f.s, &now);
	text = shadow_text(&f, "a.c");
	KTEST_EXPECT_STREQ(test, text, "a rewritten\n");
	free(text);
	strvec_clear(&now);
	teardown(&f);
}

/* Files replaced, added or removed in the tree since the last run. */
static void follows_the_tree(struct ktest *test)
{
	struct fixture f;
	char *text, *p;

	setup(test, &f);
	free(ktest_write(test, "linux/d/e/old.c", "old\n"));
	free(ktest_write(test, "linux/d/gone.c", "gone\n"));
	shadow_sync(&f.s, &f.touched);
	free(ktest_write(test, "linux/d/e/old.c", "replaced\n"));
	free(ktest_write(test, "linux/d/new/sub/new.c", "new\n"));
	p = xasprintf("%s/d/gone.c", f.tree);
	unlink(p);
	free(p);
	shadow_sync(&f.s, &f.touched);
	text = shadow_text(&f, "d/e/old.c");
	KTEST_EXPECT_STREQ(test, text, "replaced\n");
	free(text);
	text = shadow_text(&f, "d/new/sub/new.c");
	KTEST_EXPECT_STREQ(test, text, "new\n");
	free(text);
	KTEST_EXPECT_NULL(test, shadow_text(&f, "d/gone.c"));
	KTEST_EXPECT_EQ(test, inode(f.s.dir, "d/new/sub/new.c"),
			inode(f.tree, "d/new/sub/new.c"));
	teardown(&f);
}

/* Another tree at the same path (a new cp -al) gets a new copy. */
static void new_tree_new_copy(struct ktest *test)
{
	struct fixture f;
	char *moved, *marker;

	setup(test, &f);
	age_top(&f);
	shadow_sync(&f.s, &f.touched);
	marker = mark(&f);
	moved = xasprintf("%s.old", f.tree);
	KTEST_ASSERT_EQ(test, rename(f.tree, moved), 0);
	KTEST_ASSERT_EQ(test, mkdir(f.tree, 0755), 0);
	free(ktest_write(test, "linux/Makefile", "VERSION = 6\n"));
	free(ktest_write(test, "linux/a.c", "a\n"));
	age_top(&f);
	shadow_sync(&f.s, &f.touched);
	KTEST_EXPECT_FALSE(test, is_file(marker));
	KTEST_EXPECT_EQ(test, inode(f.s.dir, "a.c"), inode(f.tree, "a.c"));
	free(marker);
	free(moved);
	teardown(&f);
}

static struct ktest_case shadow_cases[] = {
	KTEST_CASE(copies_with_hard_links),
	KTEST_CASE(swaps_originals),
	KTEST_CASE(relinks_earlier_links),
	KTEST_CASE(follows_the_tree),
	KTEST_CASE(new_tree_new_copy),
	{}
};

KTEST_SUITE(shadow, shadow_cases);
