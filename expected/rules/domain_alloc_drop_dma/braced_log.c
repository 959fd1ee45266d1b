static struct iommu_domain *braced_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED &&
	    type != IOMMU_DOMAIN_DMA &&
	    type != IOMMU_DOMAIN_IDENTITY) {
		pr_err("invalid domain type %u\n", type);
		return NULL;
	}

	return &braced_domain;
}

static const struct iommu_ops braced_ops = {
	.use_dma_iommu = true,
	.domain_alloc = braced_domain_alloc,
};
