// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: a driver forward-ported from v5.10 that still gets the
 * IOVA cookie of its DMA domains itself (the v6.1 core does it too).
 *
 * Expect: refused: it gets the IOVA cookie of its DMA domains itself
 */
#include <linux/iommu.h>

static struct iommu_domain cookie_self_domain;

int iommu_get_dma_cookie(struct iommu_domain *domain);

static struct iommu_domain *cookie_self_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	if (type == IOMMU_DOMAIN_DMA &&
	    iommu_get_dma_cookie(&cookie_self_domain))
		return NULL;
	return &cookie_self_domain;
}

static const struct iommu_ops cookie_self_ops = {
	.domain_alloc	= cookie_self_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *cookie_self_get_ops(void)
{
	return &cookie_self_ops;
}
