static struct iommu_domain *foo_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	return &foo_domain;
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.domain_alloc = foo_domain_alloc,
};
