// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: DMA and DMA_FQ in the middle of a chain split over lines, and a
 * static, non-const ops that is not tab aligned. Accepts both, so it gets
 * both flags.
 */
#include <linux/iommu.h>

static struct iommu_domain chain_middle_domain;

static bool chain_middle_capable(struct device *dev, int cap)
{
	return dev && cap;
}

static struct iommu_domain *chain_middle_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED &&
	    type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_DMA_FQ &&
	    type != IOMMU_DOMAIN_IDENTITY)
		return NULL;

	chain_middle_domain.type = type;
	return &chain_middle_domain;
}

static struct iommu_ops chain_middle_ops = {
	.capable = chain_middle_capable,
	.domain_alloc = chain_middle_domain_alloc,
	.pgsize_bitmap = 0x1000,
};

struct iommu_ops *chain_middle_get_ops(void)
{
	return &chain_middle_ops;
}
