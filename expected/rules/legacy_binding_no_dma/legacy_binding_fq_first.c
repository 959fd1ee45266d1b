static bool using_legacy_binding;

static struct iommu_domain *foo_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_IDENTITY) {
		if (using_legacy_binding ||
		    (type != IOMMU_DOMAIN_DMA_FQ && type != IOMMU_DOMAIN_DMA))
			return NULL;
	}
	return &foo_domain;
}

static struct iommu_ops foo_ops = {
	.domain_alloc = foo_domain_alloc,
};

static int foo_dt_probe(bool legacy)
{
	if (legacy) {
		pr_notice("deprecated binding\n");
		using_legacy_binding = true;
	}
	return 0;
}
