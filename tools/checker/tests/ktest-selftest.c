// SPDX-License-Identifier: GPL-2.0
/*
 * The runner itself: failing expectations must fail their case and say
 * where, a crash must fail its case only, ASSERT must end the case, and a
 * case's directory must be gone after it.  Checked with plain C, not with
 * the runner under test.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ktest.h"

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
	free(ktest_write(test, "a/b", "x"));
	printf("    # tmpdir %s\n", ktest_tmpdir(test));
}

static const int eq_line = __LINE__ + 4;

static void fail_eq(struct ktest *test)
{
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
	printf("    # after the assertion\n");
}

static void no_death(void *data)
{
	(void)data;
}

static void fail_not_dying(struct ktest *test)
{
	KTEST_EXPECT_DIES(test, no_death, NULL, "x");
}

static void fail_crash(struct ktest *test)
{
	(void)test;
	abort();
}

static struct ktest_case inner_cases[] = {
	KTEST_CASE(pass_all),
	KTEST_CASE(fail_eq),
	KTEST_CASE(fail_streq),
	KTEST_CASE(fail_substr),
	KTEST_CASE(fail_assert),
	KTEST_CASE(fail_not_dying),
	KTEST_CASE(fail_crash),
	{}
};

static struct ktest_suite inner = { .name = "inner", .cases = inner_cases };

static int failed;

static void run_inner(void *data)
{
	*(int *)data = ktest_run_suite(&inner);
}

static void check(int n, const char *what, int ok)
{
	printf("    %s %d %s\n", ok ? "ok" : "not ok", n, what);
	failed += !ok;
}

static int tmpdir_gone(const char *out)
{
	const char *p = strstr(out, "# tmpdir ");
	char path[256];
	struct stat st;

	if (!p || sscanf(p, "# tmpdir %255s", path) != 1)
		return 0;
	return stat(path, &st) < 0;
}

int main(void)
{
	char where[256];
	struct ktest_case *kc;
	int n = -1, each = 1;
	char *out;

	out = ktest_stdout(run_inner, &n);
	for (kc = inner_cases; kc->name; kc++)
		each &= kc->failed == !strncmp(kc->name, "fail_", 5);
	snprintf(where, sizeof(where),
		 "# fail_eq: %s:%d: expected 1 + 1 == 3, got 2 != 3\n",
		 __FILE__, eq_line);
	printf("KTAP version 1\n1..1\n    KTAP version 1\n");
	printf("    # Subtest: ktest\n    1..7\n");
	check(1, "failed_cases_counted", n == 6);
	check(2, "each_case_judged", each);
	check(3, "failure_says_where", strstr(out, where) != NULL);
	check(4, "crash_fails_its_case",
	      strstr(out, "# fail_crash: crashed (signal 6)\n    not ok 7 fail_crash\n") != NULL);
	check(5, "assert_ends_the_case",
	      !strstr(out, "after the assertion") &&
	      strstr(out, "not ok 5 fail_assert") != NULL);
	check(6, "suite_result", strstr(out, "# inner: pass:1 fail:6\nnot ok 1 inner\n") != NULL);
	check(7, "tmpdir_removed", tmpdir_gone(out));
	if (failed)
		printf("    # the runner's own output:\n%s", out);
	printf("# ktest: pass:%d fail:%d\n%s 1 ktest\n", 7 - failed, failed,
	       failed ? "not ok" : "ok");
	free(out);
	return failed ? 1 : 0;
}
