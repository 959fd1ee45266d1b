// SPDX-License-Identifier: GPL-2.0-only
/// Clear use_dma_iommu where a legacy binding vetoes DMA domains.
///
/// arm-smmu refuses IOMMU_DOMAIN_DMA and IOMMU_DOMAIN_DMA_FQ while its
/// deprecated "mmu-masters" binding is in use, with a nested gate in
/// domain_alloc:
///	if (E) { if (F || (type != DMA && type != DMA_FQ)) return NULL; }
/// Once that gate is gone the core decides, so wherever the veto flag F is
/// set, the ops whose domain_alloc tested it stops declaring DMA support:
///	F = true;  becomes  F = true; ops.use_dma_iommu = false;
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

@legacy_ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@legacy_gate@
identifier legacy_ops.fn, t, F;
type T;
expression E;
@@
fn(T t) {
<+...
  if (E) {
	if (F ||
	    (\(t != IOMMU_DOMAIN_DMA && t != IOMMU_DOMAIN_DMA_FQ\|
	      t != IOMMU_DOMAIN_DMA_FQ && t != IOMMU_DOMAIN_DMA\)))
		return NULL;
  }
...+>
}

// The rules below inherit F; their depends on legacy_gate says so once
// more, so spatch skips them where it did not match (it would otherwise
// walk every function of the file).
@legacy_set depends on (report || org || context) && legacy_gate@
identifier legacy_gate.F, setter;
symbol true;
position p;
@@
setter(...) {
<+...
* F@p = \(true\|1\);
...+>
}

@script:python depends on report@
I << legacy_ops.I;
F << legacy_gate.F;
p << legacy_set.p;
@@
coccilib.report.print_report(p[0], "%s refuses DMA domains once %s is set: clear %s.use_dma_iommu here" % (I, F, I))

@script:python depends on org@
I << legacy_ops.I;
p << legacy_set.p;
@@
coccilib.org.print_todo(p[0], "clear %s.use_dma_iommu" % I)

@clear_use_dma_iommu depends on patch && legacy_gate@
identifier legacy_gate.F, legacy_ops.I, setter;
symbol true;
position p;
@@
setter(...) {
<...
  F@p = \(true\|1\);
+ I.use_dma_iommu = false;
...>
}

@script:python depends on record@
I << legacy_ops.I;
F << legacy_gate.F;
setter << clear_use_dma_iommu.setter;
p << clear_use_dma_iommu.p;
pos << legacy_ops.pos;
@@
emit('legacy-binding', file=pos[0].file, ops=I, function=setter, flag_var=F)
