// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: a driver taken from a later release whose gate names a
 * domain type this tree's iommu.h does not define.
 *
 * Expect: refused: its gate names IOMMU_DOMAIN_SVA, which include/linux/iommu.h does not define
 */
#include <linux/iommu.h>

static struct iommu_domain newer_type_domain;

static struct iommu_domain *newer_type_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_SVA)
		return NULL;

	return &newer_type_domain;
}

static const struct iommu_ops newer_type_ops = {
	.domain_alloc	= newer_type_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *newer_type_get_ops(void)
{
	return &newer_type_ops;
}
