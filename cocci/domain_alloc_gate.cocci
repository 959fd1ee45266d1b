// SPDX-License-Identifier: GPL-2.0-only
/// Report the statements of every .domain_alloc function and of the
/// functions that test a domain type they are handed.
///
/// The type gate of a domain_alloc is what decides, by its type parameter,
/// whether a domain is allocated. The tool's proof (tools/iommu_dma/
/// proof.py) evaluates the gate before and after the rewrite as C; it
/// reads the gate only from what this rule reports, never from the file:
/// each statement with its extent (nesting follows from the extents), each
/// if condition as spatch parsed it and the names it reads, each rejecting
/// return, each case label, each comparison of a type parameter with
/// UNMANAGED or a DMA type, and each call handing the type on. A shape
/// spatch cannot match is not reported, and the proof says so instead of
/// guessing. Changes nothing.
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

# The functions whose facts are reported: the .domain_alloc functions and
# those they hand the type to, two calls deep. Every rule below matches in
# one of them at a time (fns.g): spatch tries no other function.
# By file: the Python state outlives a file.
relevant = set()    # (file, function)

def wanted(p):
	return (p[0].file, p[0].current_element) in relevant

def fact(name, q, **fields):
	"""One fact at position q, of the definition q is in."""
	emit('gate-fact', fact=name, file=q.file, function=q.current_element,
	     definition=int(q.current_element_line), line=int(q.line),
	     col=int(q.column), **fields)

@gate_ops@
identifier I, fn;
position pos;
@@
struct iommu_ops I@pos = { .domain_alloc = fn, };

@script:python@
fn << gate_ops.fn;
pos << gate_ops.pos;
@@
relevant.add((pos[0].file, fn))

// The type handed on as the n-th argument of a call, and on again.
@hands depends on record@
identifier gate_ops.fn, u, h;
type T;
expression list[n] Es;
position p;
@@
fn(..., T u, ...) {
<...
h@p(Es, u, ...)
...>
}

@script:python@
h << hands.h;
u << hands.u;
n << hands.n;
p << hands.p;
@@
for q in p:
	fact('pass', q, text=h, param=u, index=int(n))
	relevant.add((q.file, h))

@hands_on depends on record@
identifier hands.h, u, h2;
type T;
expression list[n] Es;
position p;
@@
h(..., T u, ...) {
<...
h2@p(Es, u, ...)
...>
}

@script:python@
h2 << hands_on.h2;
u << hands_on.u;
n << hands_on.n;
p << hands_on.p;
@@
for q in p:
	fact('pass', q, text=h2, param=u, index=int(n))
	relevant.add((q.file, h2))

@fns depends on record@
identifier g;
position pf : script:python() { wanted(pf) };
@@
g@pf(...) { ... }

@param depends on record@
identifier fns.g, u;
type T;
parameter list[n] Ps;
position pf;
@@
g@pf(Ps, T u, ...) { ... }

@script:python@
u << param.u;
n << param.n;
pf << param.pf;
@@
fact('param', pf[0], text=u, index=int(n))

@stmt depends on record@
identifier fns.g;
statement S;
position p;
@@
g(...) {
<...
S@p
...>
}

@script:python@
S << stmt.S;
p << stmt.p;
@@
for q in p:
	fact('stmt', q, end_line=int(q.line_end), end_col=int(q.column_end),
	     text=S.split()[0])

@cond depends on record disable neg_if@
identifier fns.g;
expression E;
statement S, S1, S2;
position p;
@@
g(...) {
<...
(
  if@p (E) S1 else S2
|
  if@p (E) S
)
...>
}

@script:python@
E << cond.E;
p << cond.p;
@@
for q in p:
	fact('cond', q, text=E)

@reads depends on record disable neg_if@
identifier fns.g, u;
type T;
statement S, S1, S2;
position p;
@@
g(..., T u, ...) {
<...
(
  if@p (<+... u ...+>) S1 else S2
|
  if@p (<+... u ...+>) S
)
...>
}

@script:python@
u << reads.u;
p << reads.p;
@@
for q in p:
	fact('reads', q, text=u)

