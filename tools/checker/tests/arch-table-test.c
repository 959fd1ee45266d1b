// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of arch-table.c.
 */
#include <string.h>
#include <sys/utsname.h>

#include "arch-table.h"
#include "ktest.h"
#include "util.h"

static const char table[] =
	"# comment\n"
	"arch arm64 arm64 arm64 aarch64-linux-gnu- defconfig A B !WERROR\n"
	"arch kcheckarch kc kcdir kc-linux- kc_defconfig   # trailing\n"
	"\n"
	"sym IOMMU_API arm64,kcheckarch\n"
	"sym APPLE_DART arm64\n"
	"header include/linux/iommu.h drivers/iommu/iommu.c\n"
	"header include/x.h drivers/x.c kcheckarch\n"
	"env MAKEFLAGS MAKELEVEL\n"
	"env LC_ALL=C\n";

static void parses_every_line(struct ktest *test)
{
	char *path = ktest_write(test, "arches.txt", table);
	const struct header_desc *h;
	const struct sym_desc *s;
	struct arch_table t;
	struct utsname u;

	arch_table_load(&t, path);
	KTEST_ASSERT_EQ(test, t.nr_arch, 2);
	KTEST_EXPECT_STREQ(test, t.arch[0].name, "arm64");
	KTEST_EXPECT_STREQ(test, t.arch[1].make_arch, "kc");
	KTEST_EXPECT_STREQ(test, t.arch[1].srcarch, "kcdir");
	KTEST_EXPECT_STREQ(test, t.arch[1].cross, "kc-linux-");
	KTEST_EXPECT_STREQ(test, t.arch[1].defconfig, "kc_defconfig");
	KTEST_EXPECT_EQ(test, t.arch[1].syms.nr, 0);
	KTEST_ASSERT_EQ(test, t.arch[0].syms.nr, 3);
	KTEST_EXPECT_STREQ(test, t.arch[0].syms.v[2], "!WERROR");
	/* no cross compiler for the host's own arch */
	KTEST_ASSERT_EQ(test, uname(&u), 0);
	KTEST_EXPECT_STREQ(test, t.arch[0].cross,
			   strcmp(arch_table_machine_arch(u.machine), "arm64") ?
			   "aarch64-linux-gnu-" : "");
	/* an arm64 host (Jetson, Raspberry Pi) builds arm64 natively */
	KTEST_EXPECT_STREQ(test, arch_table_machine_arch("aarch64"), "arm64");
	KTEST_EXPECT_STREQ(test, arch_table_machine_arch("x86_64"), "x86_64");
	s = arch_table_find_sym(&t, "IOMMU_API");
	KTEST_ASSERT_NOT_NULL(test, s);
	KTEST_EXPECT_EQ(test, s->arches, 3);
	KTEST_EXPECT_EQ(test, arch_table_find_sym(&t, "APPLE_DART")->arches, 1);
	KTEST_EXPECT_NULL(test, arch_table_find_sym(&t, "NOPE"));
	h = arch_table_find_header(&t, "include/linux/iommu.h");
	KTEST_ASSERT_NOT_NULL(test, h);
	KTEST_EXPECT_STREQ(test, h->via, "drivers/iommu/iommu.c");
	KTEST_EXPECT_EQ(test, h->arches, 0);
	KTEST_EXPECT_EQ(test, arch_table_find_header(&t, "include/x.h")->arches, 2);
	KTEST_EXPECT_EQ(test, arch_table_find_arch(&t, "kcheckarch"), 1);
	KTEST_EXPECT_EQ(test, arch_table_find_arch(&t, "x86_64"), -1);
	KTEST_ASSERT_EQ(test, t.env.nr, 3);
	KTEST_EXPECT_STREQ(test, t.env.v[1], "MAKELEVEL");
	KTEST_EXPECT_STREQ(test, t.env.v[2], "LC_ALL=C");
	free(path);
}

/* The table the checker ships with. */
static void shipped_table(struct ktest *test)
{
	const char *src = getenv("KTEST_SRC");
	char *path = xasprintf("%s/arches.txt", src ? src : ".");
	struct arch_table t;
	int k;

	arch_table_load(&t, path);
	KTEST_EXPECT_TRUE(test, t.nr_arch >= 2);
	k = arch_table_find_arch(&t, "x86_64");
	KTEST_ASSERT_TRUE(test, k >= 0);
	KTEST_EXPECT_TRUE(test, arch_table_find_sym(&t, "INTEL_IOMMU")->arches &
			  (1U << k));
	KTEST_EXPECT_NOT_NULL(test, arch_table_find_header(&t, "include/linux/iommu.h"));
	free(path);
}

static char *bad_table;

static void load_bad(void *data)
{
	struct arch_table t;

	(void)data;
	arch_table_load(&t, bad_table);
}

static void expect_bad(struct ktest *test, const char *text,
		       const char *needle)
{
	bad_table = ktest_write(test, "bad.txt", text);
	KTEST_EXPECT_DIES(test, load_bad, NULL, needle);
	free(bad_table);
}

static void rejects_bad_lines(struct ktest *test)
{
	expect_bad(test, "arch a b c d\n", "bad.txt:1: want: arch");
	expect_bad(test, "arch a b c d e\narch a b c d e\n",
		   "bad.txt:2: architecture listed twice");
	expect_bad(test, "arch a b c d e\nsym X b\n",
		   "bad.txt:2: unknown architecture in list");
	expect_bad(test, "arch a b c d e\nsym X\n", "bad.txt:2: want: sym");
	expect_bad(test, "arch a b c d e\nheader x.h\n",
		   "bad.txt:2: want: header");
	expect_bad(test, "arch a b c d e\nfoo bar\n",
		   "bad.txt:2: unknown keyword");
	expect_bad(test, "# nothing\n", "no architectures");
	bad_table = "/nonexistent/arches.txt";
	KTEST_EXPECT_DIES(test, load_bad, NULL,
			  "cannot read the architecture table /nonexistent/arches.txt");
}

static struct ktest_case arch_table_cases[] = {
	KTEST_CASE(parses_every_line),
	KTEST_CASE(shipped_table),
	KTEST_CASE(rejects_bad_lines),
	{}
};

KTEST_SUITE(arch_table, arch_table_cases);
