// modes: patch
// A release with bitfields in struct iommu_ops (6.12: user_pasid_table)
// and a core that decides about flush queues itself: use_dma_iommu only,
// beside the bitfield.
struct iommu_ops {
	struct iommu_domain *(*domain_alloc)(unsigned iommu_domain_type);
	const struct iommu_domain_ops *default_domain_ops;
	unsigned long pgsize_bitmap;
	struct module *owner;
	struct iommu_domain *default_domain;
	u8 user_pasid_table:1;
};
