// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture IOMMU core, v5.15 shape: __iommu_domain_alloc() gets the IOVA
 * cookie of a DMA API domain, unless a driver that still does it itself
 * already did (the transitional guard vendor trees carry), and
 * iommu_group_alloc_default_domain() falls back to DMA.
 */
#include <linux/iommu.h>

static unsigned int iommu_def_domain_type = IOMMU_DOMAIN_DMA;
static int iommu_dma_cookies;

/* Stand-in for dma-iommu.c: a DMA API domain needs an IOVA cookie. */
int iommu_get_dma_cookie(struct iommu_domain *domain)
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

	if (bus == NULL || bus->iommu_ops == NULL)
		return NULL;

	domain = bus->iommu_ops->domain_alloc(type);
	if (!domain)
		return NULL;

	domain->type = type;
	/* Temporarily avoid -EEXIST while drivers still get their own cookies */
	if (iommu_is_dma_domain(domain) && !domain->iova_cookie &&
	    iommu_get_dma_cookie(domain)) {
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

/* What the core makes of a default domain request of type def_type. */
struct iommu_domain *fixture_default_domain(const struct iommu_ops *ops,
					    unsigned int def_type)
{
	struct bus_type bus = { .iommu_ops = ops };
	struct iommu_group group = { .name = "0" };

	iommu_def_domain_type = def_type;
	if (iommu_group_alloc_default_domain(&bus, &group,
					     iommu_def_domain_type))
		return NULL;
	return group.default_domain;
}

/* A direct allocation (VFIO, a blocking domain) of type type. */
struct iommu_domain *fixture_domain_alloc(const struct iommu_ops *ops,
					  unsigned int type)
{
	struct bus_type bus = { .iommu_ops = ops };

	return __iommu_domain_alloc(&bus, type);
}
