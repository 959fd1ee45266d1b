// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of config.c.
 */
#include <string.h>

#include "config.h"
#include "ktest.h"
#include "util.h"

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

static struct ktest_case config_cases[] = {
	KTEST_CASE(enabled_symbols),
	KTEST_CASE(reads_config),
	KTEST_CASE(prepare_modes),
	KTEST_CASE(stamp_keys_every_input),
	KTEST_CASE(program_ids),
	{}
};

KTEST_SUITE(config, config_cases);
