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

def at(p, **fields):
	return dict(line=int(p.line), col=int(p.column), **fields)

# The functions whose facts are reported: the .domain_alloc functions, the
# functions that compare a parameter with a domain type, and those they
# hand the type to. Matching every function of a large driver is slow.
relevant = set()

def wanted(fn):
	return fn in relevant

def fact(name, fn, pf, p, **fields):
	"""One fact of the definition of fn at pf."""
	print('IOMMU-DMA ' + json.dumps(dict(
		event='gate-fact', fact=name, file=p.file, function=fn,
		definition=int(pf[0].line), **at(p, **fields))))

@ops@
identifier I, fn;
@@
struct iommu_ops I = { .domain_alloc = fn, };

@script:python@
fn << ops.fn;
@@
relevant.add(fn)

// Functions whose parameter is compared with a domain type or switched on.
@typed@
identifier g, u;
type T;
constant C =~ "^(__)?IOMMU_DOMAIN_";
@@
g(..., T u, ...) {
<+...
(
  u == C
|
  u != C
|
  u & C
)
...+>
}

@script:python@
g << typed.g;
@@
relevant.add(g)

// The type handed on as the n-th argument of a call.
@hands depends on record@
identifier g : script:python() { wanted(g) };
identifier u, h;
type T;
expression list[n] Es;
position pf, p;
@@
g@pf(..., T u, ...) {
<+...
h@p(Es, u, ...)
...+>
}

@script:python depends on record@
g << hands.g;
u << hands.u;
h << hands.h;
n << hands.n;
pf << hands.pf;
p << hands.p;
@@
for q in p:
	fact('pass', g, pf, q, text=h, param=u, index=int(n))
relevant.add(h)

// ... and on again, by the function it was handed to.
@hands_on depends on record@
identifier hands.h, u, h2;
type T;
expression list[n] Es;
position pf, p;
@@
h@pf(..., T u, ...) {
<+...
h2@p(Es, u, ...)
...+>
}

@script:python depends on record@
g << hands.h;
u << hands_on.u;
h << hands_on.h2;
n << hands_on.n;
pf << hands_on.pf;
p << hands_on.p;
@@
for q in p:
	fact('pass', g, pf, q, text=h, param=u, index=int(n))
relevant.add(h)

@param depends on record@
identifier u;
identifier h : script:python() { wanted(h) };
type T;
parameter list[n] Ps;
position pf;
@@
h@pf(Ps, T u, ...) { ... }

@script:python depends on record@
h << param.h;
u << param.u;
n << param.n;
pf << param.pf;
@@
fact('param', h, pf, pf[0], text=u, index=int(n))

@stmt depends on record@
identifier g : script:python() { wanted(g) };
statement S;
position pf, p;
@@
g@pf(...) {
<+...
S@p
...+>
}

@script:python depends on record@
g << stmt.g;
S << stmt.S;
pf << stmt.pf;
p << stmt.p;
@@
for q in p:
	fact('stmt', g, pf, q, end_line=int(q.line_end),
	     end_col=int(q.column_end), text=S.split()[0])

@cond depends on record disable neg_if@
identifier g : script:python() { wanted(g) };
expression E;
statement S, S1, S2;
position pf, p;
@@
g@pf(...) {
<+...
(
  if@p (E) S1 else S2
|
  if@p (E) S
)
...+>
}

@script:python depends on record@
g << cond.g;
E << cond.E;
pf << cond.pf;
p << cond.p;
@@
for q in p:
	fact('cond', g, pf, q, text=E)

@reads depends on record disable neg_if@
identifier g : script:python() { wanted(g) };
identifier u;
type T;
statement S, S1, S2;
position pf, p;
@@
g@pf(..., T u, ...) {
<+...
(
  if@p (<+... u ...+>) S1 else S2
|
  if@p (<+... u ...+>) S
)
...+>
}

@script:python depends on record@
g << reads.g;
u << reads.u;
pf << reads.pf;
p << reads.p;
@@
for q in p:
	fact('reads', g, pf, q, text=u)

@named depends on record disable neg_if@
identifier g : script:python() { wanted(g) };
idexpression x;
statement S, S1, S2;
position pf, p, px;
@@
g@pf(...) {
<+...
(
  if@p (<+... x@px ...+>) S1 else S2
|
  if@p (<+... x@px ...+>) S
)
...+>
}

