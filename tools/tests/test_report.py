"""The type-acceptance report and the C proofs of rewritten gates.

Fixtures, Debian's 6.1 and 6.12: the report against expected/<series>.report
and the findings that must be there; proof programs on hand-made gates; and
a copy of cocci/ with one rule made wrong on purpose, whose rewrite must
yield a counterexample and a refused apply.
"""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from toolrun import EXPECTED, FIXTURES, TOP, fixture_copy, gate_of, \
    linux_tree, tool, tree_digest

sys.path.insert(0, str(TOP / 'tools'))

from iommu_dma import proof, report  # noqa: E402
from iommu_dma.events import Finding  # noqa: E402
from iommu_dma.rewrite import compute, discard  # noqa: E402
from iommu_dma.tree import KernelTree  # noqa: E402

TYPES = proof.domain_types((FIXTURES / 'include/linux/iommu.h').read_text())


gate = gate_of


def rows_by_ops(data: dict) -> dict[tuple[str, str], dict]:
    return {(r['file'].split('/')[-1], r['ops']): r for r in data['rows']}


def kinds(row: dict) -> set[str]:
    return {f['kind'] + (' ' + f['helper'] if f.get('helper') else '')
            for f in row['findings']}


# --- proof programs on hand-made gates --------------------------------

CHAIN = ('if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)\n'
         '\treturn NULL;\nreturn &d;')


def test_chain_rewrite_proved():
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, gate(CHAIN), after,
                        proof.Check(True, False, True), 'chain')
    assert ev.verdict == 'proved'
    assert proof.accepted(ev.before, ev.variables, TYPES) == \
        ['UNMANAGED', 'DMA']
    assert proof.accepted(ev.after, ev.variables, TYPES) == ['UNMANAGED']


def test_wrong_conjunct_dropped_is_a_counterexample():
    after = gate('if (type != IOMMU_DOMAIN_DMA)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, gate(CHAIN), after,
                        proof.Check(True, False, True), 'chain')
    assert ev.verdict == 'counterexample: request DMA: gets DMA before, ' \
        'no domain after'


def test_missing_flag_is_a_counterexample():
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, gate(CHAIN), after,
                        proof.Check(False, False, True), 'chain')
    assert ev.verdict == 'counterexample: request DMA: gets DMA before, ' \
        'no domain after'


LEGACY = ('if (type != IOMMU_DOMAIN_UNMANAGED && '
          'type != IOMMU_DOMAIN_IDENTITY) {\n'
          '\tif (using_legacy_binding ||\n'
          '\t    (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_DMA_FQ))\n'
          '\t\treturn NULL;\n}')
LEGACY_AFTER = ('if (type != IOMMU_DOMAIN_UNMANAGED && '
                'type != IOMMU_DOMAIN_IDENTITY)\n\treturn NULL;')


def test_legacy_gate_needs_the_runtime_clear():
    before, after = gate(LEGACY), gate(LEGACY_AFTER)
    assert before.variables == ['using_legacy_binding']
    ev = proof.evaluate(TYPES, before, after,
                        proof.Check(True, True, True, 'using_legacy_binding'),
                        'legacy')
    assert ev.proved
    assert proof.accepted(ev.before, ev.variables, TYPES) == [
        'IDENTITY', 'UNMANAGED', 'DMA[using_legacy_binding=0]',
        'DMA_FQ[using_legacy_binding=0]']
    ev = proof.evaluate(TYPES, before, after,
                        proof.Check(True, True, True, None), 'legacy')
    assert ev.verdict == 'counterexample: request DMA ' \
        'using_legacy_binding=1: gets no domain before, DMA after'


def test_switch_label_with_own_body_differs_from_fall_through():
    before = gate('switch (type) {\ncase IOMMU_DOMAIN_DMA:\n\tn++;\n'
                  '\treturn &d;\ncase IOMMU_DOMAIN_UNMANAGED:\n\treturn &d;\n'
                  'default:\n\treturn NULL;\n}')
    after = gate('switch (type) {\ncase IOMMU_DOMAIN_UNMANAGED:\n'
                 '\treturn &d;\ndefault:\n\treturn NULL;\n}')
    assert before.shape == 'switch'
    ev = proof.evaluate(TYPES, before, after,
                        proof.Check(True, False, True), 'switch')
    assert ev.proved
    assert proof.accepted(ev.before, ev.variables, TYPES) == \
        ['UNMANAGED', 'DMA']


