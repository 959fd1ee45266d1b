// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture (must not touch, reported): the DMA label has a body of its own,
 * so removing it would change what DMA domains get.
 */
#include <linux/iommu.h>

static struct iommu_domain label_body_domain;
static int label_body_dma_domains;

static struct iommu_domain *label_body_domain_alloc(unsigned type)
{
	switch (type) {
	case IOMMU_DOMAIN_DMA:
		label_body_dma_domains++;
		return &label_body_domain;
	case IOMMU_DOMAIN_UNMANAGED:
		return &label_body_domain;
	default:
		return NULL;
	}
}

static const struct iommu_ops label_body_ops = {
	.domain_alloc	= label_body_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *label_body_get_ops(void)
{
	return label_body_dma_domains ? &label_body_ops : NULL;
}
