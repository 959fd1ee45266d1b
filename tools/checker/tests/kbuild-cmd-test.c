// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kbuild-cmd.c.
 */
#include <string.h>

#include "kbuild-cmd.h"
#include "ktest.h"

static void setup(struct checker *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_cols = 2;
	c->jobs = 3;
	c->shadow.dir = "/w/src";
	c->col_out[0] = "/w/arm64";
	c->col_out[1] = "/w/x86_64";
	c->table.nr_arch = 2;
	c->table.arch[0].name = "arm64";
	c->table.arch[0].make_arch = "arm64";
	c->table.arch[0].cross = "aarch64-linux-gnu-";
	c->table.arch[1].name = "x86_64";
	c->table.arch[1].make_arch = "x86_64";
	c->table.arch[1].cross = "";
	strvec_push(&c->table.env, "MAKEFLAGS");
	strvec_push(&c->table.env, "LC_ALL=C");
}

static char *joined(const struct strvec *sv)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < sv->nr; i++)
		len += strlen(sv->v[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < sv->nr; i++)
		strcat(strcat(s, i ? " " : ""), sv->v[i]);
	return s;
}

static void make_commands(struct ktest *test)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	struct checker c;
	char *s;

	setup(&c);
	c.sparse = 1;
	kbuild_make_cmd(&c, 0, &cmd);
	s = joined(&cmd.args);
	KTEST_EXPECT_STREQ(test, s,
			   "make -C/w/src O=/w/arm64 ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- W=1 C=1 -j3");
	free(s);
	/* the table's environment, as it is */
	KTEST_EXPECT_EQ(test, cmd.env.nr, 2);
	KTEST_EXPECT_TRUE(test, strvec_find(&cmd.env, "LC_ALL=C") >= 0);
	KTEST_EXPECT_TRUE(test, strvec_find(&cmd.env, "MAKEFLAGS") >= 0);
	child_process_clear(&cmd);
	c.sparse = 0;
	kbuild_make_cmd(&c, 1, &cmd);
	s = joined(&cmd.args);
	KTEST_EXPECT_STREQ(test, s, "make -C/w/src O=/w/x86_64 ARCH=x86_64 W=1 -j3");
	free(s);
	child_process_clear(&cmd);
}

static void cross_compilers(struct ktest *test)
{
	struct checker c;

	setup(&c);
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 0), "aarch64-linux-gnu-");
	strvec_push(&c.cross, "arm64x=/opt/no-");
	strvec_push(&c.cross, "x86_64=/opt/x86-");
	strvec_push(&c.cross, "arm=/opt/arm-");
	strvec_push(&c.cross, "arm64=/opt/arm64-");
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 0), "/opt/arm64-");
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 1), "/opt/x86-");
	strvec_clear(&c.cross);
}

static struct ktest_case kbuild_cmd_cases[] = {
	KTEST_CASE(make_commands),
	KTEST_CASE(cross_compilers),
	{}
};

KTEST_SUITE(kbuild_cmd, kbuild_cmd_cases);
