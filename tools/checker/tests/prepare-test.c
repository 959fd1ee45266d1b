// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of prepare.c: which columns this host can build, their
 * make commands, and when their .config is made again.  (Making the output directories runs the kernel's make:
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

static const char config[] =
	"\nCONFIG_A=y\n"
	"CONFIG_B=m\n"
	"# CONFIG_C is not set\n"
	"CONFIG_D=\"y\"\n"
	"CONFIG_AB=y\n";

static void enabled_symbols(struct ktest *test)
{
	KTEST_EXPECT_TRUE(test, config_enabled(config, "A"));
	KTEST_EXPECT_TRUE(test, config_enabled(config, "B"));
	KTEST_EXPECT_FALSE(test, config_enabled(config, "C"));
	KTEST_EXPECT_FALSE(test, config_enabled(config, "D"));
	KTEST_EXPECT_FALSE(test, config_enabled(config, "ABC"));
	KTEST_EXPECT_FALSE(test, config_enabled(NULL, "A"));
	KTEST_EXPECT_TRUE(test, config_sym_ok(config, "A"));
	KTEST_EXPECT_FALSE(test, config_sym_ok(config, "!A"));
	KTEST_EXPECT_TRUE(test, config_sym_ok(config, "!C"));
	KTEST_EXPECT_TRUE(test, config_sym_ok(NULL, "!C"));
}

/* The first line of .config counts too. */
static void reads_config(struct ktest *test)
{
	char *p = ktest_write(test, "out/.config", "CONFIG_FIRST=y\n");
	char *dir = xasprintf("%s/out", ktest_tmpdir(test));
	char *text = config_read(dir);

	KTEST_EXPECT_TRUE(test, config_enabled(text, "FIRST"));
	free(text);
	free(dir);
	free(p);
	KTEST_EXPECT_NULL(test, config_read("/nonexistent"));
}

static void prepare_modes(struct ktest *test)
{
	struct strvec syms = STRVEC_INIT;

	strvec_push(&syms, "A");
	strvec_push(&syms, "!C");
	KTEST_EXPECT_EQ(test, config_prepare_mode("s", "s", config, &syms),
			PREPARE_REUSE);
	KTEST_EXPECT_EQ(test, config_prepare_mode(NULL, "s", config, &syms),
			PREPARE_DEFCONFIG);
	KTEST_EXPECT_EQ(test, config_prepare_mode("t", "s", config, &syms),
			PREPARE_DEFCONFIG);
	KTEST_EXPECT_EQ(test, config_prepare_mode("s", "s", NULL, &syms),
			PREPARE_DEFCONFIG);
	strvec_push(&syms, "E");
	KTEST_EXPECT_EQ(test, config_prepare_mode("s", "s", config, &syms),
			PREPARE_SYMBOLS);
	strvec_clear(&syms);
	strvec_push(&syms, "!A");
	KTEST_EXPECT_EQ(test, config_prepare_mode("s", "s", config, &syms),
			PREPARE_SYMBOLS);
	strvec_clear(&syms);
}

static void init_arch(struct arch_desc *a, const char *syms)
{
	char *copy = xstrdup(syms), *tok, *save;

	memset(a, 0, sizeof(*a));
	a->name = "arm64";
	a->make_arch = "arm64";
	a->srcarch = "arm64";
	a->cross = "aarch64-linux-gnu-";
	a->defconfig = "defconfig";
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		strvec_push(&a->syms, tok);
	free(copy);
}

/* Every input is in the stamp; the symbols' order is not. */
static void stamp_keys_every_input(struct ktest *test)
{
	struct arch_desc a, b;
	struct config_inputs in = {
		.arch = &a, .cross = "aarch64-linux-gnu-",
		.compiler = "/usr/bin/gcc 10 20", .version = "6.1.192",
		.defconfig = "CONFIG_X=y\n",
	};
	struct config_inputs other;
	char *s0, *s;

	init_arch(&a, "A B !WERROR");
	init_arch(&b, "!WERROR B A");
	s0 = config_stamp(&in);
	KTEST_EXPECT_SUBSTR(test, s0, "version 6.1.192\n");
	KTEST_EXPECT_SUBSTR(test, s0, "symbols !WERROR A B\n");
	other = in;
	other.arch = &b;
	s = config_stamp(&other);
	KTEST_EXPECT_STREQ(test, s, s0);
	free(s);
	strvec_push(&b.syms, "C");
	s = config_stamp(&other);
	KTEST_EXPECT_FALSE(test, ktest_streq(s, s0));
	free(s);
	other = in;
	other.defconfig = "CONFIG_X=n\n";
	s = config_stamp(&other);
	KTEST_EXPECT_FALSE(test, ktest_streq(s, s0));
	free(s);
	other = in;
	other.compiler = "/usr/bin/gcc 10 21";
	s = config_stamp(&other);
	KTEST_EXPECT_FALSE(test, ktest_streq(s, s0));
	free(s);
	other = in;
	other.version = "6.1.193";
	s = config_stamp(&other);
	KTEST_EXPECT_FALSE(test, ktest_streq(s, s0));
	free(s);
	other = in;
	other.cross = "";
	s = config_stamp(&other);
	KTEST_EXPECT_FALSE(test, ktest_streq(s, s0));
	free(s);
	free(s0);
	strvec_clear(&a.syms);
	strvec_clear(&b.syms);
}

static void program_ids(struct ktest *test)
{
	char *id = config_program_id("sh");

	KTEST_EXPECT_SUBSTR(test, id, "/sh ");
	free(id);
	id = config_program_id("kcheck-no-such-gcc");
	KTEST_EXPECT_STREQ(test, id, "none");
	free(id);
}

static struct ktest_case prepare_cases[] = {
	KTEST_CASE(defconfigs),
	KTEST_CASE(compilers),
	KTEST_CASE(make_commands),
	KTEST_CASE(cross_compilers),
	KTEST_CASE(enabled_symbols),
	KTEST_CASE(reads_config),
	KTEST_CASE(prepare_modes),
	KTEST_CASE(stamp_keys_every_input),
	KTEST_CASE(program_ids),
	{}
};

KTEST_SUITE(prepare, prepare_cases);
