/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktest: a small KUnit-like runner for kbuild-check's unit tests.
 *
 * A test file holds one suite (the module it tests) of cases:
 *
 *	static void parses_a_warning(struct ktest *test)
 *	{
 *		KTEST_EXPECT_EQ(test, parse("..."), 0);
 *	}
 *
 *	static struct ktest_case diag_cases[] = {
 *		KTEST_CASE(parses_a_warning),
 *		{}
 *	};
 *
 *	KTEST_SUITE(diag, diag_cases);
 *
 * EXPECT records a failure and goes on; ASSERT also ends the case.  Each
 * case runs in a process of its own (a crash fails that case only).  The
 * output is KTAP; the exit status is 1 if any case failed.
 */
#ifndef KTEST_H
#define KTEST_H

#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>

struct ktest {
	const char *name;
	int failed;
	char *tmpdir;		/* ktest_tmpdir(), removed after the case */
	jmp_buf abort;		/* ASSERT failures end the case here */
};

struct ktest_case {
	const char *name;
	void (*run)(struct ktest *test);
	int failed;		/* set by the runner */
};

struct ktest_suite {
	const char *name;
	struct ktest_case *cases;
};

#define KTEST_CASE(fn) { .name = #fn, .run = fn }

/* Runs the suite, prints KTAP; returns the number of failed cases. */
int ktest_run_suite(struct ktest_suite *suite);

#define KTEST_SUITE(sname, scases)					\
	static struct ktest_suite sname##_suite = {			\
		.name = #sname,						\
		.cases = scases,					\
	};								\
	int main(void)							\
	{								\
		return ktest_run_suite(&sname##_suite) ? 1 : 0;		\
	}

void ktest_fail(struct ktest *test, const char *file, int line,
		const char *fmt, ...);
void ktest_abort(struct ktest *test);
int ktest_streq(const char *a, const char *b);
int ktest_contains(const char *haystack, const char *needle);

#define KTEST_FAIL(test, ...) ktest_fail(test, __FILE__, __LINE__, __VA_ARGS__)

#define KTEST_EXPECT_TRUE(test, cond)					\
	do {								\
		if (!(cond))						\
			KTEST_FAIL(test, "expected %s", #cond);		\
	} while (0)

#define KTEST_EXPECT_FALSE(test, cond)					\
	do {								\
		if (cond)						\
			KTEST_FAIL(test, "expected not %s", #cond);	\
	} while (0)

#define KTEST_EXPECT_EQ(test, left, right)				\
	do {								\
		long long l_ = (long long)(left);			\
		long long r_ = (long long)(right);			\
		if (l_ != r_)						\
			KTEST_FAIL(test, "expected %s == %s, got %lld != %lld", \
				   #left, #right, l_, r_);		\
	} while (0)

#define KTEST_EXPECT_NE(test, left, right)				\
	do {								\
		long long l_ = (long long)(left);			\
		long long r_ = (long long)(right);			\
		if (l_ == r_)						\
			KTEST_FAIL(test, "expected %s != %s, both %lld", \
				   #left, #right, l_);			\
	} while (0)

#define KTEST_EXPECT_STREQ(test, left, right)				\
	do {								\
		const char *l_ = (left), *r_ = (right);			\
		if (!ktest_streq(l_, r_))				\
			KTEST_FAIL(test, "expected %s == %s, got \"%s\" and \"%s\"", \
				   #left, #right, l_ ? l_ : "(null)",	\
				   r_ ? r_ : "(null)");			\
	} while (0)

#define KTEST_EXPECT_SUBSTR(test, haystack, needle)			\
	do {								\
		const char *h_ = (haystack), *n_ = (needle);		\
		if (!ktest_contains(h_, n_))				\
			KTEST_FAIL(test, "expected \"%s\" in %s, which is \"%s\"", \
				   n_, #haystack, h_ ? h_ : "(null)");	\
	} while (0)

#define KTEST_EXPECT_NOT_SUBSTR(test, haystack, needle)			\
	do {								\
		const char *h_ = (haystack), *n_ = (needle);		\
		if (ktest_contains(h_, n_))				\
			KTEST_FAIL(test, "expected no \"%s\" in %s, which is \"%s\"", \
				   n_, #haystack, h_);			\
	} while (0)

#define KTEST_EXPECT_NULL(test, ptr)					\
	KTEST_EXPECT_TRUE(test, (ptr) == NULL)

#define KTEST_EXPECT_NOT_NULL(test, ptr)				\
	KTEST_EXPECT_TRUE(test, (ptr) != NULL)

#define KTEST_ASSERT_TRUE(test, cond)					\
	do {								\
		if (!(cond)) {						\
			KTEST_FAIL(test, "assertion %s", #cond);	\
			ktest_abort(test);				\
		}							\
	} while (0)

#define KTEST_ASSERT_EQ(test, left, right)				\
	do {								\
		int f_ = (test)->failed;				\
		KTEST_EXPECT_EQ(test, left, right);			\
		if ((test)->failed != f_)				\
			ktest_abort(test);				\
	} while (0)

#define KTEST_ASSERT_NOT_NULL(test, ptr)				\
	KTEST_ASSERT_TRUE(test, (ptr) != NULL)

/* A directory for this case, removed with what is in it after the case. */
const char *ktest_tmpdir(struct ktest *test);

/* Writes @text to @rel under ktest_tmpdir(), making directories. */
char *ktest_write(struct ktest *test, const char *rel, const char *text);

/* What @fn(@data) prints on stdout (flushed), as a string to free. */
char *ktest_stdout(void (*fn)(void *data), void *data);

/*
 * Runs @fn(@data) in a child process, for code that exits (die()).
 * Returns its exit status (-1: killed); *@err gets its stderr.
 */
int ktest_exit_status(void (*fn)(void *data), void *data, char **err);

#define KTEST_EXPECT_DIES(test, fn, data, needle)			\
	do {								\
		char *e_ = NULL;					\
		int s_ = ktest_exit_status(fn, data, &e_);		\
		if (s_ != 2)						\
			KTEST_FAIL(test, "expected %s to die (exit 2), got %d", \
				   #fn, s_);				\
		KTEST_EXPECT_SUBSTR(test, e_, needle);			\
		free(e_);						\
	} while (0)

#endif
