// SPDX-License-Identifier: GPL-2.0-only
/// List every struct iommu_ops initializer and its domain allocator.
///
/// For the type-acceptance report: one event per initializer (with or
/// without .domain_alloc), naming the .domain_alloc or .domain_alloc_paging
/// function it uses, and one event per definition of such a function in
/// the same file, with its line and the name of its type parameter. The
/// report reads the gate of that function from the file text before and
/// after the rewrite. Changes nothing.
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

@inventory_ops@
identifier I;
position pos;
@@
struct iommu_ops I@pos = { ... };

@script:python depends on record@
I << inventory_ops.I;
pos << inventory_ops.pos;
@@
emit('ops', file=pos[0].file, ops=I, line=int(pos[0].line))

@inventory_alloc@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@script:python depends on report && !record@
I << inventory_alloc.I;
fn << inventory_alloc.fn;
pos << inventory_alloc.pos;
@@
coccilib.report.print_report(pos[0], "%s: .domain_alloc = %s" % (I, fn))

@script:python depends on org@
I << inventory_alloc.I;
fn << inventory_alloc.fn;
pos << inventory_alloc.pos;
@@
coccilib.org.print_todo(pos[0], "%s: .domain_alloc = %s" % (I, fn))

@depends on context@
identifier I, fn;
@@
struct iommu_ops I = {
*	.domain_alloc = fn,
};

// A report-only helper: in patch mode there is nothing to change.
@script:python depends on patch@
I << inventory_ops.I;
@@
pass

@script:python depends on record@
I << inventory_alloc.I;
fn << inventory_alloc.fn;
pos << inventory_alloc.pos;
@@
emit('ops-alloc', file=pos[0].file, ops=I, field='domain_alloc', function=fn)

@alloc_paging@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc_paging = fn, };

@script:python depends on record@
I << alloc_paging.I;
fn << alloc_paging.fn;
pos << alloc_paging.pos;
@@
emit('ops-alloc', file=pos[0].file, ops=I, field='domain_alloc_paging',
     function=fn)

@alloc_def@
identifier inventory_alloc.fn, t;
type T;
position p;
@@
fn@p(T t) { ... }

@script:python depends on record@
fn << inventory_alloc.fn;
t << alloc_def.t;
p << alloc_def.p;
@@
emit('alloc-def', file=p[0].file, function=fn, param=t, line=int(p[0].line))

@paging_def@
identifier alloc_paging.fn;
position p;
@@
fn@p(...) { ... }

@script:python depends on record@
fn << alloc_paging.fn;
p << paging_def.p;
@@
emit('alloc-def', file=p[0].file, function=fn, param=None,
     line=int(p[0].line))
