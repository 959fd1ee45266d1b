// SPDX-License-Identifier: GPL-2.0-only
/// Name every struct iommu_ops initializer and .domain_alloc function that
/// spatch parsed.
///
/// spatch silently skips a function it cannot parse, and then every rule
/// silently skips that driver. The tool compares what this rule names with
/// a plain-text scan of the same files (tools/iommu_dma/parsecheck.py) and
/// refuses the rewrite if an initializer or a .domain_alloc function
/// defined in the file was not parsed. Changes nothing.
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

@parsed_ops@
identifier I;
position pos;
@@
struct iommu_ops I@pos = { ... };

@script:python depends on record@
I << parsed_ops.I;
pos << parsed_ops.pos;
@@
emit('ops-parsed', file=pos[0].file, ops=I)

@script:python depends on !record@
I << parsed_ops.I;
pos << parsed_ops.pos;
@@
coccilib.report.print_report(pos[0], "struct iommu_ops %s parsed" % I)

@parsed_alloc@
identifier I, fn;
@@
struct iommu_ops I = { .domain_alloc = fn, };

@def@
identifier parsed_alloc.fn;
position pos;
@@
fn@pos(...) { ... }

@script:python depends on record@
fn << parsed_alloc.fn;
pos << def.pos;
@@
emit('alloc-parsed', file=pos[0].file, function=fn)
