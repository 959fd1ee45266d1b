// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: a legacy .domain_alloc with a `!=` chain; it sees DMA (DMA_FQ
 * is masked by the core), never DMA_FQ.
 */
#include <linux/iommu.h>

static struct iommu_domain legacy_chain_domain;

static struct iommu_domain *legacy_chain_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_IDENTITY)
		return NULL;

	legacy_chain_domain.iova_cookie = NULL;
	return &legacy_chain_domain;
}

static const struct iommu_ops legacy_chain_ops = {
	.domain_alloc	= legacy_chain_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *legacy_chain_get_ops(void)
{
	return &legacy_chain_ops;
}
