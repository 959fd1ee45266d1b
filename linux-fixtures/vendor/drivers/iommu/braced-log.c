// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: an Android SoC sysmmu whose gate logs in a braced body
 * before it rejects, the chain over three lines.
 *
 * Expect: rewritten
 */
#include <linux/iommu.h>

static struct iommu_domain braced_log_domain;

static struct iommu_domain *braced_log_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED &&
	    type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_IDENTITY) {
		pr_err("invalid domain type %u\n", type);
		return NULL;
	}

	return &braced_log_domain;
}

static const struct iommu_ops braced_log_ops = {
	.domain_alloc	= braced_log_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *braced_log_get_ops(void)
{
	return &braced_log_ops;
}
