// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: the DMA label is the first label of the switch.
 */
#include <linux/iommu.h>

static struct iommu_domain switch_first_domain;

static struct iommu_domain *switch_first_domain_alloc(unsigned int type)
{
	switch (type) {
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_UNMANAGED:
		return &switch_first_domain;
	default:
		return NULL;
	}
}

static const struct iommu_ops switch_first_ops = {
	.domain_alloc	= switch_first_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *switch_first_get_ops(void)
{
	return &switch_first_ops;
}
