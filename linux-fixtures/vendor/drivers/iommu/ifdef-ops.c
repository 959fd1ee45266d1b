// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: the ops initializer chosen by the vendor's Kconfig
 * symbol: the secure-world build has no .domain_alloc.
 *
 * Expect: rewritten
 */
#include <linux/iommu.h>

static struct iommu_domain ifdef_ops_domain;

static struct iommu_domain *ifdef_ops_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &ifdef_ops_domain;
}

#ifdef CONFIG_VENDOR_SECURE_IOMMU
static const struct iommu_ops ifdef_ops_ops = {
	.pgsize_bitmap	= 0x1000,
};
#else
static const struct iommu_ops ifdef_ops_ops = {
	.domain_alloc	= ifdef_ops_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};
#endif

const struct iommu_ops *ifdef_ops_get_ops(void)
{
	return &ifdef_ops_ops;
}