@named depends on record disable neg_if@
identifier fns.g;
idexpression x;
statement S, S1, S2;
position px;
@@
g(...) {
<...
(
  if (<+... x@px ...+>) S1 else S2
|
  if (<+... x@px ...+>) S
)
...>
}

@script:python@
x << named.x;
px << named.px;
@@
for q in px:
	fact('name', q, text=x)

@call depends on record disable neg_if@
identifier fns.g, f;
statement S, S1, S2;
position pc, pe;
@@
g(...) {
<...
(
  if (<+... f@pc(...)@pe ...+>) S1 else S2
|
  if (<+... f@pc(...)@pe ...+>) S
)
...>
}

@script:python@
f << call.f;
pc << call.pc;
pe << call.pe;
@@
for q, e in zip(pc, pe):
	fact('call', q, text=f, end_line=int(e.line_end),
	     end_col=int(e.column_end))

@member depends on record disable neg_if@
identifier fns.g, fld;
expression E1;
statement S, S1, S2;
position pm;
@@
g(...) {
<...
(
  if (<+... \(E1->fld@pm \| E1.fld@pm\) ...+>) S1 else S2
|
  if (<+... \(E1->fld@pm \| E1.fld@pm\) ...+>) S
)
...>
}

@script:python@
pm << member.pm;
@@
for q in pm:
	fact('member', q)

@reject depends on record@
identifier fns.g;
position p;
@@
g(...) {
<...
(
  return@p NULL;
|
  return@p ERR_PTR(...);
)
...>
}

@script:python@
p << reject.p;
@@
for q in p:
	fact('reject', q)

@label depends on record@
identifier fns.g;
expression E;
constant C;
statement S;
position p, ps;
@@
g(...) {
<...
switch@ps (E) { case@p C: S }
...>
}

@script:python@
C << label.C;
E << label.E;
p << label.p;
ps << label.ps;
@@
for q in p:
	fact('label', q, text=C)
for q in ps:
	fact('switch', q, text=E)

@default_label depends on record@
identifier fns.g;
expression E;
statement S;
position p;
@@
g(...) {
<...
switch (E) { default@p: S }
...>
}

@script:python@
p << default_label.p;
@@
for q in p:
	fact('label', q, text='default')

// A local set from the type: a gate that reads it reads the type, which
// neither the rules nor the proof follow.
@assigned depends on record@
identifier fns.g, u, x;
type T, T2;
position p;
@@
g(..., T u, ...) {
<...
(
  x@p = <+... u ...+>;
|
  T2 x@p = <+... u ...+>;
)
...>
}

@script:python@
x << assigned.x;
u << assigned.u;
p << assigned.p;
@@
for q in p:
	fact('local', q, text=x, param=u)

// A comparison that tells UNMANAGED from a DMA type: code that takes
// another branch once the driver is handed UNMANAGED for DMA domains.
@use depends on record@
identifier fns.g, u;
type T;
constant C =~ "^(IOMMU_DOMAIN_(UNMANAGED|DMA|DMA_FQ)|__IOMMU_DOMAIN_DMA_API)$";
position p;
@@
g(..., T u, ...) {
<...
(
  u@p == C
|
  u@p != C
|
  C == u@p
|
  C != u@p
|
  u@p & C
|
  C & u@p
)
...>
}

@script:python@
u << use.u;
C << use.C;
p << use.p;
@@
for q in p:
	fact('use', q, text=C, param=u)

// The kernel's modes: the if statements that read the type parameter of a
// .domain_alloc, its gate candidates.
@gate_if depends on !record@
identifier gate_ops.fn, t;
type T;
statement S;
position p;
@@
fn(T t) {
<+...
if@p (<+... t ...+>) S
...+>
}

@script:python depends on report@
fn << gate_ops.fn;
p << gate_if.p;
@@
coccilib.report.print_report(p[0], "%s(): type gate statement" % fn)

@script:python depends on org@
fn << gate_ops.fn;
p << gate_if.p;
@@
coccilib.org.print_todo(p[0], "%s(): type gate statement" % fn)

@depends on context@
identifier gate_ops.fn, t;
type T;
statement S;
@@
fn(T t) {
<+...
* if (<+... t ...+>) S
...+>
}

// A report-only rule: in patch mode there is nothing to change.
@script:python depends on patch@
fn << gate_ops.fn;
@@
pass
