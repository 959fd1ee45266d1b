/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixture IOMMU API of the vendor corpus (v6.1): the domain types at the
 * kernel's bit values and the struct iommu_ops fields the drivers use.
 */
#ifndef __LINUX_IOMMU_H
#define __LINUX_IOMMU_H

#include <linux/types.h>

#define __IOMMU_DOMAIN_PAGING	(1U << 0)  /* Support for map/unmap */
#define __IOMMU_DOMAIN_DMA_API	(1U << 1)  /* Domain for the DMA API */
#define __IOMMU_DOMAIN_PT	(1U << 2)  /* Identity mapped */
#define __IOMMU_DOMAIN_DMA_FQ	(1U << 3)  /* DMA API with flush queue */

#define IOMMU_DOMAIN_BLOCKED	(0U)
#define IOMMU_DOMAIN_IDENTITY	(__IOMMU_DOMAIN_PT)
#define IOMMU_DOMAIN_UNMANAGED	(__IOMMU_DOMAIN_PAGING)
#define IOMMU_DOMAIN_DMA	(__IOMMU_DOMAIN_PAGING |	\
				 __IOMMU_DOMAIN_DMA_API)
#define IOMMU_DOMAIN_DMA_FQ	(__IOMMU_DOMAIN_PAGING |	\
				 __IOMMU_DOMAIN_DMA_API |	\
				 __IOMMU_DOMAIN_DMA_FQ)

struct device;
struct module;

struct bus_type {
	const struct iommu_ops *iommu_ops;
};

struct iommu_domain {
	unsigned int type;
	const struct iommu_domain_ops *ops;
	void *iova_cookie;
};

struct iommu_group {
	const char *name;
	struct iommu_domain *default_domain;
	struct iommu_domain *domain;
};

struct iommu_domain_ops {
	int (*attach_dev)(struct iommu_domain *domain, struct device *dev);
	void (*free)(struct iommu_domain *domain);
};

struct iommu_ops {
	bool (*capable)(struct device *dev, int cap);
	struct iommu_domain *(*domain_alloc)(unsigned int iommu_domain_type);
	int (*probe_device)(struct device *dev);
	int (*def_domain_type)(struct device *dev);
	const struct iommu_domain_ops *default_domain_ops;
	unsigned long pgsize_bitmap;
	struct module *owner;
};

#endif /* __LINUX_IOMMU_H */
