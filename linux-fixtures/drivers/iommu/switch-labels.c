// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: DMA and DMA_FQ as fall-through case labels after another label,
 * and a global const ops with a nested compound-literal default_domain_ops.
 */
#include <linux/iommu.h>

static struct iommu_domain switch_labels_blocked;
static struct iommu_domain switch_labels_identity;
static struct iommu_domain switch_labels_paging;

static struct iommu_domain *switch_labels_domain_alloc(unsigned type)
{
	switch (type) {
	case IOMMU_DOMAIN_BLOCKED:
		return &switch_labels_blocked;
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_DMA_FQ:
	case IOMMU_DOMAIN_UNMANAGED:
		switch_labels_paging.type = type;
		return &switch_labels_paging;
	case IOMMU_DOMAIN_IDENTITY:
		return &switch_labels_identity;
	default:
		return NULL;
	}

	return NULL;
}

static void switch_labels_domain_free(struct iommu_domain *domain)
{
	domain->type = 0;
}

const struct iommu_ops switch_labels_ops = {
	.domain_alloc		= switch_labels_domain_alloc,
	.default_domain_ops = &(const struct iommu_domain_ops) {
		.free		= switch_labels_domain_free,
	},
	.pgsize_bitmap		= 0x1000,
};
