// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: ops whose .domain_alloc is filled in at probe time, after
 * the hardware generation is known.
 *
 * Expect: refused: .domain_alloc set outside a struct iommu_ops initializer
 */
#include <linux/iommu.h>

static struct iommu_domain runtime_ops_domain;

static struct iommu_domain *runtime_ops_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &runtime_ops_domain;
}

static struct iommu_ops runtime_ops_ops = {
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *runtime_ops_get_ops(bool v2)
{
	if (v2)
		runtime_ops_ops.domain_alloc = runtime_ops_domain_alloc;
	return &runtime_ops_ops;
}
