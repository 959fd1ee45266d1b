static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	if (type == IOMMU_DOMAIN_UNMANAGED || type == IOMMU_DOMAIN_DMA)
		return &foo_domain;

	return NULL;
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.domain_alloc = foo_domain_alloc,
};
