// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: two definitions of the allocator, one chosen by the
 * vendor's Kconfig symbol (a second hardware generation with DMA_FQ).
 *
 * Expect: refused: its #if-selected definitions accept different types
 */
#include <linux/iommu.h>

static struct iommu_domain ifdef_alloc_domain;

#ifdef CONFIG_VENDOR_SMMU_V2
static struct iommu_domain *ifdef_alloc_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_DMA_FQ)
		return NULL;

	return &ifdef_alloc_domain;
}
#else
static struct iommu_domain *ifdef_alloc_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &ifdef_alloc_domain;
}
#endif

static const struct iommu_ops ifdef_alloc_ops = {
	.domain_alloc	= ifdef_alloc_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *ifdef_alloc_get_ops(void)
{
	return &ifdef_alloc_ops;
}
