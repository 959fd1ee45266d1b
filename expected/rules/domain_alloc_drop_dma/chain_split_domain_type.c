static struct iommu_domain *foo_domain_alloc(unsigned int domain_type)
{
	if (domain_type != IOMMU_DOMAIN_DMA &&
	    domain_type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;
	return &foo_domain;
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.domain_alloc = foo_domain_alloc,
};
