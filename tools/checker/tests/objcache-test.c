// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of objcache.c, with .cmd files as kbuild writes them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "objcache.h"
#include "util.h"

/* <tmp>/src/d/a.c, <tmp>/src/include/h.h, <tmp>/out/include/gen.h */
static char *setup(struct ktest *test, struct objcache *oc)
{
	const char *tmp = ktest_tmpdir(test);
	char *cmd;

	free(ktest_write(test, "src/d/a.c", "#include <h.h>\n"));
	free(ktest_write(test, "src/include/h.h", "int h;\n"));
	free(ktest_write(test, "out/include/gen.h", "int g;\n"));
	cmd = xasprintf("cmd_d/a.o := gcc -c -o d/a.o %s/src/d/a.c\n\n"
			"source_d/a.o := %s/src/d/a.c\n\n"
			"deps_d/a.o := \\\n"
			"  include/gen.h \\\n"
			"    $(wildcard include/config/FOO) \\\n"
			"  %s/src/include/h.h \\\n\n"
			"d/a.o: $(deps_d/a.o)\n\n$(deps_d/a.o):\n",
			tmp, tmp, tmp);
	free(ktest_write(test, "out/d/.a.o.cmd", cmd));
	free(cmd);
	memset(oc, 0, sizeof(*oc));
	oc->outdir = xasprintf("%s/out", tmp);
	oc->key = "k1";
	oc->kind = "build";
	return (char *)oc->outdir;
}

static void reads_cmd_files(struct ktest *test)
{
	struct strvec deps = STRVEC_INIT;
	struct objcache oc;
	char *out = setup(test, &oc);
	const char *tmp = ktest_tmpdir(test);
	char *want;

	KTEST_ASSERT_EQ(test, cmd_file_deps(out, "d/a.o", &deps), 0);
	KTEST_ASSERT_EQ(test, deps.nr, 4);
	want = xasprintf("%s/src/d/a.c", tmp);
	KTEST_EXPECT_STREQ(test, deps.v[0], want);
	free(want);
	want = xasprintf("%s/out/include/gen.h", tmp);
	KTEST_EXPECT_STREQ(test, deps.v[1], want);
	free(want);
	want = xasprintf("%s/out/include/config/FOO", tmp);
	KTEST_EXPECT_STREQ(test, deps.v[2], want);
	free(want);
	want = xasprintf("%s/src/include/h.h", tmp);
	KTEST_EXPECT_STREQ(test, deps.v[3], want);
	free(want);
	strvec_clear(&deps);
	KTEST_EXPECT_EQ(test, cmd_file_deps(out, "d/b.o", &deps), -1);
	free(out);
}

static char *lookup(const struct objcache *oc)
{
	return objcache_lookup(oc, "d/a.o");
}

static void keeps_and_finds(struct ktest *test)
{
	struct objcache oc;
	char *out = setup(test, &oc);
	char *part;

	KTEST_EXPECT_NULL(test, lookup(&oc));
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "  CC d/a.o\nw\n"), 0);
	part = lookup(&oc);
	KTEST_EXPECT_STREQ(test, part, "  CC d/a.o\nw\n");
	free(part);
	oc.kind = "base";
	KTEST_EXPECT_NULL(test, lookup(&oc));
	oc.kind = "build";
	oc.key = "k2";
	KTEST_EXPECT_NULL(test, lookup(&oc));
	oc.key = "k1";
	KTEST_EXPECT_EQ(test, objcache_store(&oc, "d/none.o", "x"), -1);
	free(out);
}

static void write_source(struct ktest *test, int version)
{
	char *text = xasprintf("int a%d;\n", version);

	free(ktest_write(test, "src/d/a.c", text));
	free(text);
}

/*
 * A series builds a file once per patch that changes it: each of the last
 * OBJCACHE_KEEP builds is found again, the newest first, older ones go.
 */
