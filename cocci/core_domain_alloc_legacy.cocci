// SPDX-License-Identifier: GPL-2.0-only
/// Keep IOMMU_DOMAIN_DMA out of legacy .domain_alloc drivers (v6.5-v6.15).
///
/// These cores allocate every domain in __iommu_domain_alloc(), mask
/// IOMMU_DOMAIN_DMA_FQ down to IOMMU_DOMAIN_DMA before a driver sees it
/// (IOMMU_DOMAIN_ALLOC_FLAGS) and gate flush queues with
/// IOMMU_CAP_DEFERRED_FLUSH, so only use_dma_iommu is needed. A driver
/// still sees IOMMU_DOMAIN_DMA through ops->domain_alloc(alloc_type).
/// After the rewrite it is handed IOMMU_DOMAIN_UNMANAGED instead, and only
/// if it declares use_dma_iommu; the domain keeps its DMA type (and so its
/// IOVA cookie) in the core. Two shapes: v6.7+ calls the driver in an
/// else-if chain after domain_alloc_paging (the check goes after the
/// declaration; paging drivers are not affected), v6.5-v6.6 calls
/// bus->iommu_ops->domain_alloc() after a NULL check of the bus (the check
/// goes right before the call). A refusal returns what the function's
/// callers expect: ERR_PTR(-EINVAL) where it returns ERR_PTR, else NULL.
//
// Confidence: High
// Options: --no-includes

virtual patch
virtual context
virtual org
virtual report
virtual record

@initialize:python@
@@
import json

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

# Allocators that return ERR_PTR, so a refusal must too.
err_ptr = set()

def returns_err_ptr(fn):
	return fn in err_ptr

def returns_null(fn):
	return fn not in err_ptr

@legacy_branch@
identifier alloc_fn, type, alloc_type;
expression ops;
type T;
position p;
@@
alloc_fn@p(...)
{
	...
	T alloc_type = type & IOMMU_DOMAIN_ALLOC_FLAGS;
	<+... ops->domain_alloc(alloc_type) ...+>
}

@err_ptr_returned@
identifier legacy_branch.alloc_fn;
expression E;
@@
alloc_fn(...)
{
	<+... return ERR_PTR(E); ...+>
}

@script:python depends on err_ptr_returned@
fn << legacy_branch.alloc_fn;
@@
err_ptr.add(fn)

@script:python depends on record@
p << legacy_branch.p;
fn << legacy_branch.alloc_fn;
@@
emit('core-shape', file=p[0].file, function=fn, shape='domain-alloc-legacy')

@script:python depends on report@
p << legacy_branch.p;
fn << legacy_branch.alloc_fn;
@@
coccilib.report.print_report(p[0], "%s() hands IOMMU_DOMAIN_DMA to legacy domain_alloc drivers" % fn)

@depends on context@
identifier legacy_branch.alloc_fn, legacy_branch.alloc_type;
expression ops;
@@
alloc_fn(...)
{
	<+...
*	ops->domain_alloc(alloc_type)
	...+>
}

// v6.7+: ops is the parameter, the legacy call sits in an else-if chain.
@chain_err depends on patch@
identifier alloc_fn : script:python() { returns_err_ptr(alloc_fn) };
identifier legacy_branch.type, legacy_branch.alloc_type, ops;
type T;
statement S;
@@
alloc_fn(..., const struct iommu_ops *ops, ...)
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

@chain_null depends on patch && !chain_err@
identifier alloc_fn : script:python() { returns_null(alloc_fn) };
identifier legacy_branch.type, legacy_branch.alloc_type, ops;
type T;
statement S;
@@
alloc_fn(..., const struct iommu_ops *ops, ...)
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
+			return NULL;
+		alloc_type = IOMMU_DOMAIN_UNMANAGED;
+	}
	S
	...
}

// v6.5-v6.6: the bus's ops, called after the bus is checked.
@bus_call depends on patch && !chain_err && !chain_null@
identifier legacy_branch.alloc_fn, legacy_branch.alloc_type, domain, bus;
@@
alloc_fn(...)
{
	...
+	if (alloc_type == IOMMU_DOMAIN_DMA) {
+		if (!bus->iommu_ops->use_dma_iommu)
+			return NULL;
+		alloc_type = IOMMU_DOMAIN_UNMANAGED;
+	}
+
	domain = bus->iommu_ops->domain_alloc(alloc_type);
	...
}

@script:python depends on record && (chain_err || chain_null || bus_call)@
p << legacy_branch.p;
fn << legacy_branch.alloc_fn;
@@
emit('core', file=p[0].file, function=fn, shape='domain-alloc-legacy')
