// SPDX-License-Identifier: GPL-2.0
/*
 * Runs an era fixture's core (linux-fixtures/eras/<era>/drivers/iommu/
 * iommu.c, with user-space stand-ins) with its drivers: for every driver
 * and request, the domain type the device ends up with and whether the
 * domain is ready for the DMA API (has its IOVA cookie). Built and run on
 * the pristine and the rewritten fixture; the two outputs must be equal.
 */
#include <linux/iommu.h>

int printf(const char *fmt, ...);

struct iommu_domain *fixture_default_domain(const struct iommu_ops *ops,
					    unsigned int def_type);
struct iommu_domain *fixture_domain_alloc(const struct iommu_ops *ops,
					  unsigned int type);
const struct iommu_ops *legacy_chain_get_ops(void);
#ifdef HAVE_PAGING
const struct iommu_ops *paging_get_ops(void);
#endif

static const struct {
	const char *name;
	unsigned int type;
} types[] = {
	{ "BLOCKED", IOMMU_DOMAIN_BLOCKED },
	{ "IDENTITY", IOMMU_DOMAIN_IDENTITY },
	{ "UNMANAGED", IOMMU_DOMAIN_UNMANAGED },
	{ "DMA", IOMMU_DOMAIN_DMA },
	{ "DMA_FQ", IOMMU_DOMAIN_DMA_FQ },
};

static const char *type_name(unsigned int type)
{
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return "?";
}

static void show(const char *driver, const char *how, const char *request,
		 struct iommu_domain *domain)
{
	printf("%s %s %s: %s%s\n", driver, how, request,
	       domain ? type_name(domain->type) : "no domain",
	       domain && domain->iova_cookie ? ", DMA API ready" : "");
}

static void requests(const char *driver, const struct iommu_ops *ops)
{
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		unsigned int t = types[i].type;

		if (t == IOMMU_DOMAIN_IDENTITY || t & __IOMMU_DOMAIN_DMA_API)
			show(driver, "default", types[i].name,
			     fixture_default_domain(ops, t));
		else
			show(driver, "alloc", types[i].name,
			     fixture_domain_alloc(ops, t));
	}
}

int main(void)
{
	requests("legacy-chain", legacy_chain_get_ops());
#ifdef HAVE_PAGING
	requests("paging", paging_get_ops());
#endif
	return 0;
}
