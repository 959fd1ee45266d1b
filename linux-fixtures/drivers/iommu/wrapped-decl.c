// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: the ops declaration wrapped after `struct iommu_ops`, which a
 * one-line grep does not see.
 */
#include <linux/iommu.h>

static struct iommu_domain wrapped_domain;

static struct iommu_domain *wrapped_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &wrapped_domain;
}

static const struct iommu_ops
wrapped_ops = {
	.domain_alloc	= wrapped_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *wrapped_get_ops(void)
{
	return &wrapped_ops;
}
