// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: a v5.10 driver that gets the IOVA cookie of its DMA domains
 * itself: handed UNMANAGED, it would get none.
 */
#include <linux/iommu.h>

static struct iommu_domain legacy_chain_domain;

static struct iommu_domain *legacy_chain_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_IDENTITY) {
		pr_err("invalid domain type %u\n", type);
		return NULL;
	}

	legacy_chain_domain.iova_cookie = NULL;
	if (type == IOMMU_DOMAIN_DMA &&
	    iommu_get_dma_cookie(&legacy_chain_domain))
		return NULL;
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
