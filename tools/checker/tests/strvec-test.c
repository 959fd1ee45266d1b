// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of strvec.c.
 */
#include <string.h>

#include "ktest.h"
#include "strvec.h"

static void push_copies_and_terminates(struct ktest *test)
{
	struct strvec sv = STRVEC_INIT;
	char buf[] = "abc";
	int i;

	strvec_push(&sv, buf);
	buf[0] = 'x';
	for (i = 0; i < 20; i++)
		strvec_pushf(&sv, "n%d", i);
	KTEST_EXPECT_EQ(test, sv.nr, 21);
	KTEST_EXPECT_STREQ(test, sv.v[0], "abc");
	KTEST_EXPECT_STREQ(test, sv.v[20], "n19");
	KTEST_EXPECT_NULL(test, sv.v[21]);
	strvec_clear(&sv);
	KTEST_EXPECT_EQ(test, sv.nr, 0);
	KTEST_EXPECT_NULL(test, sv.v);
}

/* v[nr] is NULL even where the array held something else. */
static void null_terminated(struct ktest *test)
{
	struct strvec sv = STRVEC_INIT;

	sv.alloc = 8;
	sv.v = malloc(sv.alloc * sizeof(*sv.v));
	KTEST_ASSERT_NOT_NULL(test, sv.v);
	memset(sv.v, 0xff, sv.alloc * sizeof(*sv.v));
	strvec_push(&sv, "a");
	KTEST_EXPECT_NULL(test, sv.v[1]);
	strvec_clear(&sv);
}

static void unique_and_find(struct ktest *test)
{
	struct strvec sv = STRVEC_INIT;

	strvec_push_unique(&sv, "b");
	strvec_push_unique(&sv, "a");
	strvec_push_unique(&sv, "b");
	KTEST_EXPECT_EQ(test, sv.nr, 2);
	KTEST_EXPECT_EQ(test, strvec_find(&sv, "a"), 1);
	KTEST_EXPECT_EQ(test, strvec_find(&sv, "c"), -1);
	strvec_sort(&sv);
	KTEST_EXPECT_STREQ(test, sv.v[0], "a");
	KTEST_EXPECT_STREQ(test, sv.v[1], "b");
	KTEST_EXPECT_TRUE(test, strvec_sorted_has(&sv, "a"));
	KTEST_EXPECT_TRUE(test, strvec_sorted_has(&sv, "b"));
	KTEST_EXPECT_FALSE(test, strvec_sorted_has(&sv, "c"));
	strvec_clear(&sv);
	KTEST_EXPECT_FALSE(test, strvec_sorted_has(&sv, "a"));
}

/* Lines in, lines out: empty lines kept, a last '\n' starts none. */
static void split_and_join(struct ktest *test)
{
	struct strvec sv = STRVEC_INIT;
	char *s;

	strvec_split(&sv, NULL);
	strvec_split(&sv, "");
	KTEST_EXPECT_EQ(test, sv.nr, 0);
	s = strvec_join(&sv, "\n");
	KTEST_EXPECT_STREQ(test, s, "");
	free(s);
	strvec_split(&sv, "a\n\nb c\n");
	KTEST_ASSERT_EQ(test, sv.nr, 3);
	KTEST_EXPECT_STREQ(test, sv.v[1], "");
	KTEST_EXPECT_STREQ(test, sv.v[2], "b c");
	strvec_split(&sv, "d");
	KTEST_ASSERT_EQ(test, sv.nr, 4);
	s = strvec_join(&sv, ", ");
	KTEST_EXPECT_STREQ(test, s, "a, , b c, d");
	free(s);
	strvec_clear(&sv);
}

static struct ktest_case strvec_cases[] = {
	KTEST_CASE(push_copies_and_terminates),
	KTEST_CASE(null_terminated),
	KTEST_CASE(unique_and_find),
	KTEST_CASE(split_and_join),
	{}
};

KTEST_SUITE(strvec, strvec_cases);
