// SPDX-License-Identifier: GPL-2.0
/*
 * The runner itself: failing expectations must fail their case, say where,
 * and make the suite fail; ASSERT must end the case.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ktest.h"

static int after_assert;
static int eq_line;
static char tmp_path[256];

static void pass_all(struct ktest *test)
{
	KTEST_EXPECT_EQ(test, 2, 2);
	KTEST_EXPECT_NE(test, 2, 3);
	KTEST_EXPECT_STREQ(test, "a", "a");
	KTEST_EXPECT_STREQ(test, NULL, NULL);
	KTEST_EXPECT_SUBSTR(test, "abc", "b");
	KTEST_EXPECT_NOT_SUBSTR(test, "abc", "d");
	KTEST_EXPECT_NULL(test, NULL);
	KTEST_ASSERT_TRUE(test, 1);
	snprintf(tmp_path, sizeof(tmp_path), "%s", ktest_tmpdir(test));
	free(ktest_write(test, "a/b", "x"));
}

static void fail_eq(struct ktest *test)
{
	eq_line = __LINE__ + 1;
	KTEST_EXPECT_EQ(test, 1 + 1, 3);
}

static void fail_streq(struct ktest *test)
{
	KTEST_EXPECT_STREQ(test, "a", NULL);
}

static void fail_substr(struct ktest *test)
{
	KTEST_EXPECT_SUBSTR(test, "abc", "x");
}

static void fail_assert(struct ktest *test)
{
	KTEST_ASSERT_EQ(test, 1, 0);
	after_assert = 1;
}

static void no_death(void *data)
{
	(void)data;
}

static void fail_not_dying(struct ktest *test)
{
	KTEST_EXPECT_DIES(test, no_death, NULL, "x");
}

static struct ktest_case inner_cases[] = {
	KTEST_CASE(pass_all),
	KTEST_CASE(fail_eq),
	KTEST_CASE(fail_streq),
	KTEST_CASE(fail_substr),
	KTEST_CASE(fail_assert),
	KTEST_CASE(fail_not_dying),
	{}
};

static struct ktest_suite inner = { .name = "inner", .cases = inner_cases };

static void run_inner(void *data)
{
	*(int *)data = ktest_run_suite(&inner);
}

static void runner_reports_failures(struct ktest *test)
{
	struct ktest_case *kc;
	char where[256];
	int failed = -1;
	struct stat st;
	char *out;

	out = ktest_stdout(run_inner, &failed);
	KTEST_EXPECT_EQ(test, failed, 5);
	for (kc = inner_cases; kc->name; kc++)
		KTEST_EXPECT_EQ(test, kc->failed, !strncmp(kc->name, "fail_", 5));
	KTEST_EXPECT_SUBSTR(test, out, "    ok 1 pass_all\n");
	KTEST_EXPECT_SUBSTR(test, out, "    not ok 2 fail_eq\n");
	snprintf(where, sizeof(where),
		 "# fail_eq: %s:%d: expected 1 + 1 == 3, got 2 != 3\n",
		 __FILE__, eq_line);
	KTEST_EXPECT_SUBSTR(test, out, where);
	KTEST_EXPECT_SUBSTR(test, out, "got \"a\" and \"(null)\"");
	KTEST_EXPECT_SUBSTR(test, out, "expected \"x\" in \"abc\"");
	KTEST_EXPECT_SUBSTR(test, out, "expected no_death to die (exit 2), got 0");
	KTEST_EXPECT_SUBSTR(test, out, "# inner: pass:1 fail:5\nnot ok 1 inner\n");
	KTEST_EXPECT_EQ(test, after_assert, 0);
	KTEST_EXPECT_TRUE(test, tmp_path[0] && stat(tmp_path, &st) < 0);
	free(out);
}

static struct ktest_case selftest_cases[] = {
	KTEST_CASE(runner_reports_failures),
	{}
};

KTEST_SUITE(ktest, selftest_cases);
