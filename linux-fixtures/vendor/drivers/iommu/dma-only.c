// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: a media IOMMU that only ever serves the DMA API (as
 * mtk_iommu did in v5.15): its gate accepts IOMMU_DOMAIN_DMA alone. Handed
 * UNMANAGED for its DMA domains it would have none.
 *
 * Expect: refused: it took DMA domains but never UNMANAGED ones
 */
#include <linux/iommu.h>

static struct iommu_domain dma_only_domain;

static struct iommu_domain *dma_only_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &dma_only_domain;
}

static const struct iommu_ops dma_only_ops = {
	.domain_alloc	= dma_only_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *dma_only_get_ops(void)
{
	return &dma_only_ops;
}