def test_fq_flag_on_a_core_without_fq_is_refused():
    before = gate('if (type != IOMMU_DOMAIN_UNMANAGED && '
                  'type != IOMMU_DOMAIN_DMA_FQ)\n\treturn NULL;')
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ok = proof.evaluate(TYPES, before, after,
                        proof.Check(False, False, False), 'fq')
    assert ok.proved
    bad = proof.evaluate(TYPES, before, after,
                         proof.Check(False, True, False), 'fq')
    assert bad.verdict.endswith('allow_dma_fq on a core without flush '
                                'queues in drivers')


def test_batched_programs_give_each_its_own_outcome(monkeypatch):
    """proof.outcomes builds the programs as one (batch()); each gets
    exactly what its own build and run gives, also a counterexample's
    status, and a batch with a program that is not C falls back to one
    build each."""
    monkeypatch.delenv('IOMMU_DMA_CACHE', raising=False)
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    texts = [proof.program(TYPES, gate(CHAIN), after, check, 'batch')[0]
             for check in (proof.Check(True, False, True),
                           proof.Check(False, False, True), None)]
    texts.append(proof.program(TYPES, gate(LEGACY), gate(LEGACY_AFTER),
                               proof.Check(True, True, True,
                                           'using_legacy_binding'),
                               'legacy')[0])
    alone = {t: proof.build_and_run(t) for t in texts}
    assert [alone[t]['status'] for t in texts] == [0, 1, 0, 0]
    built = []
    real = proof.build_and_run

    def counting(text):
        built.append(text)
        return real(text)
    monkeypatch.setattr(proof, 'build_and_run', counting)
    assert proof.outcomes(texts, 1) == alone
    assert len(built) == 1 and built[0] == proof.batch(texts)
    assert proof.outcomes(texts, 2) == alone
    assert len(built) == 3

    broken = texts[0].replace('return false;\n}', 'return nope;\n}', 1)
    assert 'error' in real(broken)
    built.clear()
    found = proof.outcomes(texts + [broken], 1)
    assert {t: found[t] for t in texts} == alone
    assert 'nope' in found[broken]['error']
    assert len(built) == 1 + len(texts) + 1


def test_gate_calling_a_function_is_not_modelled():
    with pytest.raises(proof.Unmodelled, match=r'calls is_ok\(\)'):
        gate('if (!is_ok(type))\n\treturn NULL;')


@pytest.mark.parametrize('body, accepts', [
    # a braced body that logs first: the most common vendor gate
    ('if (type != IOMMU_DOMAIN_UNMANAGED &&\n    type != IOMMU_DOMAIN_DMA) {\n'
     '\tpr_err("bad type %u\\n", type);\n\treturn NULL;\n}\nreturn &d;',
     ['UNMANAGED', 'DMA']),
    # a negated positive test (spatch's neg_if isomorphism is off)
    ('if (!(type == IOMMU_DOMAIN_UNMANAGED || type == IOMMU_DOMAIN_DMA))\n'
     '\treturn NULL;\nreturn &d;', ['UNMANAGED', 'DMA']),
    # an if inside a loop is no gate; the first top-level return is
    ('for (i = 0; i < 2; i++)\n\tif (type == IOMMU_DOMAIN_DMA)\n'
     '\t\treturn NULL;\nif (type == IOMMU_DOMAIN_IDENTITY)\n\treturn &d;\n'
     'return NULL;', ['IDENTITY']),
    # a switch whose DMA label has a body of its own, BLOCKED rejected
    ('switch (type) {\ncase IOMMU_DOMAIN_BLOCKED:\n\treturn NULL;\n'
     'case IOMMU_DOMAIN_DMA:\n\treturn other(type);\n'
     'case IOMMU_DOMAIN_UNMANAGED:\n\tbreak;\ndefault:\n\treturn NULL;\n}\n'
     'return &d;', ['UNMANAGED', 'DMA']),
])
def test_gate_read_from_what_spatch_matched(body, accepts):
    g = gate(body)
    ev = proof.evaluate(TYPES, g, g, None, 'shape')
    assert proof.accepted(ev.before, ev.variables, TYPES) == accepts


