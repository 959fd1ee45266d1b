// SPDX-License-Identifier: GPL-2.0-only
/// Declare in struct iommu_ops what a driver's domain_alloc accepted.
///
/// A driver whose .domain_alloc accepts IOMMU_DOMAIN_DMA gets
/// `.use_dma_iommu = true` (dma-iommu.c may use it); one that accepts
/// IOMMU_DOMAIN_DMA_FQ gets `.allow_dma_fq = true` (flush queues may be
/// selected). Acceptance is read from the code before any rewrite: a
/// `type != X` conjunct of a rejecting chain, a case label that does not
/// lead to a rejecting return, a `type == X` test whose branch does not
/// reject, or no test of the type against X at all (a domain_alloc without
/// a type filter accepts every type). A driver that accepted a DMA type
/// must keep getting DMA domains once the core stops asking for them, so
/// it gets its flag even where its comparisons cannot be dropped. The
/// fields go first in the initializer. allow_dma_fq is added only with
/// -D dma_fq, for cores that still hand flush-queue domains to drivers.
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

def label_chain(stmt):
	"""The case labels that head stmt (what spatch matched after a label:
	the next label, if the label falls through) and what follows them."""
	m = re.match(r'((?:(?:case\s+\w+|default)\s*:\s*)*)(.*)', stmt, re.S)
	return m.group(1), m.group(2)

def label_accepts(stmt):
	"""A label followed by stmt: it falls through to UNMANAGED, or what
	it leads to is not a rejecting return."""
	labels, rest = label_chain(stmt)
	return re.search(r'\bIOMMU_DOMAIN_UNMANAGED\b', labels) is not None \
		or not rejecting(rest)

def rejecting(stmt):
	"""stmt is `return NULL;` or `return ERR_PTR(...);`, braced or not."""
	return re.match(r'\{?\s*return\s+(NULL|ERR_PTR\s*\()', stmt) is not None

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

# Functions of the current file whose gate accepts each type. Python state
# outlives a file, so it is reset whenever the ops rule sees a new file.
accepted = {'file': None, 'IOMMU_DOMAIN_DMA': set(),
	    'IOMMU_DOMAIN_DMA_FQ': set()}
# Functions of the current file that test their type against something.
filtered = set()

def accept(fn, dtype):
	accepted[dtype].add(fn)

# Ops of the current file that already declare a flag: never twice.
declared = {'use_dma_iommu': set(), 'allow_dma_fq': set()}

def lacks_use_dma_iommu(ops):
	return ops not in declared['use_dma_iommu']

def lacks_allow_dma_fq(ops):
	return ops not in declared['allow_dma_fq']

# Constraint scripts lose string literals: one predicate per type.
def accepts_dma(fn):
	return fn in accepted['IOMMU_DOMAIN_DMA']

def accepts_dma_fq(fn):
	return fn in accepted['IOMMU_DOMAIN_DMA_FQ']

@flags_ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@script:python@
pos << flags_ops.pos;
@@
if accepted['file'] != pos[0].file:
	accepted['file'] = pos[0].file
	accepted['IOMMU_DOMAIN_DMA'].clear()
	accepted['IOMMU_DOMAIN_DMA_FQ'].clear()
	filtered.clear()
	declared['use_dma_iommu'].clear()
	declared['allow_dma_fq'].clear()

@has_use_dma_iommu@
identifier I;
expression E;
@@
struct iommu_ops I = { .use_dma_iommu = E, };

@script:python@
I << has_use_dma_iommu.I;
@@
declared['use_dma_iommu'].add(I)

@has_allow_dma_fq@
identifier I;
expression E;
@@
struct iommu_ops I = { .allow_dma_fq = E, };

@script:python@
I << has_allow_dma_fq.I;
@@
declared['allow_dma_fq'].add(I)

@accepts_dma_fq depends on dma_fq@
identifier flags_ops.fn, t;
type T;
expression E;
position pa;
@@
fn(T t) {
<+...
(
  t != IOMMU_DOMAIN_DMA_FQ@pa && E
|
  E && t != IOMMU_DOMAIN_DMA_FQ@pa
)
...+>
}

@script:python@
fn << flags_ops.fn;
p << accepts_dma_fq.pa;
@@
accept(fn, 'IOMMU_DOMAIN_DMA_FQ')

// A case label: accepted when it falls through to UNMANAGED or leads to
// something other than a rejecting return.
@accepts_dma_fq_label depends on dma_fq@
identifier flags_ops.fn, t;
type T;
statement S;
@@
fn(T t) {
<+...
switch (t) { case IOMMU_DOMAIN_DMA_FQ: S }
...+>
}

@script:python@
fn << flags_ops.fn;
s << accepts_dma_fq_label.S;
@@
if label_accepts(s):
	accept(fn, 'IOMMU_DOMAIN_DMA_FQ')

@accepts_dma@
identifier flags_ops.fn, t;
type T;
expression E;
position pa;
@@
fn(T t) {
<+...
(
  t != IOMMU_DOMAIN_DMA@pa && E
|
  E && t != IOMMU_DOMAIN_DMA@pa
)
...+>
}

