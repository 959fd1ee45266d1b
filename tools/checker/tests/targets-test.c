// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of targets.c: a small tree and table.
 */
#include <string.h>

#include "ktest.h"
#include "targets.h"
#include "util.h"

static const char table[] =
	"arch arm64 arm64 arm64 aarch64-linux-gnu- defconfig\n"
	"arch x86_64 x86_64 x86 x86_64-linux-gnu- defconfig\n"
	"sym IOMMU_API arm64,x86_64\n"
	"sym APPLE_DART arm64\n"
	"sym INTEL_IOMMU x86_64\n"
	"sym GHOST arm64\n"
	"header include/linux/iommu.h drivers/iommu/iommu.c\n"
	"header include/linux/dart.h drivers/iommu/apple-dart.c arm64\n"
	"header include/linux/both.h drivers/iommu/apple-dart.c\n";

static void setup(struct ktest *test, struct checker *c)
{
	static const char *const files[] = {
		"drivers/iommu/iommu.c", "drivers/iommu/apple-dart.c",
		"drivers/iommu/intel.c", "drivers/iommu/omap.c",
		"drivers/iommu/ghost.c", "include/linux/iommu.h",
		"include/linux/dart.h", "include/linux/types.h",
		"include/linux/both.h",
		"drivers/iommu/README",
	};
	char *path;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		path = xasprintf("linux/%s", files[i]);
		free(ktest_write(test, path, "\n"));
		free(path);
	}
	free(ktest_write(test, "linux/drivers/iommu/Makefile",
			 "obj-$(CONFIG_IOMMU_API) += iommu.o\n"
			 "obj-$(CONFIG_APPLE_DART) += apple-dart.o\n"
			 "obj-$(CONFIG_INTEL_IOMMU) += intel.o\n"
			 "obj-$(CONFIG_OMAP_IOMMU) += omap.o\n"
			 "obj-$(CONFIG_GHOST) += ghost.o\n"));
	free(ktest_write(test, "linux/drivers/iommu/Kconfig",
			 "config IOMMU_API\nconfig APPLE_DART\n"
			 "config INTEL_IOMMU\nconfig OMAP_IOMMU\n"));
	path = ktest_write(test, "arches.txt", table);
	memset(c, 0, sizeof(*c));
	c->tree = xasprintf("%s/linux", ktest_tmpdir(test));
	arch_table_load(&c->table, path);
	free(path);
}

static void add(struct checker *c, const char *file)
{
	strvec_push(&c->touched, file);
}

static struct target *find(struct checker *c, const char *file)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (!strcmp(c->t[i].file, file))
			return &c->t[i];
	return NULL;
}

static void sources_and_symbols(struct ktest *test)
{
	struct target *t;
	struct checker c;

	setup(test, &c);
	add(&c, "drivers/iommu/apple-dart.c");
	add(&c, "drivers/iommu/intel.c");
	add(&c, "include/linux/iommu.h");
	add(&c, "include/linux/both.h");
	targets_read_touched(&c);
	targets_setup_columns(&c);
	targets_resolve(&c);
	KTEST_ASSERT_EQ(test, c.nr, 4);
	KTEST_EXPECT_EQ(test, c.nr_cols, 2);
	KTEST_EXPECT_STREQ(test, c.col_name[1], "x86_64");
	t = find(&c, "drivers/iommu/apple-dart.c");
	KTEST_EXPECT_STREQ(test, t->obj, "drivers/iommu/apple-dart.o");
	KTEST_EXPECT_STREQ(test, t->sym, "APPLE_DART");
	KTEST_EXPECT_EQ(test, t->arches, 1);
	KTEST_EXPECT_NULL(test, t->skip);
	/* a header with no arch list: its .c's arches and the run's */
	t = find(&c, "include/linux/iommu.h");
	KTEST_EXPECT_STREQ(test, t->src, "drivers/iommu/iommu.c");
	KTEST_EXPECT_STREQ(test, t->obj, "drivers/iommu/iommu.o");
	KTEST_EXPECT_EQ(test, t->arches, 3);
	/* apple-dart.c alone is arm64; the run also builds x86_64 */
	KTEST_EXPECT_EQ(test, find(&c, "include/linux/both.h")->arches, 3);
}

static void skips_say_why(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	add(&c, "drivers/iommu/omap.c");
	add(&c, "drivers/iommu/ghost.c");
	add(&c, "include/linux/types.h");
	add(&c, "drivers/iommu/README");
	add(&c, "include/linux/dart.h");
	targets_read_touched(&c);
	targets_setup_columns(&c);
	targets_resolve(&c);
	KTEST_EXPECT_SUBSTR(test, find(&c, "drivers/iommu/omap.c")->skip,
			    "no known architecture builds it (CONFIG_OMAP_IOMMU");
	KTEST_EXPECT_SUBSTR(test, find(&c, "drivers/iommu/ghost.c")->skip,
			    "CONFIG_GHOST is not defined by the tree's Kconfig");
	KTEST_EXPECT_SUBSTR(test, find(&c, "include/linux/types.h")->skip,
			    "no rule checks this header");
	KTEST_EXPECT_SUBSTR(test, find(&c, "drivers/iommu/README")->skip,
			    "not a C source or header");
	/* a header with an arch list: only those */
	KTEST_EXPECT_NULL(test, find(&c, "include/linux/dart.h")->skip);
	KTEST_EXPECT_EQ(test, find(&c, "include/linux/dart.h")->arches, 1);
}

