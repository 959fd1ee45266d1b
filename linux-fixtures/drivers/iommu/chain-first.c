// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: `!=` chain with the DMA comparison first, tab-aligned static
 * const ops, and DMA comparisons outside domain_alloc (attach and
 * def_domain_type) that must stay.
 */
#include <linux/iommu.h>

static struct iommu_domain chain_first_domain;

static struct iommu_domain *chain_first_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;

	return &chain_first_domain;
}

static int chain_first_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	switch (domain->type) {
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_UNMANAGED:
		return dev ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int chain_first_def_domain_type(struct device *dev)
{
	if (!dev)
		return IOMMU_DOMAIN_DMA;
	return 0;
}

static const struct iommu_ops chain_first_ops = {
	.domain_alloc		= chain_first_domain_alloc,
	.def_domain_type	= chain_first_def_domain_type,
	.default_domain_ops	= &(const struct iommu_domain_ops) {
		.attach_dev	= chain_first_attach_dev,
	},
	.pgsize_bitmap		= 0x1000,
};

const struct iommu_ops *chain_first_get_ops(void)
{
	return &chain_first_ops;
}
