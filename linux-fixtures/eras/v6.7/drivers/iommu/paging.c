// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: a domain_alloc_paging driver; the core never hands it a domain
 * type, so the rewrite leaves it alone and it keeps its DMA domains.
 */
#include <linux/iommu.h>

static struct iommu_domain paging_domain;

static struct iommu_domain *paging_domain_alloc_paging(struct device *dev)
{
	(void)dev;
	paging_domain.iova_cookie = NULL;
	return &paging_domain;
}

static const struct iommu_ops paging_ops = {
	.domain_alloc_paging	= paging_domain_alloc_paging,
	.pgsize_bitmap		= 0x1000,
};

const struct iommu_ops *paging_get_ops(void)
{
	return &paging_ops;
}
