static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	switch (type) {
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_DMA_FQ:
	case IOMMU_DOMAIN_UNMANAGED:
		return &foo_domain;
	default:
		return NULL;
	}
}

const struct iommu_ops foo_ops = {
	.domain_alloc		= foo_domain_alloc,
#ifdef CONFIG_FOO_SVA
	.dev_enable_feat	= foo_enable_feat,
#endif
	.default_domain_ops = &(const struct iommu_domain_ops) {
		.attach_dev	= foo_attach_dev,
	},
};
