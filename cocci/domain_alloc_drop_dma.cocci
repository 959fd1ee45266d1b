// SPDX-License-Identifier: GPL-2.0-only
/// Drop IOMMU_DOMAIN_DMA and IOMMU_DOMAIN_DMA_FQ from domain_alloc gates.
///
/// Once the core hands drivers an IOMMU_DOMAIN_UNMANAGED domain for the DMA
/// API (and declares DMA support with iommu_ops flags), the comparisons a
/// driver's .domain_alloc makes against the two DMA types are dead. Only
/// functions used as .domain_alloc of a struct iommu_ops are touched; the
/// same comparisons elsewhere (attach, def_domain_type) keep their meaning.
///
/// Shapes: a conjunct of a `type != X && ...` chain anywhere in the
/// function; a case label that falls straight through to the
/// IOMMU_DOMAIN_UNMANAGED label; the nested legacy-binding gate
/// `if (E) { if (F || (t != DMA && t != DMA_FQ)) return NULL; }`.
/// A label with a body of its own is left alone (the audit reports it).
//
// Confidence: High
// Options: --no-includes

virtual patch
virtual record

@initialize:python@
@@
import json
import re

def falls_to_unmanaged(p):
	"""The label at p is followed only by case labels up to UNMANAGED."""
	with open(p[0].file) as f:
		lines = f.read().split('\n')
	line = int(p[0].line) - 1
	text = '\n'.join([lines[line][int(p[0].column_end):]] +
			 lines[line + 1:line + 40])
	text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)
	labels = re.match(r'\s*:((?:\s*case\s+\w+\s*:)*)', text)
	return bool(labels) and \
		re.search(r'\bIOMMU_DOMAIN_UNMANAGED\b', labels.group(1)) is not None

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

@ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@drop_legacy_gate depends on patch@
identifier ops.fn, t, F;
type T;
expression E;
position p;
@@
fn(T t) {
<...
- if@p (E) {
-	if (F ||
-	    (\(t != IOMMU_DOMAIN_DMA && t != IOMMU_DOMAIN_DMA_FQ\|
-	      t != IOMMU_DOMAIN_DMA_FQ && t != IOMMU_DOMAIN_DMA\)))
-		return NULL;
- }
+ if (E)
+	return NULL;
...>
}

@script:python depends on record@
fn << ops.fn;
pos << ops.pos;
p << drop_legacy_gate.p;
@@
for c in ('IOMMU_DOMAIN_DMA', 'IOMMU_DOMAIN_DMA_FQ'):
	emit('gate', file=pos[0].file, function=fn, removed=c, shape='legacy-gate')

@drop_dma_conjunct depends on patch@
identifier ops.fn, t;
type T;
expression E;
position p;
@@
fn(T t) {
<...
(
- t != IOMMU_DOMAIN_DMA@p &&
  E
|
  E
- && t != IOMMU_DOMAIN_DMA@p
)
...>
}

@script:python depends on record@
fn << ops.fn;
pos << ops.pos;
p << drop_dma_conjunct.p;
@@
emit('gate', file=pos[0].file, function=fn, removed='IOMMU_DOMAIN_DMA',
     shape='chain')

@drop_dma_fq_conjunct depends on patch@
identifier ops.fn, t;
type T;
expression E;
position p;
@@
fn(T t) {
<...
(
- t != IOMMU_DOMAIN_DMA_FQ@p &&
  E
|
  E
- && t != IOMMU_DOMAIN_DMA_FQ@p
)
...>
}

@script:python depends on record@
fn << ops.fn;
pos << ops.pos;
p << drop_dma_fq_conjunct.p;
@@
emit('gate', file=pos[0].file, function=fn, removed='IOMMU_DOMAIN_DMA_FQ',
     shape='chain')

@drop_dma_fq_label depends on patch@
identifier ops.fn, t;
type T;
constant C;
position p : script:python() { falls_to_unmanaged(p) };
@@
fn(T t) {
<...
switch (t) {
- case IOMMU_DOMAIN_DMA_FQ@p:
  case C:
  ...
}
...>
}

@script:python depends on record@
fn << ops.fn;
pos << ops.pos;
p << drop_dma_fq_label.p;
@@
emit('gate', file=pos[0].file, function=fn, removed='IOMMU_DOMAIN_DMA_FQ',
     shape='label')

@drop_dma_label depends on patch@
identifier ops.fn, t;
type T;
constant C;
position p : script:python() { falls_to_unmanaged(p) };
@@
fn(T t) {
<...
switch (t) {
- case IOMMU_DOMAIN_DMA@p:
  case C:
  ...
}
...>
}

@script:python depends on record@
fn << ops.fn;
pos << ops.pos;
p << drop_dma_label.p;
@@
emit('gate', file=pos[0].file, function=fn, removed='IOMMU_DOMAIN_DMA',
     shape='label')
