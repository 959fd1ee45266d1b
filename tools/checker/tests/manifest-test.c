// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of manifest.c.
 */
#include "ktest.h"
#include "manifest.h"

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

static void read_bad(void *data)
{
	struct strvec files = STRVEC_INIT;

	(void)data;
	manifest_read(bad_manifest, &files);
}

static void rejects_bad_lines(struct ktest *test)
{
	bad_manifest = ktest_write(test, "m1", "a.c x + y\nb.c x\n");
	KTEST_EXPECT_DIES(test, read_bad, NULL, "m1:2: malformed line");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m2", "a.c x ? y\n");
	KTEST_EXPECT_DIES(test, read_bad, NULL, "m2:1: unknown op '?'");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m3", "../a.c x + y\n");
	KTEST_EXPECT_DIES(test, read_bad, NULL, "m3:1: bad file name '../a.c'");
	free(bad_manifest);
	bad_manifest = ktest_write(test, "m4", "/abs.c x + y\n");
	KTEST_EXPECT_DIES(test, read_bad, NULL, "bad file name '/abs.c'");
	free(bad_manifest);
	bad_manifest = "/nonexistent/manifest";
	KTEST_EXPECT_DIES(test, read_bad, NULL,
			  "cannot read the manifest /nonexistent/manifest");
}

static struct ktest_case manifest_cases[] = {
	KTEST_CASE(touched_files_in_order),
	KTEST_CASE(rejects_bad_lines),
	{}
};

KTEST_SUITE(manifest, manifest_cases);
