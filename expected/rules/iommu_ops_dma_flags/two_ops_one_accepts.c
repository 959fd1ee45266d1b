static struct iommu_domain *foo_dma_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	return &foo_domain;
}

static struct iommu_domain *foo_plain_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;
	return &foo_domain;
}

static const struct iommu_ops foo_dma_ops = {
	.domain_alloc	= foo_dma_domain_alloc,
};

static const struct iommu_ops foo_plain_ops = {
	.domain_alloc	= foo_plain_domain_alloc,
};
