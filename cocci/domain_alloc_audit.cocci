// SPDX-License-Identifier: GPL-2.0-only
/// Report domain_alloc gates the rewrite cannot handle.
///
/// Run on a tree after the other rules: every IOMMU_DOMAIN_DMA or
/// IOMMU_DOMAIN_DMA_FQ still named inside a function used as .domain_alloc
/// is a shape the rules do not know (for example a label with a body of
/// its own). A domain_alloc that never tests its type with !=, a switch or
/// against a DMA type accepts IOMMU_DOMAIN_DMA implicitly. A domain_alloc that passes its type
/// to a helper which compares it with a domain type (directly or through
/// further helpers in the file) would see UNMANAGED where it saw DMA.
/// All of these need a human.
//
// Confidence: Moderate
// Options: --no-includes

virtual patch
virtual context
virtual org
virtual report
virtual record

@initialize:python@
@@
import json
import re

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

# Per file: helper calls passing a type parameter on, and functions that
# compare a parameter with a domain type. Report mode changes nothing, so
# positions name the real files and can key the state.
calls = {}
compares = {}
type_filtered = set()    # (file, fn): tests its type
allocs = set()

def note_call(file, caller, callee):
	calls.setdefault(file, set()).add((caller, callee))

def note_compare(file, fn, line):
	compares.setdefault(file, {}).setdefault(fn, int(line))

def comparing_helpers(file, fn):
	"""Helpers reached from fn by passing the type on that compare it."""
	seen, todo, found = set(), [fn], []
	while todo:
		caller = todo.pop()
		for c, callee in sorted(calls.get(file, ())):
			if c != caller or callee in seen:
				continue
			seen.add(callee)
			todo.append(callee)
			if callee in compares.get(file, {}):
				found.append((callee, compares[file][callee]))
	return found

@initialize:python@
@@
def decide(file, fn):
	"""(kind, helper, line, message) findings for fn of file."""
	out = []
	if (file, fn) not in allocs:
		return out
	if (file, fn) not in type_filtered:
		out.append(('implicit-dma', None, None,
			    'no type filter: took IOMMU_DOMAIN_DMA and DMA_FQ without naming them'))
	for helper, line in comparing_helpers(file, fn):
		out.append(('type-helper', helper, line,
			    'passes the type to %s(), which compares it with a domain type at line %d'
			    % (helper, line)))
	return out

@audit_ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@leftover depends on report || record@
identifier audit_ops.fn;
constant C =~ "^IOMMU_DOMAIN_DMA(_FQ)?$";
position p;
@@
fn(...) {
<+...
  C@p
...+>
}

@script:python depends on record@
fn << audit_ops.fn;
pos << audit_ops.pos;
c << leftover.C;
p << leftover.p;
@@
emit('finding', kind='not-rewritten', file=pos[0].file, function=fn,
     constant=c, line=int(p[0].line),
     message='%s still compared at line %s: the rules leave this comparison alone'
	     % (c, p[0].line))

@script:python depends on !record@
fn << audit_ops.fn;
c << leftover.C;
p << leftover.p;
@@
coccilib.report.print_report(p[0], "%s(): %s still named in a domain_alloc: the rules leave it alone" % (fn, c))

@type_filter_chain depends on report || record@
identifier audit_ops.fn, t;
type T;
expression E;
position p;
@@
fn(T t) {
<+...
(
  t@p != E
|
  t@p == IOMMU_DOMAIN_DMA
|
  t@p == IOMMU_DOMAIN_DMA_FQ
)
...+>
}

@script:python@
fn << audit_ops.fn;
p << type_filter_chain.p;
@@
type_filtered.add((p[0].file, fn))

@type_filter_switch depends on report || record@
identifier audit_ops.fn, t;
type T;
constant C;
position p;
@@
fn(T t) {
<+...
  switch (t@p) { case C: ... }
...+>
}

@script:python@
fn << audit_ops.fn;
p << type_filter_switch.p;
@@
type_filtered.add((p[0].file, fn))

@domain_alloc_fn depends on report || record@
identifier audit_ops.fn;
position p;
@@
fn@p(...) { ... }

@script:python@
fn << audit_ops.fn;
p << domain_alloc_fn.p;
@@
allocs.add((p[0].file, fn))

// The type passed on to helpers, two calls deep (intel: alloc_domain()
// then first_level_by_default()).
@passes_type depends on report || record@
identifier audit_ops.fn, t, helper;
type T;
position p;
@@
fn(T t) {
<+...
  helper@p(..., t, ...)
...+>
}

@script:python@
fn << audit_ops.fn;
helper << passes_type.helper;
p << passes_type.p;
@@
note_call(p[0].file, fn, helper)

@passes_type_on depends on report || record@
identifier passes_type.helper, u, helper2;
type T;
position p;
@@
helper(..., T u, ...) {
<+...
  helper2@p(..., u, ...)
...+>
}

@script:python@
helper << passes_type.helper;
helper2 << passes_type_on.helper2;
p << passes_type_on.p;
@@
note_call(p[0].file, helper, helper2)

@helper_compares depends on report || record@
identifier passes_type.helper, u;
type T;
constant C =~ "^IOMMU_DOMAIN_";
position p;
@@
helper(..., T u, ...) {
<+...
(
  u@p == C
|
  u@p != C
)
...+>
}

@script:python@
helper << passes_type.helper;
p << helper_compares.p;
@@
note_compare(p[0].file, helper, p[0].line)

@helper2_compares depends on report || record@
identifier passes_type_on.helper2, u;
type T;
constant C =~ "^IOMMU_DOMAIN_";
position p;
@@
helper2(..., T u, ...) {
<+...
(
  u@p == C
|
  u@p != C
)
...+>
}

@script:python@
helper << passes_type_on.helper2;
p << helper2_compares.p;
@@
note_compare(p[0].file, helper, p[0].line)

// Decided per ops once every rule above has seen its file: the state is
// that file's alone, so -j workers (coccicheck J=) give the same findings.
@script:python depends on record@
fn << audit_ops.fn;
pos << audit_ops.pos;
@@
for kind, helper, line, message in decide(pos[0].file, fn):
	where = dict(helper=helper, line=line) if helper else {}
	emit('finding', kind=kind, file=pos[0].file, function=fn,
	     message=message, **where)

@script:python depends on !record@
fn << audit_ops.fn;
pos << audit_ops.pos;
@@
for kind, helper, line, message in decide(pos[0].file, fn):
	coccilib.report.print_report(pos[0], "%s(): %s" % (fn, message))
