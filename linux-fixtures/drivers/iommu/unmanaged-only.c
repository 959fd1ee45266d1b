// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture (must not touch): a domain_alloc that accepts only UNMANAGED, so
 * its ops gets no flag.
 */
#include <linux/iommu.h>

static struct iommu_domain unmanaged_only_domain;

static struct iommu_domain *unmanaged_only_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;

	return &unmanaged_only_domain;
}

static const struct iommu_ops unmanaged_only_ops = {
	.domain_alloc	= unmanaged_only_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *unmanaged_only_get_ops(void)
{
	return &unmanaged_only_ops;
}
