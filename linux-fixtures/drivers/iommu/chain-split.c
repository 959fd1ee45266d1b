// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: the chain split over two lines with DMA first, and a parameter
 * named domain_type instead of type.
 */
#include <linux/iommu.h>

static struct iommu_domain chain_split_domain;

static struct iommu_domain *chain_split_domain_alloc(unsigned int domain_type)
{
	if (domain_type != IOMMU_DOMAIN_DMA &&
	    domain_type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;

	return &chain_split_domain;
}

static const struct iommu_ops chain_split_ops = {
	.pgsize_bitmap = 0x1000,
	.domain_alloc = chain_split_domain_alloc,
};

const struct iommu_ops *chain_split_get_ops(void)
{
	return &chain_split_ops;
}
