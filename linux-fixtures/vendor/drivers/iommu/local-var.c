// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: the type compared through a local variable that says
 * whether the domain is for the DMA API.
 *
 * Expect: refused: its gate reads the type through the local dma
 */
#include <linux/iommu.h>

static struct iommu_domain local_var_domain;

static struct iommu_domain *local_var_domain_alloc(unsigned int type)
{
	bool dma = type == IOMMU_DOMAIN_DMA;

	if (type != IOMMU_DOMAIN_UNMANAGED && !dma)
		return NULL;

	return &local_var_domain;
}

static const struct iommu_ops local_var_ops = {
	.domain_alloc	= local_var_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *local_var_get_ops(void)
{
	return &local_var_ops;
}
