// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tree.c.
 */
#include <string.h>
#include <sys/stat.h>

#include "ktest.h"
#include "tree.h"
#include "util.h"

static const char top_makefile[] =
	"# the top Makefile\n"
	"VERSION = 6\n"
	"PATCHLEVEL =\t1\n"
	"SUBLEVEL = 192\n"
	"EXTRAVERSION =\n"
	"NAME = Curry Ramen\n"
	"VERSION_X = no\n";

static void makefile_variables(struct ktest *test)
{
	char *v = makefile_var(top_makefile, "VERSION");
	char *p = makefile_var(top_makefile, "PATCHLEVEL");
	char *s = makefile_var(top_makefile, "SUBLEVEL");
	char *e = makefile_var(top_makefile, "EXTRAVERSION");
	char *n = makefile_var(top_makefile, "NAME");

	KTEST_EXPECT_STREQ(test, v, "6");
	KTEST_EXPECT_STREQ(test, p, "1");
	KTEST_EXPECT_STREQ(test, s, "192");
	KTEST_EXPECT_STREQ(test, e, "");
	KTEST_EXPECT_STREQ(test, n, "Curry Ramen");
	KTEST_EXPECT_NULL(test, makefile_var(top_makefile, "KERNELVERSION"));
	free(v);
	free(p);
	free(s);
	free(e);
	free(n);
}

static void write_tree(struct ktest *test, const char *makefile, int kbuild)
{
	free(ktest_write(test, "linux/Makefile", makefile));
	free(ktest_write(test, "linux/include/linux/types.h", "\n"));
	if (!kbuild)
		return;
	free(ktest_write(test, "linux/scripts/config", "#!/bin/sh\n"));
	free(ktest_write(test, "linux/arch/x86/Makefile", "\n"));
}

static void kbuild_tree(struct ktest *test)
{
	struct tree_info info;
	char *path, *orig;

	write_tree(test, top_makefile, 1);
	path = xasprintf("%s/linux", ktest_tmpdir(test));
	tree_detect(path, &info);
	KTEST_EXPECT_STREQ(test, info.version, "6.1.192");
	KTEST_EXPECT_FALSE(test, info.fixture);
	KTEST_EXPECT_TRUE(test, starts_with(info.id, "linux-6.1.192-"));
	KTEST_EXPECT_EQ(test, strlen(info.id), strlen("linux-6.1.192-") + 8);
	KTEST_EXPECT_NULL(test, info.orig_dir);
	orig = xasprintf("%s/.iommu-dma/orig", path);
	KTEST_ASSERT_EQ(test, mkdir_p(orig), 0);
	tree_detect(path, &info);
	KTEST_EXPECT_STREQ(test, info.orig_dir, orig);
	free(orig);
	free(path);
}

/* The id is per path and version: a copy elsewhere gets its own. */
static void ids_differ_by_path(struct ktest *test)
{
	struct tree_info a, b;
	char *pa, *pb;

	write_tree(test, top_makefile, 1);
	free(ktest_write(test, "other/linux/Makefile", top_makefile));
	free(ktest_write(test, "other/linux/include/linux/types.h", "\n"));
	pa = xasprintf("%s/linux", ktest_tmpdir(test));
	pb = xasprintf("%s/other/linux", ktest_tmpdir(test));
	tree_detect(pa, &a);
	tree_detect(pb, &b);
	KTEST_EXPECT_FALSE(test, ktest_streq(a.id, b.id));
	free(pa);
	free(pb);
}

static void fixture_tree(struct ktest *test)
{
	struct tree_info info;
	char *path;

	/* by EXTRAVERSION, even with scripts/config and arch/ */
	write_tree(test, "VERSION = 6\nPATCHLEVEL = 1\nEXTRAVERSION = -fixtures\n",
		   1);
	path = xasprintf("%s/linux", ktest_tmpdir(test));
	tree_detect(path, &info);
	KTEST_EXPECT_STREQ(test, info.version, "6.1.0-fixtures");
	KTEST_EXPECT_TRUE(test, info.fixture);
	free(path);
}

static char *bad_tree;

static void detect_bad(void *data)
{
	struct tree_info info;

	(void)data;
	tree_detect(bad_tree, &info);
}

static void not_kernel_trees(struct ktest *test)
{
	bad_tree = xasprintf("%s/linux", ktest_tmpdir(test));
	KTEST_EXPECT_DIES(test, detect_bad, NULL, "is not a kernel tree (no Makefile)");
	free(ktest_write(test, "linux/Makefile", "all:\n"));
	KTEST_EXPECT_DIES(test, detect_bad, NULL, "no VERSION/PATCHLEVEL");
	free(ktest_write(test, "linux/Makefile", top_makefile));
	KTEST_EXPECT_DIES(test, detect_bad, NULL, "(no include/linux)");
	free(bad_tree);
}

static struct ktest_case tree_cases[] = {
	KTEST_CASE(makefile_variables),
	KTEST_CASE(kbuild_tree),
	KTEST_CASE(ids_differ_by_path),
	KTEST_CASE(fixture_tree),
	KTEST_CASE(not_kernel_trees),
	{}
};

KTEST_SUITE(tree, tree_cases);