def test_domain_types_skip_masks():
    header = ('#define __IOMMU_DOMAIN_PAGING\t(1U << 0)\n'
              '#define IOMMU_DOMAIN_ALLOC_FLAGS ~__IOMMU_DOMAIN_PAGING\n'
              '#define IOMMU_DOMAIN_UNMANAGED\t(__IOMMU_DOMAIN_PAGING)\n'
              '#define IOMMU_DOMAIN_DMA\t(__IOMMU_DOMAIN_PAGING | \\\n'
              '\t\t\t\t 2U)\n#define IOMMU_DOMAIN_DMA_FQ (8U)\n')
    types = proof.domain_types(header)
    assert types.names == ['IOMMU_DOMAIN_UNMANAGED', 'IOMMU_DOMAIN_DMA',
                           'IOMMU_DOMAIN_DMA_FQ']
    assert '#define IOMMU_DOMAIN_DMA\t(__IOMMU_DOMAIN_PAGING | 2U)' in \
        types.defines


# --- the report on the fixtures ---------------------------------------

def normalized(text: str) -> str:
    """Line numbers of helper comparisons are checked against the source
    by the real-tree tests; here they may drift with a tree update."""
    return re.sub(r'at line \d+', 'at line N', text)


def test_fixture_report_text(tmp_path):
    tree = fixture_copy(tmp_path / 'linux')
    res = tool('report', str(tree))
    want = (EXPECTED / 'linux-6.1-fixtures.report').read_text()
    assert normalized(res.stdout) == normalized(want)
    assert '    x ' not in res.stdout and 'FAILED' not in res.stdout


def test_fixture_report_json(tmp_path):
    tree = fixture_copy(tmp_path / 'linux')
    before = tree_digest(tree)
    data = json.loads(tool('report', '--json', str(tree)).stdout)
    assert tree_digest(tree) == before, 'report changed the tree'
    rows = rows_by_ops(data)
    assert data['summary']['ops'] == 16
    assert data['summary']['failed'] == 0
    legacy = rows[('legacy-binding.c', 'legacy_ops')]
    assert legacy['before'] == ['IDENTITY', 'UNMANAGED',
                                'DMA[using_legacy_binding=0]',
                                'DMA_FQ[using_legacy_binding=0]']
    assert legacy['after'] == ['IDENTITY', 'UNMANAGED']
    assert legacy['proof'] == 'proved'
    assert 'use_dma_iommu=false when using_legacy_binding' in \
        legacy['flags']
    implicit = rows[('implicit-dma.c', 'implicit_ops')]
    assert kinds(implicit) == {'implicit-dma',
                               'behaviour implicit_use_v2_table'}
    assert implicit['proof'] == 'proved' and 'DMA' in implicit['after']
    assert implicit['flags'] == ['use_dma_iommu', 'allow_dma_fq']
    body = rows[('label-body.c', 'label_body_ops')]
    assert kinds(body) == {'not-rewritten',
                           'behaviour label_body_domain_alloc'}
    assert body['proof'] == 'proved'
    assert body['before'] == body['after'] == ['UNMANAGED', 'DMA']
    plain = rows[('two-ops.c', 'two_ops_plain_ops')]
    assert plain['proof'] == 'proved' and plain['flags'] == []


# --- a rule made wrong on purpose -------------------------------------

def wrong_cocci(dst: Path) -> Path:
    """cocci/ with the DMA conjunct rule dropping UNMANAGED instead."""
    shutil.copytree(TOP / 'cocci', dst)
    rule = dst / 'domain_alloc_drop_dma.cocci'
    text = rule.read_text()
    wrong = text.replace('- t != IOMMU_DOMAIN_DMA@p &&',
                         '- t != IOMMU_DOMAIN_UNMANAGED@p &&')
    wrong = wrong.replace('- && t != IOMMU_DOMAIN_DMA@p',
                          '- && t != IOMMU_DOMAIN_UNMANAGED@p')
    assert wrong.count('IOMMU_DOMAIN_UNMANAGED@p') == 2
    rule.write_text(wrong)
    return dst


