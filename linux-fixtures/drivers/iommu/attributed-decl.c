// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: ops with an attribute between the name and the initializer
 * (`__ro_after_init`), filled in at probe time.
 */
#include <linux/iommu.h>

static struct iommu_domain attributed_domain;

static struct iommu_domain *attributed_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_DMA_FQ)
		return NULL;

	return &attributed_domain;
}

static struct iommu_ops attributed_ops __ro_after_init = {
	.domain_alloc	= attributed_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

struct iommu_ops *attributed_get_ops(unsigned long pgsizes)
{
	attributed_ops.pgsize_bitmap = pgsizes;
	return &attributed_ops;
}
