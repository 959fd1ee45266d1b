// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: code after the gate that treats UNMANAGED and DMA differently
 * (a page-table choice, as AMD's protection_domain_alloc() makes). The
 * gate is rewritten; the page-table choice changes for DMA domains and is
 * a finding.
 */
#include <linux/iommu.h>

static struct iommu_domain after_gate_domain;
static int after_gate_pgtable;

static struct iommu_domain *after_gate_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	if (type == IOMMU_DOMAIN_UNMANAGED)
		after_gate_pgtable = 1;
	else
		after_gate_pgtable = 2;
	return &after_gate_domain;
}

static const struct iommu_ops after_gate_ops = {
	.domain_alloc	= after_gate_domain_alloc,
	.pgsize_bitmap	= 0x1000,
};

const struct iommu_ops *after_gate_get_ops(void)
{
	return after_gate_pgtable ? &after_gate_ops : NULL;
}
