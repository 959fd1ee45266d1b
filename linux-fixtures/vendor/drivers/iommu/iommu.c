// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture IOMMU core of the vendor corpus: the v6.1 core as an Android
 * GKI 6.1 tree carries it, with a vendor hook after the allocation.
 */
#include <linux/iommu.h>

static unsigned int iommu_def_domain_type = IOMMU_DOMAIN_DMA;

static int iommu_dma_cookies;

/* Stand-in for dma-iommu.c: a DMA API domain needs an IOVA cookie. */
static int iommu_get_dma_cookie(struct iommu_domain *domain)
{
	domain->iova_cookie = &iommu_dma_cookies;
	return 0;
}

static bool iommu_is_dma_domain(struct iommu_domain *domain)
{
	return domain->type & __IOMMU_DOMAIN_DMA_API;
}

static void iommu_domain_free(struct iommu_domain *domain)
{
	domain->type = IOMMU_DOMAIN_BLOCKED;
}

static struct iommu_domain *__iommu_domain_alloc(struct bus_type *bus,
						 unsigned int type)
{
	struct iommu_domain *domain;

	if (!bus || !bus->iommu_ops)
		return NULL;

	domain = bus->iommu_ops->domain_alloc(type);
	if (!domain)
		return NULL;

	domain->type = type;
	trace_android_vh_iommu_domain_alloc(domain, type);
	if (iommu_is_dma_domain(domain) && iommu_get_dma_cookie(domain)) {
		iommu_domain_free(domain);
		domain = NULL;
	}
	return domain;
}

static int iommu_group_alloc_default_domain(struct bus_type *bus,
					    struct iommu_group *group,
					    unsigned int type)
{
	struct iommu_domain *dom;

	dom = __iommu_domain_alloc(bus, type);
	if (!dom && type != IOMMU_DOMAIN_DMA) {
		dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_DMA);
		if (dom)
			pr_warn("Failed to allocate default IOMMU domain of type %u for group %s - Falling back to IOMMU_DOMAIN_DMA",
				type, group->name);
	}

	if (!dom)
		return -ENOMEM;

	group->default_domain = dom;
	if (!group->domain)
		group->domain = dom;
	return 0;
}

int iommu_probe_default_domain(struct bus_type *bus, struct iommu_group *group)
{
	if (iommu_def_domain_type == IOMMU_DOMAIN_DMA_FQ)
		pr_info("using flush queues\n");
	return iommu_group_alloc_default_domain(bus, group,
						iommu_def_domain_type);
}
