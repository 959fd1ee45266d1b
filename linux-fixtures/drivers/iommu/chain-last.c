// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture: DMA comparison last in the chain, a global const ops with an
 * #ifdef inside its initializer.
 */
#include <linux/iommu.h>

static struct iommu_domain chain_last_domain;

static int chain_last_probe_device(struct device *dev)
{
	return dev ? 0 : -EINVAL;
}

static struct iommu_domain *chain_last_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;

	return &chain_last_domain;
}

const struct iommu_ops chain_last_ops = {
	.domain_alloc		= chain_last_domain_alloc,
#ifdef CONFIG_CHAIN_LAST_PROBE
	.probe_device		= chain_last_probe_device,
#endif
	.pgsize_bitmap		= 0x1000,
};

int chain_last_probe(struct device *dev)
{
	return chain_last_probe_device(dev);
}
