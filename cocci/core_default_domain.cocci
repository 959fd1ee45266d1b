// SPDX-License-Identifier: GPL-2.0-only
/// Keep IOMMU_DOMAIN_DMA out of drivers in v6.1-v6.4 cores.
///
/// These cores allocate a group's default domain in
/// iommu_group_alloc_default_domain(), which asks __iommu_domain_alloc()
/// for the requested type and falls back to IOMMU_DOMAIN_DMA. The rewrite
/// goes into __iommu_domain_alloc(), before the driver is called: a DMA
/// API type is refused to a driver without ops->use_dma_iommu, DMA_FQ also
/// to one without ops->allow_dma_fq, and the driver is asked for an
/// IOMMU_DOMAIN_UNMANAGED domain instead. Everything after the call stays:
/// the domain still gets its DMA type and then its IOVA cookie, and a
/// refused DMA_FQ (or IDENTITY) request still falls back to
/// IOMMU_DOMAIN_DMA with the caller's warning, as it did when the driver
/// itself refused the type.
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

// The era marker: the default-domain allocation with its DMA fallback.
@default_domain_fallback@
identifier alloc_default, alloc_fn, bus, type, dom;
position p;
@@
static int alloc_default@p(...)
{
	...
	dom = alloc_fn(bus, type);
	if (!dom && type != IOMMU_DOMAIN_DMA) {
		dom = alloc_fn(bus, IOMMU_DOMAIN_DMA);
		...
	}
	...
}

// The allocator it calls, where the driver's domain_alloc is called.
@driver_call@
identifier default_domain_fallback.alloc_fn;
identifier bus, type, domain;
position p;
@@
alloc_fn@p(...)
{
	...
	domain = bus->iommu_ops->domain_alloc(type);
	...
}

@script:python depends on record && driver_call@
p << default_domain_fallback.p;
fn << default_domain_fallback.alloc_default;
@@
emit('core-shape', file=p[0].file, function=fn, shape='default-domain-fallback')

@script:python depends on report@
p << driver_call.p;
fn << default_domain_fallback.alloc_fn;
@@
coccilib.report.print_report(p[0], "%s() hands IOMMU_DOMAIN_DMA to drivers" % fn)

@script:python depends on org@
p << driver_call.p;
fn << default_domain_fallback.alloc_fn;
@@
coccilib.org.print_todo(p[0], "%s() hands IOMMU_DOMAIN_DMA to drivers" % fn)

@depends on context@
identifier default_domain_fallback.alloc_fn;
identifier driver_call.bus, driver_call.type, driver_call.domain;
@@
*	domain = bus->iommu_ops->domain_alloc(type);

@dma_via_unmanaged depends on patch@
identifier default_domain_fallback.alloc_fn;
identifier driver_call.bus, driver_call.type, driver_call.domain;

expression E;
position p;
@@
alloc_fn@p(...)
{
	struct iommu_domain *domain;
+	unsigned int alloc_type = type;
	...
	if (E)
		return NULL;
+
+	/*
+	 * Keep the DMA domain types out of the drivers: a driver declaring
+	 * use_dma_iommu is asked for an UNMANAGED domain, which becomes a DMA
+	 * API domain below. Without allow_dma_fq a DMA_FQ request fails and
+	 * the caller falls back to IOMMU_DOMAIN_DMA.
+	 */
+	if (type & __IOMMU_DOMAIN_DMA_API) {
+		const struct iommu_ops *ops = bus->iommu_ops;
+
+		if (!ops->use_dma_iommu)
+			return NULL;
+		if (type == IOMMU_DOMAIN_DMA_FQ && !ops->allow_dma_fq)
+			return NULL;
+		alloc_type = IOMMU_DOMAIN_UNMANAGED;
+	}
-	domain = bus->iommu_ops->domain_alloc(type);
+	domain = bus->iommu_ops->domain_alloc(alloc_type);
	...
}

// Positions of a transforming rule may name a temporary file: the file
// comes from the era marker.
@script:python depends on record && dma_via_unmanaged@
p << default_domain_fallback.p;
fn << default_domain_fallback.alloc_fn;
@@
emit('core', file=p[0].file, function=fn, shape='default-domain-fallback')
