// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: the nested legacy-binding gate (DMA and DMA_FQ refused inside an
 * outer test while a legacy binding is in use) and the assignment of that
 * flag, which must clear use_dma_iommu in the ops.
 */
#include <linux/iommu.h>

static bool using_legacy_binding, using_generic_binding;
static struct iommu_domain legacy_domain;

static struct iommu_domain *legacy_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_IDENTITY) {
		if (using_legacy_binding ||
		    (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_DMA_FQ))
			return NULL;
	}
	/*
	 * The domain is set up later, when a device attaches.
	 */
	legacy_domain.type = type;
	return &legacy_domain;
}

static struct iommu_ops legacy_ops = {
	.domain_alloc		= legacy_domain_alloc,
	.pgsize_bitmap		= -1UL,
};

int legacy_dt_probe(bool legacy_binding)
{
	if (legacy_binding && !using_generic_binding) {
		if (!using_legacy_binding)
			pr_info("deprecated binding in use\n");
		using_legacy_binding = true;
	} else if (!legacy_binding && !using_legacy_binding) {
		using_generic_binding = true;
	} else {
		return -EINVAL;
	}
	return legacy_ops.domain_alloc ? 0 : -EINVAL;
}
