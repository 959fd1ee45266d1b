// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of util.c.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"
#include "util.h"

static void prefixes_and_suffixes(struct ktest *test)
{
	KTEST_EXPECT_TRUE(test, starts_with("drivers/iommu", "drivers/"));
	KTEST_EXPECT_FALSE(test, starts_with("drivers", "drivers/"));
	KTEST_EXPECT_TRUE(test, ends_with("iommu.h", ".h"));
	KTEST_EXPECT_FALSE(test, ends_with("h", ".h"));
}

static void formats(struct ktest *test)
{
	char *s = xasprintf("%s-%d-%.*s", "a", 42, 2, "xyz");

	KTEST_EXPECT_STREQ(test, s, "a-42-xy");
	free(s);
}

/* FNV-1a 64 test vectors. */
static void fnv1a_vectors(struct ktest *test)
{
	KTEST_EXPECT_EQ(test, fnv1a(FNV1A_INIT, "", 0), 0xcbf29ce484222325ULL);
	KTEST_EXPECT_EQ(test, fnv1a(FNV1A_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
	KTEST_EXPECT_EQ(test, fnv1a(fnv1a(FNV1A_INIT, "fo", 2), "o", 1),
			fnv1a(FNV1A_INIT, "foo", 3));
}

/* A hard-linked file (cp -al) is replaced, never written through. */
static void write_file_replaces_links(struct ktest *test)
{
	char *a = ktest_write(test, "a", "old\n");
	char *b = xasprintf("%s/b", ktest_tmpdir(test));
	char *text;
	size_t len;

	KTEST_ASSERT_EQ(test, link(a, b), 0);
	KTEST_EXPECT_EQ(test, write_file(b, "new\n", 4), 0);
	text = read_file(a, &len);
	KTEST_EXPECT_STREQ(test, text, "old\n");
	free(text);
	text = read_file(b, &len);
	KTEST_EXPECT_STREQ(test, text, "new\n");
	KTEST_EXPECT_EQ(test, len, 4);
	free(text);
	KTEST_EXPECT_NULL(test, read_file("/nonexistent/kcheck", NULL));
	free(a);
	free(b);
}

/* All or nothing, through a temporary file that does not stay. */
static void atomic_writes(struct ktest *test)
{
	char *a = ktest_write(test, "a", "old\n");
	char *b = xasprintf("%s/b", ktest_tmpdir(test));
	char *tmp = xasprintf("%s.tmp%ld", b, (long)getpid());
	char *text;

	KTEST_ASSERT_EQ(test, link(a, b), 0);
	KTEST_EXPECT_EQ(test, write_file_atomic(b, "new\n", 4), 0);
	text = read_file(b, NULL);
	KTEST_EXPECT_STREQ(test, text, "new\n");
	free(text);
	text = read_file(a, NULL);
	KTEST_EXPECT_STREQ(test, text, "old\n");
	free(text);
	KTEST_EXPECT_FALSE(test, is_file(tmp));
	KTEST_EXPECT_EQ(test, write_file_atomic("/nonexistent/x", "", 0), -1);
	free(tmp);
	free(b);
	free(a);
}

static void copies_and_makes_dirs(struct ktest *test)
{
	char *a = ktest_write(test, "a", "text");
	char *dir = xasprintf("%s/x/y/z", ktest_tmpdir(test));
	char *c = xasprintf("%s/c", dir);
	char *text;

	KTEST_EXPECT_EQ(test, mkdir_p(dir), 0);
	KTEST_EXPECT_TRUE(test, is_dir(dir));
	KTEST_EXPECT_FALSE(test, is_file(dir));
	KTEST_EXPECT_EQ(test, copy_file(a, c), 0);
	KTEST_EXPECT_TRUE(test, is_file(c));
	text = read_file(c, NULL);
	KTEST_EXPECT_STREQ(test, text, "text");
	KTEST_EXPECT_EQ(test, mkdir_p(c), -1);
	free(text);
	free(a);
	free(c);
	free(dir);
}

static void die_on_purpose(void *data)
{
	die("bad input: %s", (const char *)data);
}

static void die_exits_2_with_one_line(struct ktest *test)
{
	KTEST_EXPECT_DIES(test, die_on_purpose, "xyz",
			  "kbuild-check: error: bad input: xyz\n");
}

static struct ktest_case util_cases[] = {
	KTEST_CASE(prefixes_and_suffixes),
	KTEST_CASE(formats),
	KTEST_CASE(fnv1a_vectors),
	KTEST_CASE(write_file_replaces_links),
	KTEST_CASE(atomic_writes),
	KTEST_CASE(copies_and_makes_dirs),
	KTEST_CASE(die_exits_2_with_one_line),
	{}
};

KTEST_SUITE(util, util_cases);
