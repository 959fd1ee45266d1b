static struct iommu_domain *foo_domain_alloc(unsigned int type)
{
	struct foo_domain *dom;

	if (type == IOMMU_DOMAIN_UNMANAGED || type == IOMMU_DOMAIN_DMA ||
	    type == IOMMU_DOMAIN_DMA_FQ) {
		dom = kzalloc(sizeof(*dom), GFP_KERNEL);
		if (!dom)
			return NULL;
		return &dom->domain;
	}
	return NULL;
}

static const struct iommu_ops foo_ops = {
	.domain_alloc = foo_domain_alloc,
};
