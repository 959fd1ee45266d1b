// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of diag.c: compiler and sparse lines as kbuild prints them,
 * and logs of "make -Otarget -k -j2" split per object.
 */
#include "diag.h"
#include "ktest.h"

static const char *const roots[] = { "/w/src", "/k/linux", NULL };

static void gcc_and_sparse_lines(struct ktest *test)
{
	struct diag_list l = DIAG_LIST_INIT;

	diag_parse("  CC      drivers/iommu/a.o\n"
		   "/w/src/drivers/iommu/a.c: In function 'f':\n"
		   "/w/src/drivers/iommu/a.c:12:5: warning: unused variable 'x' [-Wunused-variable]\n"
		   "   12 |  int x;\n"
		   "/k/linux/include/linux/iommu.h:7: error: expected ';'\n"
		   "./drivers/iommu/b.c:3:1: fatal error: b.h: No such file or directory\n"
		   "  CHECK   /w/src/drivers/iommu/a.c\n"
		   "/w/src/drivers/iommu/a.c:40:6: warning: symbol 'g' was not declared. Should it be static?\n"
		   "/w/src/drivers/iommu/a.c:41:6: note: in expansion of macro\n"
		   "make[4]: *** [scripts/Makefile.build:250: drivers/iommu/a.o] Error 1\n",
		   roots, &l);
	KTEST_ASSERT_EQ(test, l.nr, 4);
	KTEST_EXPECT_STREQ(test, l.d[0].path, "drivers/iommu/a.c");
	KTEST_EXPECT_STREQ(test, l.d[0].text,
			   "drivers/iommu/a.c:12:5: warning: unused variable 'x' [-Wunused-variable]");
	KTEST_EXPECT_STREQ(test, l.d[0].key,
			   "drivers/iommu/a.c: warning: unused variable 'x' [-Wunused-variable]");
	KTEST_EXPECT_FALSE(test, l.d[0].is_error);
	KTEST_EXPECT_STREQ(test, l.d[1].path, "include/linux/iommu.h");
	KTEST_EXPECT_STREQ(test, l.d[1].key, "include/linux/iommu.h: error: expected ';'");
	KTEST_EXPECT_TRUE(test, l.d[1].is_error);
	KTEST_EXPECT_STREQ(test, l.d[2].path, "drivers/iommu/b.c");
	KTEST_EXPECT_TRUE(test, l.d[2].is_error);
	KTEST_EXPECT_STREQ(test, l.d[3].key,
			   "drivers/iommu/a.c: warning: symbol 'g' was not declared. Should it be static?");
	diag_clear(&l);
	KTEST_EXPECT_EQ(test, l.nr, 0);
}

/* gcc's UTF-8 quotes become ASCII, so that logs compare in any locale. */
static void not_diagnostics(struct ktest *test)
{
	struct diag_list l = DIAG_LIST_INIT;

	diag_parse("In file included from /w/src/a.h:3,\n"
		   "warning: no path\n"
		   "a b.c:1:1: warning: space before the colon\n"
		   "a.c: warning: no line number\n"
		   "a.c:1:1: remark: unknown kind\n"
		   ":1:1: warning: empty path\n",
		   roots, &l);
	KTEST_EXPECT_EQ(test, l.nr, 0);
	diag_parse(NULL, roots, &l);
	KTEST_EXPECT_EQ(test, l.nr, 0);
	diag_clear(&l);
}

/* New: beyond the baseline, counting duplicates, whatever the line. */
static void new_keys(struct ktest *test)
{
	struct diag_list base = DIAG_LIST_INIT, now = DIAG_LIST_INIT;
	struct diag_list fresh = DIAG_LIST_INIT;

	diag_parse("/w/src/a.c:1:1: warning: w1\n/w/src/a.c:9:1: warning: w2\n",
		   roots, &base);
	diag_parse("/w/src/a.c:5:1: warning: w2\n/w/src/a.c:7:1: warning: w1\n"
		   "/w/src/a.c:8:1: warning: w1\n/w/src/a.c:9:1: warning: w3\n",
		   roots, &now);
	diag_new_keys(&base, &now, &fresh);
	KTEST_ASSERT_EQ(test, fresh.nr, 2);
	KTEST_EXPECT_STREQ(test, fresh.d[0].text, "a.c:8:1: warning: w1");
	KTEST_EXPECT_STREQ(test, fresh.d[1].text, "a.c:9:1: warning: w3");
	diag_clear(&fresh);
	diag_new_keys(&now, &base, &fresh);
	KTEST_EXPECT_EQ(test, fresh.nr, 0);
	diag_clear(&base);
	diag_clear(&now);
	diag_clear(&fresh);
}

