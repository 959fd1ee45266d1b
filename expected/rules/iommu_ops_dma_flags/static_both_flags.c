static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_DMA_FQ)
		return NULL;
	return &foo_domain;
}

static struct iommu_ops foo_ops = {
	.capable = foo_capable,
	.domain_alloc = foo_domain_alloc,
};
