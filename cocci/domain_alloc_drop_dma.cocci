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
///
/// The rule guards itself: it drops the IOMMU_DOMAIN_DMA comparisons only
/// of an ops that already declares `.use_dma_iommu = true`, and the
/// IOMMU_DOMAIN_DMA_FQ ones only where `.allow_dma_fq = true` is declared
/// too (with -D dma_fq, for cores that hand DMA_FQ to drivers), so run
/// alone or before iommu_ops_dma_flags.cocci it removes nothing a driver
/// still needs. -D report, context and org show the comparisons that go.
//
// Confidence: High
// Options: --no-includes

virtual patch
virtual context
virtual org
virtual report
virtual record
virtual dma_fq

@initialize:python@
@@
import json
import re

# Case labels (file, line, column) that spatch matched falling through to
# the IOMMU_DOMAIN_UNMANAGED label (the rule falls_through below).
falling = set()

def label_key(p):
	return (p[0].file, p[0].line, p[0].column)

def falls_to_unmanaged(p):
	return label_key(p) in falling

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

# domain_alloc functions of the current file whose ops declare each flag;
# python state outlives a file, so it is reset when a new file starts.
flagged = {'file': None, 'use_dma_iommu': set(), 'allow_dma_fq': set()}

def new_file(name):
	if flagged['file'] != name:
		flagged['file'] = name
		flagged['use_dma_iommu'].clear()
		flagged['allow_dma_fq'].clear()

def dma_declared(fn):
	return fn in flagged['use_dma_iommu']

# Without -D dma_fq the core never hands DMA_FQ to drivers: use_dma_iommu
# is enough to drop those comparisons too.
def fq_declared(fn):
	return fn in flagged['allow_dma_fq']

@drop_ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@script:python@
pos << drop_ops.pos;
@@
new_file(pos[0].file)

@declares_dma@
identifier I, fn;
symbol true;
@@
struct iommu_ops I = { .use_dma_iommu = true, .domain_alloc = fn, };

@script:python@
fn << declares_dma.fn;
@@
flagged['use_dma_iommu'].add(fn)

@declares_fq depends on dma_fq@
identifier I, fn;
symbol true;
@@
struct iommu_ops I = { .allow_dma_fq = true, .domain_alloc = fn, };

@script:python@
fn << declares_fq.fn;
@@
flagged['allow_dma_fq'].add(fn)

@declares_fq_by_core depends on !dma_fq@
identifier I, fn;
symbol true;
@@
struct iommu_ops I = { .use_dma_iommu = true, .domain_alloc = fn, };

@script:python@
fn << declares_fq_by_core.fn;
@@
flagged['allow_dma_fq'].add(fn)

// -D report / org / context: the comparisons this rule drops.
@dead_comparison depends on report || org || context@
identifier drop_ops.fn, t;
type T;
constant C =~ "^IOMMU_DOMAIN_DMA(_FQ)?$";
position p;
@@
fn(T t) {
<+...
* t@p != C
...+>
}

@script:python depends on report@
fn << drop_ops.fn;
c << dead_comparison.C;
p << dead_comparison.p;
@@
coccilib.report.print_report(p[0], "%s(): %s is dead once the core hands drivers IOMMU_DOMAIN_UNMANAGED and the ops declare their flags" % (fn, c))

@script:python depends on org@
fn << drop_ops.fn;
c << dead_comparison.C;
p << dead_comparison.p;
@@
coccilib.org.print_todo(p[0], "%s(): %s comparison to drop" % (fn, c))

