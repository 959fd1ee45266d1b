static int foo_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	if (domain->type != IOMMU_DOMAIN_DMA && domain->type != IOMMU_DOMAIN_UNMANAGED)
		return -EINVAL;
	return 0;
}

static int foo_def_domain_type(unsigned int type)
{
	if (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_IDENTITY)
		return 0;
	return IOMMU_DOMAIN_DMA;
}

static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;
	return &foo_domain;
}

static const struct iommu_ops foo_ops = {
	.use_dma_iommu = true,
	.domain_alloc = foo_domain_alloc,
};
