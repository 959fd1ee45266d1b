// SPDX-License-Identifier: GPL-2.0-only
/// Keep IOMMU_DOMAIN_DMA out of legacy .domain_alloc drivers (v6.6+ cores).
///
/// Newer cores allocate every domain in __iommu_domain_alloc(), mask
/// IOMMU_DOMAIN_DMA_FQ down to IOMMU_DOMAIN_DMA before a driver sees it
/// (IOMMU_DOMAIN_ALLOC_FLAGS) and gate flush queues with
/// IOMMU_CAP_DEFERRED_FLUSH. A driver still sees IOMMU_DOMAIN_DMA in the
/// legacy ops->domain_alloc(alloc_type) branch. After the rewrite that
/// branch hands it IOMMU_DOMAIN_UNMANAGED instead, and refuses DMA domains
/// to drivers that do not set ops->use_dma_iommu; the domain keeps its DMA
/// type in the core. With -D report it only says whether the tree has this
/// shape.
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

@legacy_branch@
identifier alloc_fn, ops, type, alloc_type;
type T;
position p;
@@
alloc_fn@p(...)
{
	...
	T alloc_type = type & IOMMU_DOMAIN_ALLOC_FLAGS;
	<+... ops->domain_alloc(alloc_type) ...+>
}

@script:python depends on record@
p << legacy_branch.p;
fn << legacy_branch.alloc_fn;
@@
emit('core-shape', file=p[0].file, function=fn, shape='domain-alloc-legacy')

@dma_via_unmanaged depends on patch@
identifier legacy_branch.alloc_fn, legacy_branch.ops;
identifier legacy_branch.type, legacy_branch.alloc_type;
type T;
statement S;
position p;
@@
alloc_fn@p(...)
{
	...
	T alloc_type = type & IOMMU_DOMAIN_ALLOC_FLAGS;
+
+	/*
+	 * Keep the DMA domain type out of the drivers: a legacy domain_alloc
+	 * gets an UNMANAGED domain, and only if it declares use_dma_iommu.
+	 */
+	if (alloc_type == IOMMU_DOMAIN_DMA && !ops->domain_alloc_paging) {
+		if (!ops->use_dma_iommu)
+			return ERR_PTR(-EINVAL);
+		alloc_type = IOMMU_DOMAIN_UNMANAGED;
+	}
	S
	...
}

@script:python depends on record && dma_via_unmanaged@
p << legacy_branch.p;
fn << legacy_branch.alloc_fn;
@@
emit('core', file=p[0].file, function=fn, shape='domain-alloc-legacy')
