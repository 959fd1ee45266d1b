// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture IOMMU core, v6.5-v6.6 shape: __iommu_domain_alloc() masks
 * DMA_FQ off (IOMMU_DOMAIN_ALLOC_FLAGS) before the driver sees the type,
 * and iommu_group_alloc_default_domain() falls back to DMA itself.
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

static struct iommu_domain *__iommu_domain_alloc(const struct bus_type *bus,
						 unsigned int type)
{
	struct iommu_domain *domain;
	unsigned int alloc_type = type & IOMMU_DOMAIN_ALLOC_FLAGS;

	if (!bus || !bus->iommu_ops)
		return NULL;

	domain = bus->iommu_ops->domain_alloc(alloc_type);
	if (!domain)
		return NULL;

	domain->type = type;
	if (iommu_is_dma_domain(domain) && iommu_get_dma_cookie(domain)) {
		iommu_domain_free(domain);
		domain = NULL;
	}
	return domain;
}

static struct iommu_domain *
iommu_group_alloc_default_domain(const struct bus_type *bus,
				 struct iommu_group *group, int req_type)
{
	struct iommu_domain *dom;

	if (req_type)
		return __iommu_domain_alloc(bus, req_type);

	/* The driver gave no guidance on what type to use, try the default */
	dom = __iommu_domain_alloc(bus, iommu_def_domain_type);
	if (dom)
		return dom;

	/* Otherwise IDENTITY and DMA_FQ defaults will try DMA */
	if (iommu_def_domain_type == IOMMU_DOMAIN_DMA)
		return NULL;
	dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_DMA);
	if (!dom)
		return NULL;

	pr_warn("Failed to allocate default IOMMU domain of type %u for group %s - Falling back to IOMMU_DOMAIN_DMA",
		iommu_def_domain_type, group->name);
	return dom;
}

/* What the core makes of a default domain request of type def_type. */
struct iommu_domain *fixture_default_domain(const struct iommu_ops *ops,
					    unsigned int def_type)
{
	struct bus_type bus = { .iommu_ops = ops };
	struct iommu_group group = { .name = "0" };

	iommu_def_domain_type = def_type;
	return iommu_group_alloc_default_domain(&bus, &group, 0);
}

/* A direct allocation (VFIO, a blocking domain) of type type. */
struct iommu_domain *fixture_domain_alloc(const struct iommu_ops *ops,
					  unsigned int type)
{
	struct bus_type bus = { .iommu_ops = ops };

	return __iommu_domain_alloc(&bus, type);
}
