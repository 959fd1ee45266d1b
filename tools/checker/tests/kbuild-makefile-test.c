// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kbuild-makefile.c, on a small tree made for each case.
 */
#include "kbuild-makefile.h"
#include "ktest.h"
#include "util.h"

static const char iommu_makefile[] =
	"# the top Makefile\n"
	"obj-$(CONFIG_IOMMU_API) += iommu.o # the core\n"
	"obj-$(CONFIG_APPLE_DART) += \\\n"
	"\tapple-dart.o\n"
	"obj-$(CONFIG_ARM_SMMU) += arm_smmu.o\n"
	"arm_smmu-objs += arm-smmu.o arm-smmu-impl.o\n"
	"arm_smmu-$(CONFIG_ARM_SMMU_QCOM) += arm-smmu-qcom.o\n"
	"obj-y += plain.o\n"
	"obj-$(CONFIG_X) += nest.o\n"
	"nest-y += inner.o\n"
	"inner-y += deep.o\n"
	"obj-$(CONFIG_INTEL_IOMMU) += intel/\n";

static const char *tree(struct ktest *test)
{
	char *p;

	p = ktest_write(test, "drivers/iommu/Makefile", iommu_makefile);
	free(p);
	p = ktest_write(test, "drivers/Makefile",
			"obj-$(CONFIG_IOMMU_SUPPORT) += iommu/\n");
	free(p);
	p = ktest_write(test, "drivers/iommu/intel/Makefile",
			"obj-y += iommu.o\n");
	free(p);
	p = ktest_write(test, "drivers/iommu/Kconfig",
			"menuconfig IOMMU_SUPPORT\n\tbool \"x\"\n"
			"config APPLE_DART\n\ttristate \"y\"\n");
	free(p);
	p = ktest_write(test, "drivers/Kconfig", "  config IOMMU_API\n");
	free(p);
	return ktest_tmpdir(test);
}

static void expect_rule(struct ktest *test, const char *src, const char *sym,
			const char *member, const char *composite)
{
	struct obj_rule r;

	KTEST_EXPECT_EQ(test, find_obj_rule(tree(test), src, &r), 0);
	KTEST_EXPECT_STREQ(test, r.sym, sym);
	KTEST_EXPECT_STREQ(test, r.member, member);
	KTEST_EXPECT_STREQ(test, r.composite, composite);
	KTEST_EXPECT_NULL(test, r.why);
	obj_rule_clear(&r);
}

static void direct_objects(struct ktest *test)
{
	expect_rule(test, "drivers/iommu/iommu.c", "IOMMU_API", NULL, NULL);
	expect_rule(test, "drivers/iommu/apple-dart.c", "APPLE_DART", NULL,
		    NULL);
}

static void composite_members(struct ktest *test)
{
	expect_rule(test, "drivers/iommu/arm-smmu.c", "ARM_SMMU", NULL,
		    "arm_smmu.o");
	expect_rule(test, "drivers/iommu/arm-smmu-qcom.c", "ARM_SMMU",
		    "ARM_SMMU_QCOM", "arm_smmu.o");
}

/* obj-y: the symbol that descends into the directory. */
static void directory_symbols(struct ktest *test)
{
	expect_rule(test, "drivers/iommu/intel/iommu.c", "INTEL_IOMMU", NULL,
		    NULL);
	expect_rule(test, "drivers/iommu/plain.c", "IOMMU_SUPPORT", NULL, NULL);
}

static void expect_no_rule(struct ktest *test, const char *src,
			   const char *why)
{
	struct obj_rule r;

	KTEST_EXPECT_EQ(test, find_obj_rule(tree(test), src, &r), -1);
	KTEST_EXPECT_SUBSTR(test, r.why, why);
	obj_rule_clear(&r);
}

static void failures_say_why(struct ktest *test)
{
	expect_no_rule(test, "drivers/iommu/nope.c",
		       "no rule in drivers/iommu/Makefile builds nope.o");
	expect_no_rule(test, "drivers/iommu/deep.c", "nested composite object");
	expect_no_rule(test, "top.c", "not a .c file in a subdirectory");
	expect_no_rule(test, "drivers/iommu/iommu.h", "not a .c file");
}

static void kconfig_symbols(struct ktest *test)
{
	const char *t = tree(test);

	KTEST_EXPECT_TRUE(test, kconfig_defines(t, "drivers/iommu/a.c",
						"APPLE_DART"));
	KTEST_EXPECT_TRUE(test, kconfig_defines(t, "drivers/iommu/a.c",
						"IOMMU_SUPPORT"));
	KTEST_EXPECT_TRUE(test, kconfig_defines(t, "drivers/iommu/a.c",
						"IOMMU_API"));
	KTEST_EXPECT_FALSE(test, kconfig_defines(t, "drivers/iommu/a.c",
						 "APPLE"));
	KTEST_EXPECT_FALSE(test, kconfig_defines(t, "drivers/a.c",
						 "APPLE_DART"));
}

static struct ktest_case kbuild_makefile_cases[] = {
	KTEST_CASE(direct_objects),
	KTEST_CASE(composite_members),
	KTEST_CASE(directory_symbols),
	KTEST_CASE(failures_say_why),
	KTEST_CASE(kconfig_symbols),
	{}
};

KTEST_SUITE(kbuild_makefile, kbuild_makefile_cases);