@script:python depends on record@
g << named.g;
x << named.x;
pf << named.pf;
p << named.p;
px << named.px;
@@
for q in px:
	fact('name', g, pf, q, text=x)

@call depends on record disable neg_if@
identifier g : script:python() { wanted(g) };
identifier f;
statement S, S1, S2;
position pf, p, pc, pe;
@@
g@pf(...) {
<+...
(
  if@p (<+... f@pc(...)@pe ...+>) S1 else S2
|
  if@p (<+... f@pc(...)@pe ...+>) S
)
...+>
}

@script:python depends on record@
g << call.g;
f << call.f;
pf << call.pf;
pc << call.pc;
pe << call.pe;
@@
for q, e in zip(pc, pe):
	fact('call', g, pf, q, text=f, end_line=int(e.line_end),
	     end_col=int(e.column_end))

@member depends on record disable neg_if@
identifier g : script:python() { wanted(g) };
identifier fld;
expression E1;
statement S, S1, S2;
position pf, p, pm;
@@
g@pf(...) {
<+...
(
  if@p (<+... \(E1->fld@pm \| E1.fld@pm\) ...+>) S1 else S2
|
  if@p (<+... \(E1->fld@pm \| E1.fld@pm\) ...+>) S
)
...+>
}

@script:python depends on record@
g << member.g;
pf << member.pf;
pm << member.pm;
@@
for q in pm:
	fact('member', g, pf, q)

@reject depends on record@
identifier g : script:python() { wanted(g) };
position pf, p;
@@
g@pf(...) {
<+...
(
  return@p NULL;
|
  return@p ERR_PTR(...);
)
...+>
}

@script:python depends on record@
g << reject.g;
pf << reject.pf;
p << reject.p;
@@
for q in p:
	fact('reject', g, pf, q)

@label depends on record@
identifier g : script:python() { wanted(g) };
expression E;
constant C;
statement S;
position pf, p, ps;
@@
g@pf(...) {
<+...
switch@ps (E) { case@p C: S }
...+>
}

@script:python depends on record@
g << label.g;
C << label.C;
E << label.E;
pf << label.pf;
p << label.p;
ps << label.ps;
@@
for q in p:
	fact('label', g, pf, q, text=C)
for q in ps:
	fact('switch', g, pf, q, text=E)

@default_label depends on record@
identifier g : script:python() { wanted(g) };
statement S;
position pf, p;
@@
g@pf(...) {
<+...
switch (...) { default@p: S }
...+>
}

@script:python depends on record@
g << default_label.g;
pf << default_label.pf;
p << default_label.p;
@@
for q in p:
	fact('label', g, pf, q, text='default')

// A local set from the type: a gate that reads it reads the type, which
// neither the rules nor the proof follow.
@assigned depends on record@
identifier g : script:python() { wanted(g) };
identifier u, x;
type T, T2;
position pf, p;
@@
g@pf(..., T u, ...) {
<+...
(
  x@p = <+... u ...+>;
|
  T2 x@p = <+... u ...+>;
)
...+>
}

@script:python depends on record@
g << assigned.g;
u << assigned.u;
x << assigned.x;
pf << assigned.pf;
p << assigned.p;
@@
for q in p:
	fact('local', g, pf, q, text=x, param=u)

// A comparison that tells UNMANAGED from a DMA type: code that takes
// another branch once the driver is handed UNMANAGED for DMA domains.
@use depends on record@
identifier g, u;
type T;
constant C =~ "^(IOMMU_DOMAIN_(UNMANAGED|DMA|DMA_FQ)|__IOMMU_DOMAIN_DMA_API)$";
position pf, p;
@@
g@pf(..., T u, ...) {
<+...
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
...+>
}

@script:python depends on record@
g << use.g;
u << use.u;
C << use.C;
pf << use.pf;
p << use.p;
@@
for q in p:
	fact('use', g, pf, q, text=C, param=u)

// The kernel's modes: the if statements that read the type parameter of a
// .domain_alloc, its gate candidates.
@gate_if depends on !record@
identifier ops.fn, t;
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
fn << ops.fn;
p << gate_if.p;
@@
coccilib.report.print_report(p[0], "%s(): type gate statement" % fn)

@script:python depends on org@
fn << ops.fn;
p << gate_if.p;
@@
coccilib.org.print_todo(p[0], "%s(): type gate statement" % fn)

@depends on context@
identifier ops.fn, t;
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
fn << ops.fn;
@@
pass
