// SPDX-License-Identifier: GPL-2.0-only
/// Keep IOMMU_DOMAIN_DMA out of drivers when allocating default domains.
///
/// Cores up to v6.4 allocate a group's default domain in
/// iommu_group_alloc_default_domain() by handing the DMA type to the driver
/// and falling back to IOMMU_DOMAIN_DMA. After the rewrite the core asks the
/// driver for IOMMU_DOMAIN_UNMANAGED, refuses DMA domains to drivers that do
/// not set ops->use_dma_iommu, and downgrades DMA_FQ to DMA unless the
/// driver sets ops->allow_dma_fq. With -D report it only says whether the
/// tree has this shape.
//
// Confidence: High
// Options: --no-includes

virtual patch
virtual report
virtual record

@initialize:python@
@@
import json

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

@default_domain_fallback@
identifier alloc_default, bus, group, type, dom;
position p;
@@
static int alloc_default@p(struct bus_type *bus, struct iommu_group *group,
			   unsigned int type)
{
	struct iommu_domain *dom;
	...
	dom = __iommu_domain_alloc(bus, type);
	if (!dom && type != IOMMU_DOMAIN_DMA) {
		dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_DMA);
		if (dom)
			pr_warn(...);
	}
	...
}

@script:python depends on record@
p << default_domain_fallback.p;
fn << default_domain_fallback.alloc_default;
@@
emit('core-shape', file=p[0].file, function=fn, shape='default-domain-fallback')

@drop_dma_fallback depends on patch@
identifier default_domain_fallback.alloc_default;
identifier bus, group, type, dom;
expression list args;
@@
alloc_default(struct bus_type *bus, struct iommu_group *group,
	      unsigned int type)
{
	...
	dom = __iommu_domain_alloc(bus, type);
-	if (!dom && type != IOMMU_DOMAIN_DMA) {
-		dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_DMA);
-		if (dom)
-			pr_warn(args);
-	}
-
-	if (!dom)
-		return -ENOMEM;
	...
}

@dma_via_unmanaged depends on patch@
identifier default_domain_fallback.alloc_default;
identifier bus, group, type, dom;
expression list drop_dma_fallback.args;
position p;
@@
alloc_default@p(struct bus_type *bus, struct iommu_group *group,
		unsigned int type)
{
	...
-	dom = __iommu_domain_alloc(bus, type);
+	/*
+	 * Keep the DMA domain type out of the drivers, eventually it will go
+	 * away completely.
+	 */
+	if (type != IOMMU_DOMAIN_IDENTITY) {
+		if (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_DMA_FQ)
+			return -EINVAL;
+		if (!bus->iommu_ops->use_dma_iommu)
+			return -EINVAL;
+	}
+	if (type == IOMMU_DOMAIN_IDENTITY)
+		dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_IDENTITY);
+	else
+		dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_UNMANAGED);
+	if (!dom)
+		return -ENOMEM;
+	if (type == IOMMU_DOMAIN_DMA_FQ && !bus->iommu_ops->allow_dma_fq) {
+		pr_warn(args);
+		type = IOMMU_DOMAIN_DMA;
+	}
+	dom->type = type;
	...
}

@script:python depends on record && dma_via_unmanaged@
p << default_domain_fallback.p;
fn << default_domain_fallback.alloc_default;
@@
emit('core', file=p[0].file, function=fn, shape='default-domain-fallback')
