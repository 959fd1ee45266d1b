// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of prepare.c: which columns this host can build and their
 * make commands.  (Making the output directories runs the kernel's make:
 * tests/test_checker.py.)
 */
#include <string.h>

#include "ktest.h"
#include "prepare.h"
#include "util.h"

static struct target t[2];

static void setup(struct ktest *test, struct checker *c)
{
	free(ktest_write(test, "linux/arch/kc/configs/kc_defconfig", "\n"));
	free(ktest_write(test, "linux/arch/ko/Makefile",
			 "ko_defconfig:\n\t@:\n"));
	memset(c, 0, sizeof(*c));
	memset(t, 0, sizeof(t));
	c->tree = xasprintf("%s/linux", ktest_tmpdir(test));
	c->nr_cols = c->table.nr_arch = 3;
	c->col_name[0] = c->table.arch[0].name = "file";
	c->table.arch[0].srcarch = "kc";
	c->table.arch[0].make_arch = "kc";
	c->table.arch[0].defconfig = "kc_defconfig";
	c->table.arch[0].cross = "";
	c->col_name[1] = c->table.arch[1].name = "target";
	c->table.arch[1].srcarch = "ko";
	c->table.arch[1].make_arch = "ko";
	c->table.arch[1].defconfig = "ko_defconfig";
	c->table.arch[1].cross = "";
	c->col_name[2] = c->table.arch[2].name = "none";
	c->table.arch[2].srcarch = "kn";
	c->table.arch[2].make_arch = "kn";
	c->table.arch[2].defconfig = "kn_defconfig";
	c->table.arch[2].cross = "";
	c->t = t;
	c->nr = 2;
	t[0].arches = 7;
	t[1].arches = 1;
	t[1].skip = "not checked";
}

static void defconfigs(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	prepare_check_arches(&c);
	KTEST_EXPECT_NULL(test, c.col_skip[0]);
	KTEST_EXPECT_NULL(test, c.col_skip[1]);
	KTEST_EXPECT_STREQ(test, c.col_skip[2],
			   "the tree has no kn_defconfig for none (arch/kn/)");
	KTEST_EXPECT_EQ(test, t[0].cell[2].status, CELL_SKIP);
	KTEST_EXPECT_STREQ(test, t[0].cell[2].reason, c.col_skip[2]);
	KTEST_EXPECT_EQ(test, t[0].cell[0].status, CELL_NONE);
	KTEST_EXPECT_EQ(test, t[1].cell[2].status, CELL_NONE);
}

static void compilers(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	strvec_push(&c.cross, "target=kcheck-nonexistent-");
	prepare_check_arches(&c);
	KTEST_EXPECT_NULL(test, c.col_skip[0]);
	KTEST_EXPECT_STREQ(test, c.col_skip[1],
			   "compiler kcheck-nonexistent-gcc not found (install it or use --cross target=PREFIX)");
	KTEST_EXPECT_EQ(test, t[0].cell[1].status, CELL_SKIP);
	strvec_clear(&c.cross);
}

static void cmd_setup(struct checker *c)
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

	cmd_setup(&c);
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

	cmd_setup(&c);
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 0), "aarch64-linux-gnu-");
	strvec_push(&c.cross, "arm64x=/opt/no-");
	strvec_push(&c.cross, "x86_64=/opt/x86-");
	strvec_push(&c.cross, "arm=/opt/arm-");
	strvec_push(&c.cross, "arm64=/opt/arm64-");
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 0), "/opt/arm64-");
	KTEST_EXPECT_STREQ(test, kbuild_cross(&c, 1), "/opt/x86-");
	strvec_clear(&c.cross);
}

static struct ktest_case prepare_cases[] = {
	KTEST_CASE(defconfigs),
	KTEST_CASE(compilers),
	KTEST_CASE(make_commands),
	KTEST_CASE(cross_compilers),
	{}
};

KTEST_SUITE(prepare, prepare_cases);
