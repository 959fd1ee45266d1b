// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: a positive gate (`type == UNMANAGED || type == DMA`). The
 * driver took DMA domains, so it gets use_dma_iommu; its comparison stays
 * and is reported.
 */
#include <linux/iommu.h>

static struct iommu_domain positive_domain;

static struct iommu_domain *positive_domain_alloc(unsigned int type)
{
	if (type == IOMMU_DOMAIN_UNMANAGED || type == IOMMU_DOMAIN_DMA)
		return &positive_domain;

	return NULL;
}

static const struct iommu_ops positive_ops = {
	.domain_alloc	= positive_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *positive_get_ops(void)
{
	return &positive_ops;
}