static void error_lines(struct ktest *test)
{
	const char *log =
		"/w/src/include/x.h:1:1: error: in the header\n"
		"/w/src/d/a.c:2:1: error: in the file\n"
		"/w/src/d/a.c:3:1: warning: not an error\n"
		"make[4]: *** [scripts/Makefile.build:250: d/a.o] Error 1\n";
	struct diag_list l = DIAG_LIST_INIT;
	struct strvec out = STRVEC_INIT;

	diag_parse(log, roots, &l);
	diag_error_lines(&l, "d/a.c", "d/a.c", "d/a.o", log, &out);
	KTEST_ASSERT_EQ(test, out.nr, 1);
	KTEST_EXPECT_STREQ(test, out.v[0], "d/a.c:2:1: error: in the file");
	strvec_clear(&out);
	/* the header checked via a.c: its own error first */
	diag_error_lines(&l, "d/a.c", "include/x.h", "d/a.o", log, &out);
	KTEST_EXPECT_EQ(test, out.nr, 2);
	strvec_clear(&out);
	/* nothing in its files: any error, then make's line */
	diag_error_lines(&l, "d/b.c", "d/b.c", "d/b.o", log, &out);
	KTEST_EXPECT_EQ(test, out.nr, 2);
	strvec_clear(&out);
	diag_clear(&l);
	diag_error_lines(&l, "d/a.c", "d/a.c", "d/a.o", log, &out);
	KTEST_ASSERT_EQ(test, out.nr, 1);
	KTEST_EXPECT_SUBSTR(test, out.v[0], "*** [scripts/Makefile.build:250: d/a.o]");
	strvec_clear(&out);
}

static const char log_text[] =
	"$ make -C/w/src O=/w/arm64 ARCH=arm64 W=1 C=1 -j2 -k -Otarget a/x.o\n"
	"make[1]: Entering directory '/w/arm64'\n"
	"  GEN     Makefile\n"
	"  CALL    /w/src/scripts/checksyscalls.sh\n"
	"  CC [M]  a/x.o\n"
	"/w/src/a/x.c:1:1: warning: in x\n"
	"  CHECK   /w/src/a/x.c\n"
	"/w/src/a/x.c:2:1: warning: sparse in x\n"
	"  CC      a/b/y.o\n"
	"/w/src/a/b/y.c:1:1: error: in y\n"
	"   12 |  int y\n"
	"      |       ^\n"
	"make[4]: *** [scripts/Makefile.build:250: a/b/y.o] Error 1\n"
	"  CC      a/other.o\n"
	"/w/src/a/other.c:1:1: warning: not ours\n"
	"  CC      a/z.o\n"
	"  CHECK   /w/src/a/z.c\n"
	"make[1]: Leaving directory '/w/arm64'\n";

static void splits_per_object(struct ktest *test)
{
	struct strvec objs = STRVEC_INIT;
	char *parts[4];

	strvec_push(&objs, "a/x.o");
	strvec_push(&objs, "a/b/y.o");
	strvec_push(&objs, "a/z.o");
	strvec_push(&objs, "a/missing.o");
	KTEST_EXPECT_EQ(test, buildlog_split(log_text, &objs, parts), 3);
	KTEST_EXPECT_STREQ(test, parts[0],
			   "  CC [M]  a/x.o\n"
			   "/w/src/a/x.c:1:1: warning: in x\n"
			   "  CHECK   /w/src/a/x.c\n"
			   "/w/src/a/x.c:2:1: warning: sparse in x\n");
	KTEST_EXPECT_STREQ(test, parts[1],
			   "  CC      a/b/y.o\n"
			   "/w/src/a/b/y.c:1:1: error: in y\n"
			   "   12 |  int y\n"
			   "      |       ^\n");
	KTEST_EXPECT_STREQ(test, parts[2], "  CC      a/z.o\n  CHECK   /w/src/a/z.c\n");
	KTEST_EXPECT_NULL(test, parts[3]);
	free(parts[0]);
	free(parts[1]);
	free(parts[2]);
	strvec_clear(&objs);
}

static void empty_log(struct ktest *test)
{
	struct strvec objs = STRVEC_INIT;
	char *parts[1];

	strvec_push(&objs, "a/x.o");
	KTEST_EXPECT_EQ(test, buildlog_split(NULL, &objs, parts), 0);
	KTEST_EXPECT_NULL(test, parts[0]);
	KTEST_EXPECT_EQ(test, buildlog_split("make: *** No rule\n", &objs, parts), 0);
	KTEST_EXPECT_NULL(test, parts[0]);
	strvec_clear(&objs);
}

static struct ktest_case diag_cases[] = {
	KTEST_CASE(gcc_and_sparse_lines),
	KTEST_CASE(not_diagnostics),
	KTEST_CASE(new_keys),
	KTEST_CASE(error_lines),
	KTEST_CASE(splits_per_object),
	KTEST_CASE(empty_log),
	{}
};

KTEST_SUITE(diag, diag_cases);