def test_wrong_rule_gives_counterexample_and_refused_apply(tmp_path,
                                                          monkeypatch):
    tree = fixture_copy(tmp_path / 'linux')
    monkeypatch.setenv('IOMMU_DMA_COCCI', str(wrong_cocci(tmp_path / 'c')))
    pristine = tree_digest(tree)
    res = tool('report', str(tree), check=False)
    assert res.returncode == 1, res.stderr
    # Two safety nets catch it: chain gates keep their DMA comparison and
    # are held back as partial; the legacy gate is rewritten, and its
    # proof finds the type that changed meaning.
    assert re.search(r'^drivers/iommu/legacy-binding\.c .*FAILED$',
                     res.stdout, re.M)
    assert '    x counterexample: request DMA using_legacy_binding=0: ' \
        'gets DMA before, no domain after' in res.stdout
    chain = res.stdout[res.stdout.index('drivers/iommu/chain-first.c'):]
    assert '! partial:' in chain.split('drivers/iommu/chain-last.c')[0]
    res = tool('apply', str(tree), check=False)
    assert res.returncode == 2
    assert 'legacy_ops: counterexample: request DMA' in res.stderr
    assert 'nothing written' in res.stderr
    assert tree_digest(tree) == pristine
    assert not (tree / '.iommu-dma' / 'record.json').exists()


def test_good_rules_apply(tmp_path):
    tree = fixture_copy(tmp_path / 'linux')
    tool('apply', str(tree))
    assert (tree / '.iommu-dma' / 'record.json').exists()


# --- Debian's trees ---------------------------------------------------

@pytest.fixture(scope='module', params=['6.1', '6.12'])
def real(request):
    tree = KernelTree.open(linux_tree(request.param))
    rewrite = compute(tree, 'all', 2)
    try:
        rep = report.build(rewrite, 2)
    finally:
        discard(rewrite)
    return request.param, tree, rep


def helper_line_compares(tree: KernelTree, f: Finding) -> bool:
    """The named helper's comparison is really at the line named."""
    line = tree.read(f.file).splitlines()[f.line - 1]
    return re.search(r'[=!]=\s*IOMMU_DOMAIN_\w+|case IOMMU_DOMAIN_\w+:', line) \
        is not None


def test_real_report_text(real):
    version, tree, rep = real
    want = (EXPECTED / f'{tree.series_name()}.report').read_text()
    assert normalized(report.render(rep)) == normalized(want)


def test_real_every_rewritten_gate_proved(real):
    version, tree, rep = real
    rewritten = [r for r in rep.rows if r.rewritten]
    assert rewritten
    assert [r.ops for r in rewritten if r.proof != 'proved'] == []
    for r in rewritten:
        assert 'DMA' in ''.join(r.before)
        assert not {'DMA', 'DMA_FQ'} & set(r.after)


def test_real_findings(real):
    version, tree, rep = real
    rows = {(r.file, r.ops): r for r in rep.rows}
    amd = rows[('drivers/iommu/amd/iommu.c', 'amd_iommu_ops')]
    intel = rows[('drivers/iommu/intel/iommu.c', 'intel_iommu_ops')]
    assert {f.kind + ' ' + (f.helper or '') for f in amd.findings} \
        == {'implicit-dma ', 'behaviour protection_domain_alloc'}
    assert 'DMA' in amd.before and 'DMA' in amd.after and not amd.removed
    assert amd.proof == 'proved'
    assert 'use_dma_iommu' in amd.flags
    helpers = [f for f in intel.findings if f.kind == 'behaviour']
    assert [f.helper for f in helpers] == ['first_level_by_default']
    for f in helpers + [f for f in amd.findings if f.helper]:
        assert helper_line_compares(tree, f), f
    assert intel.proof == 'proved'
    if version == '6.1':
        # intel accepted DMA_FQ: it must get allow_dma_fq.
        assert 'DMA_FQ' in intel.before
        assert intel.flags == ['use_dma_iommu', 'allow_dma_fq']


def test_real_inventory(real):
    version, tree, rep = real
    s = rep.summary()
    want = {'6.1': (21, 20, 0, 12), '6.12': (22, 4, 16, 2)}[version]
    assert (s['ops'], s['with_domain_alloc'], s['with_domain_alloc_paging'],
            s['gates_rewritten']) == want
    # Every initializer the tree has, by the tool's own candidate grep.
    files = {r.file for r in rep.rows}
    assert files == set(tree.candidates())