// Each rule below drops only in a domain_alloc (ops.fn: spatch tries no
// other function) whose ops declare the flag it needs (the constraint on
// its name); depends on says so for the whole file, so spatch skips a file
// where no ops declares the flag.
@drop_legacy_gate depends on patch && declares_dma && (declares_fq || declares_fq_by_core)@
identifier drop_ops.fn;
position fn_pos : script:python(fn) { dma_declared(fn) and fq_declared(fn) };
identifier t, F;
type T;
expression E;
position p;
@@
fn@fn_pos(T t) {
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
fn << drop_ops.fn;
p << drop_legacy_gate.p;
@@
for c in ('IOMMU_DOMAIN_DMA', 'IOMMU_DOMAIN_DMA_FQ'):
	emit('gate', file=flagged['file'], function=fn, removed=c, shape='legacy-gate')

@drop_dma_conjunct depends on patch && declares_dma@
identifier drop_ops.fn;
position fn_pos : script:python(fn) { dma_declared(fn) };
identifier t;
type T;
expression E;
position p;
@@
fn@fn_pos(T t) {
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
fn << drop_ops.fn;
p << drop_dma_conjunct.p;
@@
emit('gate', file=flagged['file'], function=fn, removed='IOMMU_DOMAIN_DMA',
     shape='chain')

@drop_dma_fq_conjunct depends on patch && (declares_fq || declares_fq_by_core)@
identifier drop_ops.fn;
position fn_pos : script:python(fn) { fq_declared(fn) };
identifier t;
type T;
expression E;
position p;
@@
fn@fn_pos(T t) {
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
fn << drop_ops.fn;
p << drop_dma_fq_conjunct.p;
@@
emit('gate', file=flagged['file'], function=fn, removed='IOMMU_DOMAIN_DMA_FQ',
     shape='chain')

// A DMA_FQ (then DMA) label followed by labels up to UNMANAGED: S is what
// spatch matched after the label, the next label when it falls through.
// Matched right before the labels go: no change in between moves them.
@falls_through_fq@
identifier drop_ops.fn, t;
type T;
constant C =~ "^IOMMU_DOMAIN_DMA_FQ$";
statement S;
position p;
@@
fn(T t) {
<+...
switch (t) { case C@p: S }
...+>
}

@script:python@
c << falls_through_fq.C;
p << falls_through_fq.p;
s << falls_through_fq.S;
@@
labels = re.match(r'(?:case\s+\w+\s*:\s*)*', s).group(0)
if re.search(r'\bIOMMU_DOMAIN_UNMANAGED\b', labels):
	falling.add(label_key(p))

@drop_dma_fq_label depends on patch && (declares_fq || declares_fq_by_core)@
identifier drop_ops.fn;
position fn_pos : script:python(fn) { fq_declared(fn) };
identifier t;
type T;
constant C;
position p : script:python() { falls_to_unmanaged(p) };
@@
fn@fn_pos(T t) {
<...
switch (t) {
- case IOMMU_DOMAIN_DMA_FQ@p:
  case C:
  ...
}
...>
}

@script:python depends on record@
fn << drop_ops.fn;
p << drop_dma_fq_label.p;
@@
emit('gate', file=flagged['file'], function=fn, removed='IOMMU_DOMAIN_DMA_FQ',
     shape='label')

@falls_through_dma@
identifier drop_ops.fn, t;
type T;
constant C =~ "^IOMMU_DOMAIN_DMA$";
statement S;
position p;
@@
fn(T t) {
<+...
switch (t) { case C@p: S }
...+>
}

@script:python@
c << falls_through_dma.C;
p << falls_through_dma.p;
s << falls_through_dma.S;
@@
labels = re.match(r'(?:case\s+\w+\s*:\s*)*', s).group(0)
if re.search(r'\bIOMMU_DOMAIN_UNMANAGED\b', labels):
	falling.add(label_key(p))

@dead_label depends on report || org || context@
identifier drop_ops.fn, t;
type T;
constant C =~ "^IOMMU_DOMAIN_DMA(_FQ)?$";
position p : script:python() { falls_to_unmanaged(p) };
@@
fn(T t) {
<+...
switch (t) {
* case C@p:
  ...
}
...+>
}

@script:python depends on report@
fn << drop_ops.fn;
c << dead_label.C;
p << dead_label.p;
@@
coccilib.report.print_report(p[0], "%s(): case %s is dead once the core hands drivers IOMMU_DOMAIN_UNMANAGED and the ops declare their flags" % (fn, c))

@script:python depends on org@
fn << drop_ops.fn;
c << dead_label.C;
p << dead_label.p;
@@
coccilib.org.print_todo(p[0], "%s(): case %s to drop" % (fn, c))

@drop_dma_label depends on patch && declares_dma@
identifier drop_ops.fn;
position fn_pos : script:python(fn) { dma_declared(fn) };
identifier t;
type T;
constant C;
position p : script:python() { falls_to_unmanaged(p) };
@@
fn@fn_pos(T t) {
<...
switch (t) {
- case IOMMU_DOMAIN_DMA@p:
  case C:
  ...
}
...>
}

@script:python depends on record@
fn << drop_ops.fn;
p << drop_dma_label.p;
@@
emit('gate', file=flagged['file'], function=fn, removed='IOMMU_DOMAIN_DMA',
     shape='label')
