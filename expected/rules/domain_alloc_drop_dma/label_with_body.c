static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	switch (type) {
	case IOMMU_DOMAIN_DMA:
		dma_domains++;
		return &foo_domain;
	case IOMMU_DOMAIN_UNMANAGED:
		return &foo_domain;
	default:
		return NULL;
	}
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.domain_alloc = foo_domain_alloc,
};