@script:python@
fn << flags_ops.fn;
p << accepts_dma.pa;
@@
accept(fn, 'IOMMU_DOMAIN_DMA')

@accepts_dma_label@
identifier flags_ops.fn, t;
type T;
statement S;
@@
fn(T t) {
<+...
switch (t) { case IOMMU_DOMAIN_DMA: S }
...+>
}

@script:python@
fn << flags_ops.fn;
s << accepts_dma_label.S;
@@
if label_accepts(s):
	accept(fn, 'IOMMU_DOMAIN_DMA')

// A positive test: `if (t == X ...)` whose branch does not reject.
@accepts_dma_fq_positive depends on dma_fq@
identifier flags_ops.fn, t;
type T;
statement S;
position pa;
@@
fn(T t) {
<+...
if (<+... t == IOMMU_DOMAIN_DMA_FQ@pa ...+>) S
...+>
}

@script:python@
fn << flags_ops.fn;
s << accepts_dma_fq_positive.S;
@@
if not rejecting(s):
	accept(fn, 'IOMMU_DOMAIN_DMA_FQ')

@accepts_dma_positive@
identifier flags_ops.fn, t;
type T;
statement S;
position pa;
@@
fn(T t) {
<+...
if (<+... t == IOMMU_DOMAIN_DMA@pa ...+>) S
...+>
}

@script:python@
fn << flags_ops.fn;
s << accepts_dma_positive.S;
@@
if not rejecting(s):
	accept(fn, 'IOMMU_DOMAIN_DMA')

// No type filter at all: a domain_alloc that never tests its type with
// `!=`, never switches on it and never names a DMA type accepts both
// (6.1's AMD: only `type == IOMMU_DOMAIN_IDENTITY` is refused, on SNP).
@filters_type@
identifier flags_ops.fn, t;
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
fn << flags_ops.fn;
p << filters_type.p;
@@
filtered.add(fn)

@switches_on_type@
identifier flags_ops.fn, t;
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
fn << flags_ops.fn;
p << switches_on_type.p;
@@
filtered.add(fn)

@takes_type@
identifier flags_ops.fn, t;
type T;
@@
fn(T t) { ... }

@script:python depends on takes_type@
fn << flags_ops.fn;
@@
if fn not in filtered:
	accept(fn, 'IOMMU_DOMAIN_DMA')

@script:python depends on takes_type && dma_fq@
fn << flags_ops.fn;
@@
if fn not in filtered:
	accept(fn, 'IOMMU_DOMAIN_DMA_FQ')

// allow_dma_fq is added first: fields inserted at the top stack in reverse
// order, so use_dma_iommu ends up first, as in the original patch.
@add_allow_dma_fq depends on patch@
identifier I : script:python() { lacks_allow_dma_fq(I) };
identifier fn : script:python() { accepts_dma_fq(fn) };
@@
struct iommu_ops I = {
+ .allow_dma_fq = true,
  ...,
  .domain_alloc = fn,
  ...
};

@add_use_dma_iommu depends on patch@
identifier I : script:python() { lacks_use_dma_iommu(I) };
identifier fn : script:python() { accepts_dma(fn) };
@@
struct iommu_ops I = {
+ .use_dma_iommu = true,
  ...,
  .domain_alloc = fn,
  ...
};

// -D report / org: the ops that should declare a flag and do not yet.
@missing_use_dma_iommu depends on report || org@
identifier I : script:python() { lacks_use_dma_iommu(I) };
identifier fn : script:python() { accepts_dma(fn) };
position p;
@@
struct iommu_ops I@p = { .domain_alloc = fn, };

@script:python depends on report@
I << missing_use_dma_iommu.I;
fn << missing_use_dma_iommu.fn;
p << missing_use_dma_iommu.p;
@@
coccilib.report.print_report(p[0], "%s: %s() takes IOMMU_DOMAIN_DMA: declare .use_dma_iommu = true" % (I, fn))

@script:python depends on org@
I << missing_use_dma_iommu.I;
p << missing_use_dma_iommu.p;
@@
coccilib.org.print_todo(p[0], "%s: declare .use_dma_iommu" % I)

@missing_allow_dma_fq depends on dma_fq && (report || org)@
identifier I : script:python() { lacks_allow_dma_fq(I) };
identifier fn : script:python() { accepts_dma_fq(fn) };
position p;
@@
struct iommu_ops I@p = { .domain_alloc = fn, };

@script:python depends on report@
I << missing_allow_dma_fq.I;
fn << missing_allow_dma_fq.fn;
p << missing_allow_dma_fq.p;
@@
coccilib.report.print_report(p[0], "%s: %s() takes IOMMU_DOMAIN_DMA_FQ: declare .allow_dma_fq = true" % (I, fn))

@script:python depends on record@
I << add_allow_dma_fq.I;
fn << add_allow_dma_fq.fn;
@@
emit('flag', file=accepted['file'], ops=I, function=fn, flag='allow_dma_fq')

@script:python depends on record@
I << add_use_dma_iommu.I;
fn << add_use_dma_iommu.fn;
@@
emit('flag', file=accepted['file'], ops=I, function=fn, flag='use_dma_iommu')
