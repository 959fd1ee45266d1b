// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of buildlog.c, on output as "make -Otarget -k -j2" prints it.
 */
#include "buildlog.h"
#include "ktest.h"

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

static struct ktest_case buildlog_cases[] = {
	KTEST_CASE(splits_per_object),
	KTEST_CASE(empty_log),
	{}
};

KTEST_SUITE(buildlog, buildlog_cases);
