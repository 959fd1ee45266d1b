// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture (reported, not rewritten): a domain_alloc with no type filter
 * accepts DMA implicitly and passes the type on to helpers that choose the
 * page-table format by comparing it with UNMANAGED.
 */
#include <linux/iommu.h>

static struct iommu_domain implicit_domain;
static bool implicit_snp_enabled;

static bool implicit_use_v2_table(unsigned int type)
{
	return type != IOMMU_DOMAIN_UNMANAGED;
}

static struct iommu_domain *implicit_pgtable_alloc(unsigned int type)
{
	implicit_domain.type = implicit_use_v2_table(type) ? 2 : 1;
	return &implicit_domain;
}

static struct iommu_domain *implicit_domain_alloc(unsigned type)
{
	if (implicit_snp_enabled && type == IOMMU_DOMAIN_IDENTITY)
		return NULL;

	return implicit_pgtable_alloc(type);
}

const struct iommu_ops implicit_ops = {
	.domain_alloc	= implicit_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};
