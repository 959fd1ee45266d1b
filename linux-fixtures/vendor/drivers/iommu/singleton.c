// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: one shared domain for every DMA API user of the SoC (a
 * singleton set up at the first request), a fresh one for UNMANAGED.
 *
 * Expect: rewritten
 * Finding: line 20 `if (type == IOMMU_DOMAIN_DMA) {`: DMA domains no longer take its DMA branch
 */
#include <linux/iommu.h>

static struct iommu_domain singleton_shared;
static struct iommu_domain singleton_private;
static bool singleton_ready;

static struct iommu_domain *singleton_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	if (type == IOMMU_DOMAIN_DMA) {
		singleton_ready = true;
		return &singleton_shared;
	}
	return &singleton_private;
}

static const struct iommu_ops singleton_ops = {
	.domain_alloc	= singleton_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *singleton_get_ops(void)
{
	return singleton_ready ? &singleton_ops : NULL;
}
