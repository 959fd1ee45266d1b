"""Mutation testing: rewrite generated variants of the fixture drivers.

Each variant is one driver in a shape of linux-fixtures (a `!=` chain,
case labels, the nested legacy-binding gate, a DMA label with a body of
its own, no type filter), mutated: layout, order, comments, names,
qualifiers, ops fields, extra code. The generator knows the types it
accepts, hence its flags or apply's refusal. Batches are rewritten with
the tool's own pipeline (prepare, commit), built with the fixture
checker, and every domain_alloc is called with every type, before and
after: every request must end with the same domain type (the proof's
whole-path model). Outcomes: correct, reported (a finding or a refusal
names the file), wrong (another meaning, or no compile), silent skip
(neither rewritten nor reported when it should have been).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from iommu_dma import pipeline
from iommu_dma.errors import ToolError
from iommu_dma.events import Finding
from iommu_dma.tree import KernelTree, copy_files

TOP = Path(__file__).resolve().parents[2]
FIXTURES = TOP / 'linux-fixtures'
DRIVERS = 'drivers/iommu'
# Order of the verdict string the probe program prints.
TYPES = ('BLOCKED', 'IDENTITY', 'UNMANAGED', 'DMA', 'DMA_FQ')
KINDS = ('chain', 'chain', 'chain', 'switch', 'switch', 'legacy',
         'label-body', 'implicit', 'unmanaged-only', 'dma-only')
PARAMS = ('type', 'domain_type', 't', 'iommu_domain_type', 'dtype', 'typ')
COMMENTS = ('/* keep in sync with the core */', '/* DMA API */',
            '/* paging */', '/* see iommu.h */', '/**/')
INDENT = '\t    '     # a condition continued on the next line


@dataclass
class Variant:
    n: int
    kind: str
    file: str
    fn: str
    ops: str
    accepted: frozenset[str]
    expect: str               # rewrite, untouched, report, refused
    probe: str | None = None  # legacy binding setter, clears the flag
    text: str = ''
    mutations: list[str] = field(default_factory=list)

    def before(self) -> str:
        return ''.join('1' if t in self.accepted else '0' for t in TYPES)


# -- generation -----------------------------------------------------------

def accepted_set(rng: random.Random, dma: bool) -> set[str]:
    acc = {'UNMANAGED'}
    if dma:
        acc.add('DMA')
        if rng.random() < 0.5:
            acc.add('DMA_FQ')
    if rng.random() < 0.4:
        acc.add('IDENTITY')
    return acc


def join_chain(rng: random.Random, terms: list[str], muts: list[str]) -> str:
    """terms joined with &&, in one of several layouts, maybe commented."""
    out = terms[0]
    style = rng.choice(('line', 'split', 'random'))
    muts.append(f'layout-{style}')
    for term in terms[1:]:
        comment = ''
        if rng.random() < 0.2:
            comment = ' ' + rng.choice(COMMENTS)
            muts.append('comment-in-condition')
        if style == 'split' or (style == 'random' and rng.random() < 0.5):
            out += f' &&{comment}\n{INDENT}{term}'
        else:
            out += f'{comment} && {term}'
    return out


def gate(rng: random.Random, param: str, acc: set[str], muts: list[str],
         chain: bool = False) -> str:
    """`if (param != each of acc, shuffled) return NULL;`; chain: the order
    recorded, and maybe a term parenthesized."""
    terms = [f'{param} != IOMMU_DOMAIN_{t}' for t in sorted(acc)]
    rng.shuffle(terms)
    if chain:
        muts.append('order-' + '-'.join(t.split('_DOMAIN_')[1]
                                        for t in terms))
        if rng.random() < 0.1:
            i = rng.randrange(len(terms))
            terms[i] = f'({terms[i]})'
            muts.append('parenthesized-term')
    return f'\tif ({join_chain(rng, terms, muts)})\n\t\treturn NULL;\n'


def gen_chain(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    acc = accepted_set(rng, rng.random() < 0.8)
    if rng.random() < 0.15:
        acc.add('BLOCKED')
    return gate(rng, param, acc, muts, chain=True), acc


def gen_switch(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    acc = accepted_set(rng, rng.random() < 0.85)
    group = [t for t in ('DMA', 'DMA_FQ') if t in acc]
    rng.shuffle(group)
    group.append('UNMANAGED')
    if rng.random() < 0.15:
        rng.shuffle(group)
        muts.append('labels-shuffled')
    if rng.random() < 0.3:
        acc.add('BLOCKED')
    others = [f'\tcase IOMMU_DOMAIN_{t}:\n\t\treturn &{p}_identity;\n'
              for t in ('IDENTITY', 'BLOCKED') if t in acc]
    labels = ''
    for t in group:
        if rng.random() < 0.15:
            labels += f'\t{rng.choice(COMMENTS)}\n'
            muts.append('comment-between-labels')
        labels += f'\tcase IOMMU_DOMAIN_{t}:\n'
    paging = labels + f'\t\t{dom}.type = {param};\n\t\treturn &{dom};\n'
    arms = [*others, paging]
    rng.shuffle(arms)
    muts.append(f'{len(arms)}-arms')
    body = (f'\tswitch ({param}) {{\n' + ''.join(arms) +
            '\tdefault:\n\t\treturn NULL;\n\t}\n')
    return body, acc


def gen_legacy(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    outer = [f'{param} != IOMMU_DOMAIN_UNMANAGED',
             f'{param} != IOMMU_DOMAIN_IDENTITY']
    rng.shuffle(outer)
    inner = [f'{param} != IOMMU_DOMAIN_DMA', f'{param} != IOMMU_DOMAIN_DMA_FQ']
    rng.shuffle(inner)
    muts.append('legacy-order-' + str(int(inner[0].endswith('FQ'))))
    cond = join_chain(rng, outer, muts)
    body = (f'\tif ({cond}) {{\n'
            f'\t\tif ({p}_using_legacy_binding ||\n'
            f'\t\t    ({inner[0]} && {inner[1]}))\n'
            f'\t\t\treturn NULL;\n\t}}\n')
    return body, {'UNMANAGED', 'IDENTITY', 'DMA', 'DMA_FQ'}


def gen_label_body(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    body = (f'\tswitch ({param}) {{\n'
            f'\tcase IOMMU_DOMAIN_DMA:\n'
            f'\t\t{p}_dma_domains++;\n'
            f'\t\treturn &{dom};\n'
            f'\tcase IOMMU_DOMAIN_UNMANAGED:\n'
            f'\t\treturn &{dom};\n'
            f'\tdefault:\n\t\treturn NULL;\n\t}}\n')
    return body, {'DMA', 'UNMANAGED'}


def gen_implicit(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    if rng.random() < 0.5:
        muts.append('type-helper')
        body = (f'\tif ({p}_snp && {param} == IOMMU_DOMAIN_IDENTITY)\n'
                f'\t\treturn NULL;\n'
                f'\t{dom}.type = {p}_v2_table({param}) ? 2 : 1;\n')
    else:
        muts.append('no-filter')
        body = f'\t{dom}.type = {param};\n'
    return body, set(TYPES)


def gen_unmanaged_only(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    body, acc = gen_chain(rng, p, param, dom, muts)
    if 'DMA' in acc:
        acc -= {'DMA', 'DMA_FQ'}
        body = gate(rng, param, acc, muts)
    return body, acc


def gen_dma_only(rng, p, param, dom, muts) -> tuple[str, set[str]]:
    """DMA but never UNMANAGED: the new core has nothing to ask it for, so
    apply must refuse, naming it."""
    acc = {'DMA'} | {t for t in ('IDENTITY', 'DMA_FQ') if rng.random() < 0.5}
    return gate(rng, param, acc, muts), acc


GENERATORS = {'chain': gen_chain, 'switch': gen_switch,
              'legacy': gen_legacy, 'label-body': gen_label_body,
              'implicit': gen_implicit, 'unmanaged-only': gen_unmanaged_only,
              'dma-only': gen_dma_only}


def ops_initializer(rng: random.Random, p: str, ops: str, fn: str,
                    legacy: bool, muts: list[str]) -> str:
    fields = [('domain_alloc', fn), ('pgsize_bitmap', '0x1000')]
    if rng.random() < 0.4:
        fields.append(('capable', f'{p}_capable'))
    if rng.random() < 0.3:
        fields.append(('def_domain_type', f'{p}_def_domain_type'))
    if rng.random() < 0.3:
        fields.append(('owner', 'NULL'))
    if rng.random() < 0.3:
        fields.append(('default_domain_ops',
                       '&(const struct iommu_domain_ops) {\n'
                       f'\t\t.free = {p}_domain_free,\n\t}}'))
    rng.shuffle(fields)
    muts.append('fields-' + '-'.join(f[0] for f in fields))
    tabs = rng.random() < 0.5
    quals = 'static ' if legacy else rng.choice(('static const ', 'const ',
                                                 'static ', ''))
    muts.append(f'qualifiers-{quals.strip() or "none"}')
    lines = []
    for name, value in fields:
        pad = '\t' * (3 - (len(name) + 2) // 8) if tabs else ' '
        lines.append(f'\t.{name}{pad}= {value},')
        if rng.random() < 0.1:
            lines.append(f'\t{rng.choice(COMMENTS)}')
            muts.append('comment-in-ops')
    return f'{quals}struct iommu_ops {ops} = {{\n' + '\n'.join(lines) + \
        '\n};\n'


def generate(n: int, seed: int) -> Variant:
    rng = random.Random(f'{seed}:{n}')
    kind = rng.choice(KINDS)
    muts: list[str] = []
    p = f'fz{n}'
    param = rng.choice(PARAMS)
    fn = rng.choice((f'{p}_domain_alloc', f'{p}_alloc_domain',
                     f'{p}_iommu_domain_alloc'))
    ops = rng.choice((f'{p}_ops', f'{p}_iommu_ops', f'ops_{p}'))
    dom = f'{p}_domain'
    if param != 'type':
        muts.append(f'param-{param}')
    body, acc = GENERATORS[kind](rng, p, param, dom, muts)
    legacy = kind == 'legacy'
    pre = ''
    if rng.random() < 0.3:
        pre = f'\t{p}_calls++;\n'
        muts.append('statement-before-gate')
    tail = f'\treturn &{dom};\n' if kind not in ('switch', 'label-body') \
        else ''
    out = [f'// SPDX-License-Identifier: GPL-2.0\n'
           f'/* fuzz variant {n} of a {kind} driver: {", ".join(muts)} */\n'
           f'#include <linux/iommu.h>\n\n'
           f'static struct iommu_domain {dom}, {p}_identity;\n'
           f'static int {p}_calls, {p}_dma_domains;\n'
           f'static bool {p}_snp, {p}_using_legacy_binding;\n\n']
    extra = rng.random() < 0.4
    if extra:
        muts.append('extra-code')
        out.append(f'static int {p}_attach_dev(struct iommu_domain *d)\n'
                   f'{{\n\tif (d->type == IOMMU_DOMAIN_DMA)\n'
                   f'\t\treturn 1;\n\treturn d->type == '
                   f'IOMMU_DOMAIN_UNMANAGED;\n}}\n\n')
    out.append(f'static bool {p}_v2_table(unsigned int {param})\n{{\n'
               f'\treturn {param} != IOMMU_DOMAIN_UNMANAGED;\n}}\n\n'
               f'static bool {p}_capable(struct device *dev, int cap)\n'
               f'{{\n\treturn dev && cap;\n}}\n\n'
               f'static int {p}_def_domain_type(struct device *dev)\n'
               f'{{\n\treturn dev ? IOMMU_DOMAIN_DMA : 0;\n}}\n\n'
               f'static void {p}_domain_free(struct iommu_domain *d)\n'
               f'{{\n\td->type = 0;\n}}\n\n')
    utype = rng.choice(('unsigned', 'unsigned int'))
    out.append(f'static struct iommu_domain *{fn}({utype} {param})\n{{\n'
               f'{pre}{body}{tail}}}\n\n')
    out.append(ops_initializer(rng, p, ops, fn, legacy, muts))
    probe = None
    if legacy:
        probe = f'{p}_dt_probe'
        out.append(f'\nint {probe}(bool legacy)\n{{\n'
                   f'\tif (legacy) {{\n'
                   f'\t\t{p}_using_legacy_binding = true;\n'
                   f'\t\treturn 1;\n\t}}\n\treturn 0;\n}}\n')
    uses = [f'{p}_calls', f'{p}_dma_domains', f'{p}_snp',
            f'{p}_using_legacy_binding', f'{p}_identity.type',
            f'{p}_v2_table(0)', f'{p}_capable(NULL, 0)',
            f'{p}_def_domain_type(NULL)',
            f'({p}_domain_free(&{dom}), 0)']
    if extra:
        uses.append(f'{p}_attach_dev(&{dom})')
    out.append(f'\nconst struct iommu_ops *{p}_get_ops(void)\n{{\n'
               f'\treturn ({" + ".join(uses)}) ? &{ops} : NULL;\n}}\n')
    expect = {'label-body': 'report', 'implicit': 'report',
              'dma-only': 'refused'}.get(kind) or \
        ('rewrite' if 'DMA' in acc else 'untouched')
    return Variant(n, kind, f'{DRIVERS}/fz{n:05d}-{kind}.c', fn, ops,
                   frozenset(acc), expect, probe, ''.join(out), muts)


# -- checking -------------------------------------------------------------

PROBE_MAIN = r'''
int printf(const char *fmt, ...);
int main(void)
{
	static const unsigned int types[] = {
		IOMMU_DOMAIN_BLOCKED, IOMMU_DOMAIN_IDENTITY,
		IOMMU_DOMAIN_UNMANAGED, IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ,
	};
	unsigned int i;

	for (i = 0; i < 5; i++)
		printf("%d", FN(types[i]) != NULL);
#ifdef FLAGS
	printf(" %d %d", (int)OPS.use_dma_iommu, (int)OPS.allow_dma_fq);
#ifdef PROBE
	PROBE(true);
	printf(" %d", (int)OPS.use_dma_iommu);
#endif
#endif
	printf("\n");
	return 0;
}
'''


def probe(v: Variant, source: str, include: Path, work: Path,
          flags: bool) -> str:
    """Compile source with a main() that calls v's domain_alloc."""
    work.mkdir(parents=True, exist_ok=True)
    main = work / f'probe{v.n}.c'
    main.write_text(f'{source}\n{PROBE_MAIN}')
    exe = work / f'probe{v.n}'
    cmd = ['gcc', '-w', '-O0', '-I', str(include), f'-DFN={v.fn}',
           f'-DOPS={v.ops}', '-o', str(exe), str(main)]
    if flags:
        cmd += ['-DFLAGS'] + ([f'-DPROBE={v.probe}'] if v.probe else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return 'no-compile: ' + res.stderr.strip().splitlines()[0]
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    exe.unlink()
    main.unlink()
    return out.stdout.strip()


def make_tree(root: Path, variants: list[Variant]) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    copy_files(FIXTURES, root, ['Makefile', f'{DRIVERS}/iommu.c'])
    shutil.copytree(FIXTURES / 'include', root / 'include')
    for v in variants:
        (root / v.file).write_text(v.text)
    return root


def apply_tree(root: Path, jobs: int) -> tuple[list[Finding], str | None]:
    """Rewrite root like `iommu-dma apply` (the same pipeline, proofs and
    refusals); findings, or the refusal."""
    try:
        with pipeline.prepared(KernelTree.open(root), 'all', jobs,
                               refuse=True) as done:
            pipeline.commit(done, force=False)
            return done.rewrite.record.findings, None
    except ToolError as e:
        return [], str(e)


def compile_check(checker: Path, out: Path, root: Path) -> dict[str, str]:
    """File -> status from the fixture build checker."""
    if not (root / '.iommu-dma' / 'manifest').exists():
        return {}
    res = subprocess.run([str(checker), '-O', str(out), '--json',
                          str(root)], capture_output=True, text=True)
    try:
        report = json.loads(res.stdout)
    except json.JSONDecodeError:
        raise ToolError(f'{checker}: no report for {root}: '
                        f'{res.stderr.strip()[-200:]}') from None
    return {r['file']: r['status'] for r in report['results']} | \
        {r['file']: 'unchecked' for r in report.get('not_checked', [])}


@dataclass
class Outcome:
    variant: Variant
    result: str        # correct, reported, wrong, silent-skip
    why: str


def domain_paths(accepts: set[str], use_dma: bool, allow_fq: bool,
                 rewritten_core: bool) -> dict[str, str | None]:
    """Per request, the domain type the device ends up with: the same
    model as the proof (proof_template.c), on the 6.1 core shape."""
    def alloc(t: str) -> bool:
        if not rewritten_core or t not in ('DMA', 'DMA_FQ'):
            return t in accepts
        return use_dma and (t != 'DMA_FQ' or allow_fq) and \
            'UNMANAGED' in accepts

    return {t: t if alloc(t) else 'DMA' if t in ('IDENTITY', 'DMA_FQ')
            and alloc('DMA') else None for t in TYPES}


def path_difference(v: Variant, probe_line: str) -> str | None:
    """The first request whose domain differs, as the proof words it."""
    fields = probe_line.split()
    accepts = {t for t, bit in zip(TYPES, fields[0]) if bit == '1'}
    use_dma, allow_fq = fields[1] == '1', fields[2] == '1'
    if v.probe and len(fields) > 3 and fields[3] != '0':
        return 'use_dma_iommu not cleared with the legacy binding'
    before = domain_paths(set(v.accepted), False, False, False)
    after = domain_paths(accepts, use_dma, allow_fq, True)
    for t in ('DMA', 'DMA_FQ', 'IDENTITY', 'UNMANAGED', 'BLOCKED'):
        if before[t] != after[t]:
            return (f'request {t}: gets {before[t] or "no domain"} before, '
                    f'{after[t] or "no domain"} after')
    return None


def judge(v: Variant, root: Path, findings: list[Finding], refusal: str | None,
          built: dict[str, str], work: Path) -> Outcome:
    """Correct means every request still ends with the same domain type
    (the whole-path model), whether or not the comparisons were dropped."""
    if refusal is not None and v.file in refusal:
        return Outcome(v, 'reported', refusal)
    changed = (root / v.file).read_bytes() != v.text.encode()
    mine = [f for f in findings if f.file == v.file]
    if changed:
        if built.get(v.file) != 'ok':
            return Outcome(v, 'wrong', f'compile check: {built.get(v.file)}')
        got = probe(v, (root / v.file).read_text(), root / 'include', work,
                    True)
    else:
        got = v.before() + ' 0 0' + (' 0' if v.probe else '')
    differs = path_difference(v, got)
    if differs:
        if not changed and not mine:
            return Outcome(v, 'silent-skip', f'unchanged: {differs}')
        return Outcome(v, 'wrong', f'probe {got!r}: {differs}')
    if mine:
        return Outcome(v, 'reported', mine[0].message)
    return Outcome(v, 'correct', 'rewritten, same meaning' if changed
                   else 'left alone')


def check_generator(v: Variant, work: Path) -> None:
    """The generator's claim about a variant, against the variant itself."""
    got = probe(v, v.text, FIXTURES / 'include', work, False)
    if got != v.before():
        raise ToolError(f'fuzz generator: variant {v.n} ({v.kind}) accepts '
                        f'{got!r}, the generator says {v.before()!r}')


def run_batch(variants: list[Variant], root: Path, checker: Path,
              out: Path, jobs: int) -> list[Outcome]:
    """Rewrite variants in one tree; a refusal is attributed and the
    rest of the batch run again without the variants it names."""
    refused: list[Outcome] = []
    while True:
        make_tree(root, variants)
        findings, refusal = apply_tree(root, jobs)
        if refusal is None or len(variants) == 1:
            break
        named = [v for v in variants if v.file in refusal]
        if not named:
            # Not attributable to one file: each variant on its own.
            results = []
            for v in variants:
                results += run_batch([v], root.with_name(
                    f'{root.name}-{v.n}'), checker, out, jobs)
            return refused + results
        refused += [judge(v, root, [], refusal, {}, root) for v in named]
        variants = [v for v in variants if v not in named]
        if not variants:
            return refused
    built = compile_check(checker, out, root)
    return refused + [judge(v, root, findings, refusal, built,
                            root / '.probe') for v in variants]


def fuzz(count: int, seed: int, batch: int, work: Path, checker: Path,
         jobs: int, log=print) -> list[Outcome]:
    start = time.time()
    variants = [generate(n, seed) for n in range(count)]
    gen_work = work / 'generator'
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        list(pool.map(lambda v: check_generator(v, gen_work), variants))
    outcomes: list[Outcome] = []
    for i in range(0, count, batch):
        chunk = variants[i:i + batch]
        outcomes += run_batch(chunk, work / f'batch{i // batch:03d}',
                              checker, work / 'out', jobs)
        log(f'fuzz: {len(outcomes)}/{count} variants '
            f'({time.time() - start:.0f} s)', file=sys.stderr)
    return outcomes


def summarize(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    counts = Counter(o.result for o in outcomes)
    by_kind = Counter((o.variant.kind, o.result) for o in outcomes)
    lines = [f'fuzz: seed {seed}: {len(outcomes)} variants tried, '
             f'{counts["correct"]} correct, {counts["reported"]} reported, '
             f'{counts["wrong"]} wrong, {counts["silent-skip"]} silent '
             f'skips ({seconds:.0f} s)']
    for kind in sorted({k for k, _ in by_kind}):
        lines.append(f'  {kind}: ' + ', '.join(
            f'{n} {r}' for (k, r), n in sorted(by_kind.items()) if k == kind))
    for o in outcomes:
        if o.result in ('wrong', 'silent-skip'):
            lines.append(f'  {o.result.upper()}: variant {o.variant.n} '
                         f'({o.variant.kind}, {", ".join(o.variant.mutations)}'
                         f'): {o.why}')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='iommu-dma-fuzz',
                                description=__doc__.splitlines()[0])
    p.add_argument('-n', type=int, default=50, help='variants (default 50)')
    p.add_argument('--seed', type=int, default=1, help='seed (default 1)')
    p.add_argument('--batch', type=int, default=50,
                   help='variants per tree (default 50)')
    p.add_argument('-O', '--output', default=str(TOP / 'build'),
                   help='output root (default build/)')
    p.add_argument('-j', '--jobs', type=int, default=2)
    p.add_argument('--keep', action='store_true',
                   help='keep the variant trees in <output>/fuzz')
    args = p.parse_args(argv)
    out = Path(args.output)
    checker = out / 'checker' / 'kbuild-check'
    work = out / 'fuzz' if args.keep else \
        Path(tempfile.mkdtemp(prefix='iommu-dma-fuzz-'))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
    start = time.time()
    try:
        if not checker.exists():
            raise ToolError(f'{checker}: run `make checker`')
        outcomes = fuzz(args.n, args.seed, args.batch, work, checker,
                        args.jobs)
    except ToolError as e:
        print(f'iommu-dma-fuzz: error: {e}', file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(summarize(outcomes, args.seed, time.time() - start))
    return int(any(o.result in ('wrong', 'silent-skip') for o in outcomes))


if __name__ == '__main__':
    sys.exit(main())
