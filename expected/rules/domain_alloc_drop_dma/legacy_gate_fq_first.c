static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_IDENTITY) {
		if (using_legacy_binding ||
		    (type != IOMMU_DOMAIN_DMA_FQ && type != IOMMU_DOMAIN_DMA))
			return NULL;
	}
	return &foo_domain;
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.allow_dma_fq = true,
	.domain_alloc = foo_domain_alloc,
};
