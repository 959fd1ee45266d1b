// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor shape: a BSP gate that mixes the DMA test with a feature test
 * over several lines: DMA domains only where the SoC has a DMA window.
 *
 * Expect: refused: it accepts DMA only for some values
 */
#include <linux/iommu.h>

static struct iommu_domain feature_test_domain;
static bool feature_test_has_dma_window;

static struct iommu_domain *feature_test_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED &&
	    (type != IOMMU_DOMAIN_DMA || !feature_test_has_dma_window))
		return NULL;

	return &feature_test_domain;
}

static const struct iommu_ops feature_test_ops = {
	.domain_alloc	= feature_test_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *feature_test_get_ops(void)
{
	return feature_test_has_dma_window ? &feature_test_ops : NULL;
}