static void keeps_the_last_builds(struct ktest *test)
{
	struct objcache oc;
	char *out = setup(test, &oc);
	char part[16], *got;
	int v;

	for (v = 0; v <= OBJCACHE_KEEP; v++) {
		write_source(test, v);
		snprintf(part, sizeof(part), "part %d", v);
		KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", part), 0);
	}
	for (v = OBJCACHE_KEEP; v > 0; v--) {
		write_source(test, v);
		snprintf(part, sizeof(part), "part %d", v);
		got = lookup(&oc);
		KTEST_EXPECT_STREQ(test, got, part);
		free(got);
	}
	write_source(test, 0);		/* the oldest: gone */
	KTEST_EXPECT_NULL(test, lookup(&oc));
	/* the last one now, hit: it goes first, a new build keeps it */
	write_source(test, OBJCACHE_KEEP);
	free(lookup(&oc));
	write_source(test, 9);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part 9"), 0);
	write_source(test, OBJCACHE_KEEP);
	snprintf(part, sizeof(part), "part %d", OBJCACHE_KEEP);
	got = lookup(&oc);
	KTEST_EXPECT_STREQ(test, got, part);
	free(got);
	/* the oldest kept (2), hit: it goes first, the next build keeps it */
	write_source(test, 2);
	free(lookup(&oc));
	write_source(test, 10);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part 10"), 0);
	write_source(test, 2);
	got = lookup(&oc);
	KTEST_EXPECT_STREQ(test, got, "part 2");
	free(got);
	free(out);
}

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	utimensat(AT_FDCWD, path, ts, 0);
}

/* Any file the object was built from: a new content is a miss. */
static void content_changes_miss(struct ktest *test)
{
	struct objcache oc;
	char *out = setup(test, &oc);
	char *p;

	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part"), 0);
	p = ktest_write(test, "src/include/h.h", "int H;\n");
	KTEST_EXPECT_NULL(test, lookup(&oc));
	free(p);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part"), 0);
	p = ktest_write(test, "out/include/gen.h", "int g2;\n");
	KTEST_EXPECT_NULL(test, lookup(&oc));
	free(p);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part"), 0);
	p = ktest_write(test, "out/include/config/FOO", "");
	KTEST_EXPECT_NULL(test, lookup(&oc));
	free(p);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part"), 0);
	p = xasprintf("%s/src/d/a.c", ktest_tmpdir(test));
	unlink(p);
	KTEST_EXPECT_NULL(test, lookup(&oc));
	free(p);
	free(out);
}

/* A new inode or mtime with the same content is no change. */
static void same_content_hits(struct ktest *test)
{
	struct objcache oc;
	char *out = setup(test, &oc);
	char *p, *part;

	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "part"), 0);
	p = ktest_write(test, "src/include/h.h", "int h;\n");
	set_mtime(p, 1000000);
	part = lookup(&oc);
	KTEST_EXPECT_STREQ(test, part, "part");
	free(part);
	free(p);
	free(out);
}

static char *to_orig(const char *dep, void *data)
{
	const char *tmp = data;
	char *a = xasprintf("%s/src/d/a.c", tmp);
	char *o = NULL;

	if (!strcmp(dep, a))
		o = xasprintf("%s/orig/d/a.c", tmp);
	free(a);
	return o;
}

/* The baseline reads a touched file from its original. */
static void mapped_dependencies(struct ktest *test)
{
	struct objcache oc;
	char *out = setup(test, &oc);
	char *p, *part;

	free(ktest_write(test, "orig/d/a.c", "original\n"));
	oc.kind = "base";
	oc.map = to_orig;
	oc.data = (void *)ktest_tmpdir(test);
	KTEST_ASSERT_EQ(test, objcache_store(&oc, "d/a.o", "base part"), 0);
	p = ktest_write(test, "src/d/a.c", "rewritten\n");
	part = lookup(&oc);
	KTEST_EXPECT_STREQ(test, part, "base part");
	free(part);
	free(p);
	p = ktest_write(test, "orig/d/a.c", "another original\n");
	KTEST_EXPECT_NULL(test, lookup(&oc));
	free(p);
	free(out);
}

static struct ktest_case objcache_cases[] = {
	KTEST_CASE(reads_cmd_files),
	KTEST_CASE(keeps_and_finds),
	KTEST_CASE(keeps_the_last_builds),
	KTEST_CASE(content_changes_miss),
	KTEST_CASE(same_content_hits),
	KTEST_CASE(mapped_dependencies),
	{}
};

KTEST_SUITE(objcache, objcache_cases);