static void only_some_arches(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	add(&c, "drivers/iommu/apple-dart.c");
	add(&c, "drivers/iommu/iommu.c");
	strvec_push(&c.only_names, "x86_64");
	targets_read_touched(&c);
	targets_setup_columns(&c);
	targets_resolve(&c);
	KTEST_EXPECT_EQ(test, c.only, 2);
	KTEST_EXPECT_SUBSTR(test, find(&c, "drivers/iommu/apple-dart.c")->skip,
			    "not built on the selected architectures");
	KTEST_EXPECT_EQ(test, find(&c, "drivers/iommu/iommu.c")->arches, 2);
}

static void fixture_mode(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	c.info.fixture = 1;
	add(&c, "drivers/iommu/omap.c");
	targets_read_touched(&c);
	targets_setup_columns(&c);
	targets_resolve(&c);
	KTEST_EXPECT_EQ(test, c.nr_cols, 1);
	KTEST_EXPECT_STREQ(test, c.col_name[0], "host");
	KTEST_EXPECT_NULL(test, c.t[0].skip);
	KTEST_EXPECT_EQ(test, c.t[0].arches, 1);
}

static void names_and_manifest(struct ktest *test)
{
	struct checker c;
	char *abs;

	setup(test, &c);
	abs = xasprintf("%s/drivers/iommu/iommu.c", c.tree);
	add(&c, "./drivers/iommu/iommu.c");
	add(&c, abs);
	targets_read_touched(&c);
	KTEST_ASSERT_EQ(test, c.touched.nr, 1);
	KTEST_EXPECT_STREQ(test, c.touched.v[0], "drivers/iommu/iommu.c");
	strvec_clear(&c.touched);
	free(ktest_write(test, "linux/.iommu-dma/manifest",
			 "include/linux/iommu.h x + y\n"));
	targets_read_touched(&c);
	KTEST_ASSERT_EQ(test, c.touched.nr, 1);
	KTEST_EXPECT_STREQ(test, c.touched.v[0], "include/linux/iommu.h");
	free(abs);
}

static struct checker *bad;

static void read_bad(void *data)
{
	strvec_clear(&bad->touched);
	strvec_push(&bad->touched, data);
	targets_read_touched(bad);
}

static void bad_names(struct ktest *test)
{
	struct checker c;

	setup(test, &c);
	bad = &c;
	KTEST_EXPECT_DIES(test, read_bad, "drivers/iommu/nope.c",
			  "drivers/iommu/nope.c: no such file in");
	KTEST_EXPECT_DIES(test, read_bad, "drivers/../Makefile",
			  "bad file name 'drivers/../Makefile'");
	KTEST_EXPECT_DIES(test, read_bad, "/etc/passwd",
			  "/etc/passwd is outside the tree");
}

static void touched_files_in_order(struct ktest *test)
{
	char *path = ktest_write(test, "manifest",
		"# written by iommu-dma\n"
		"\n"
		"drivers/iommu/b.c b_ops + use_dma_iommu\n"
		"drivers/iommu/a.c a_alloc - type != IOMMU_DOMAIN_DMA\r\n"
		"drivers/iommu/b.c b_alloc ~ gate\n"
		"drivers/iommu/c.c c_alloc ! needs a human\n"
		"include/linux/iommu.h iommu_ops + field");
	struct strvec files = STRVEC_INIT;

	manifest_read(path, &files);
	KTEST_ASSERT_EQ(test, files.nr, 3);
	KTEST_EXPECT_STREQ(test, files.v[0], "drivers/iommu/b.c");
	KTEST_EXPECT_STREQ(test, files.v[1], "drivers/iommu/a.c");
	KTEST_EXPECT_STREQ(test, files.v[2], "include/linux/iommu.h");
	strvec_clear(&files);
	free(path);
}

static char *bad_manifest;

static void read_bad_manifest(void *data)
{
	struct strvec files = STRVEC_INIT;

	(void)data;
	manifest_read(bad_manifest, &files);
}

static void rejects_bad_lines(struct ktest *test)
{
	bad_manifest = ktest_write(test, "m1", "a.c x + y\nb.c x\n");
	KTEST_EXPECT_DIES(test, read_bad_manifest, NULL, "m1:2: malformed line");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m2", "a.c x ? y\n");
	KTEST_EXPECT_DIES(test, read_bad_manifest, NULL, "m2:1: unknown op '?'");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m3", "../a.c x + y\n");
	KTEST_EXPECT_DIES(test, read_bad_manifest, NULL, "m3:1: bad file name '../a.c'");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m4", "/abs.c x + y\n");
	KTEST_EXPECT_DIES(test, read_bad_manifest, NULL, "bad file name '/abs.c'");
	free(bad_manifest);
	bad_manifest = "/nonexistent/manifest";
	KTEST_EXPECT_DIES(test, read_bad_manifest, NULL,
			  "cannot read the manifest /nonexistent/manifest");
}

static struct ktest_case targets_cases[] = {
	KTEST_CASE(sources_and_symbols),
	KTEST_CASE(skips_say_why),
	KTEST_CASE(only_some_arches),
	KTEST_CASE(fixture_mode),
	KTEST_CASE(names_and_manifest),
	KTEST_CASE(bad_names),
	KTEST_CASE(touched_files_in_order),
	KTEST_CASE(rejects_bad_lines),
	{}
};

KTEST_SUITE(targets, targets_cases);
