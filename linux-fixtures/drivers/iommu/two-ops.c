// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: two ops structs in one file; only the first one's domain_alloc
 * accepts DMA, so only it gets use_dma_iommu.
 */
#include <linux/iommu.h>

static struct iommu_domain two_ops_domain;

static struct iommu_domain *two_ops_dma_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	return &two_ops_domain;
}

static struct iommu_domain *two_ops_plain_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;
	return &two_ops_domain;
}

static const struct iommu_ops two_ops_dma_ops = {
	.domain_alloc	= two_ops_dma_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

static const struct iommu_ops two_ops_plain_ops = {
	.domain_alloc	= two_ops_plain_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *two_ops_get_ops(int dma)
{
	return dma ? &two_ops_dma_ops : &two_ops_plain_ops;
}
