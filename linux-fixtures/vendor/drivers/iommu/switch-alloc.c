// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: a switch whose DMA case calls another allocator (a DMA
 * domain with the vendor's IOVA layout).
 *
 * Expect: rewritten
 * Finding: line 22 `case IOMMU_DOMAIN_DMA:`: DMA domains no longer take its DMA branch
 */
#include <linux/iommu.h>

static struct iommu_domain switch_alloc_dma_domain;
static struct iommu_domain switch_alloc_domain;

static struct iommu_domain *switch_alloc_dma(void)
{
	return &switch_alloc_dma_domain;
}

static struct iommu_domain *switch_alloc_domain_alloc(unsigned int type)
{
	switch (type) {
	case IOMMU_DOMAIN_DMA:
		return switch_alloc_dma();
	case IOMMU_DOMAIN_UNMANAGED:
		return &switch_alloc_domain;
	default:
		return NULL;
	}
}

static const struct iommu_ops switch_alloc_ops = {
	.domain_alloc	= switch_alloc_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *switch_alloc_get_ops(void)
{
	return &switch_alloc_ops;
}
