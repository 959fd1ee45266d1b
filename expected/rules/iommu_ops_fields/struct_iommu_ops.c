struct iommu_ops {
	bool (*capable)(struct device *dev, enum iommu_cap);
	struct iommu_domain *(*domain_alloc)(unsigned iommu_domain_type);
	const struct iommu_domain_ops *default_domain_ops;
	unsigned long pgsize_bitmap;
	struct module *owner;
};
