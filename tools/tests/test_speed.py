"""The fast paths give exactly what the rules give one by one.

compute() runs several rules in one spatch pass (combine.py) and keeps
each rule's per-file result for that rule's own run (spatch.MEMO); the
core shape detection's run is the core step's. These tests compare, on
the fixtures, the era fixtures and the Debian trees, everything a run
produces (the record, every step's intermediate contents that the series
is made of, the final files and the report) with combining turned off
(IOMMU_DMA_COMBINE=0: every rule its own spatch process, as before), and
a run from a warm result cache with a cold one. No timing is asserted.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iommu_dma import combine, proof, report, rewrite, spatch  # noqa: E402
from iommu_dma.spatch import SemanticPatch  # noqa: E402
from iommu_dma.tree import KernelTree  # noqa: E402

from toolrun import FIXTURES, fixture_copy, linux_tree  # noqa: E402


def everything(tree_path: Path, jobs: int = 2, stages: bool = True) -> dict:
    """All a run computes, comparable with ==."""
    rw = rewrite.compute(KernelTree.open(tree_path), 'all', jobs, stages)
    try:
        rep = report.build(rw, jobs)
        r = asdict(rw.record)
        r['step_after'] = rw.step_after
        r['after'] = {f: rw.after(f) for f in rw.record.files}
        r['before'] = rw.before
        r['diff'] = rw.diff()
        r['report'] = json.loads(rep.to_json(str(tree_path)))
        r['manifest'] = rw.record.manifest()
        return r
    finally:
        rewrite.discard(rw)


def both_ways(tree_path: Path, monkeypatch) -> tuple[dict, dict]:
    """Every rule one by one, and the fast paths: combined passes with
    every step's contents (what the series needs), and fused (the driver
    steps in the first pass: diff, apply, report), which must give all
    but the intermediate contents."""
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    monkeypatch.setenv(combine.COMBINE_ENV, '0')
    alone = everything(tree_path)
    monkeypatch.setenv(combine.COMBINE_ENV, '1')
    together = everything(tree_path)
    fused = everything(tree_path, stages=False)
    assert_same({k: v for k, v in alone.items() if k != 'step_after'},
                {k: v for k, v in fused.items() if k != 'step_after'})
    return alone, together


def assert_same(alone: dict, together: dict) -> None:
    # field by field first, for a readable failure
    for key in alone:
        assert together[key] == alone[key], key
    assert together == alone


def test_combined_pass_matches_rules_one_by_one_on_fixtures(tmp_path,
                                                            monkeypatch):
    alone, together = both_ways(fixture_copy(tmp_path / 'linux'),
                                monkeypatch)
    assert_same(alone, together)
    # the steps the series is cut from are all there
    assert [s['phase'] for s in alone['steps']] == \
        ['fields', 'declare', 'declare', 'core', 'drop']
    assert all(alone['step_after'][:3])


@pytest.mark.parametrize('era', ['v6.6', 'v6.7'])
def test_combined_pass_matches_on_era_fixtures(era, tmp_path, monkeypatch):
    import shutil
    tree = tmp_path / era
    shutil.copytree(FIXTURES / 'eras' / era, tree)
    alone, together = both_ways(tree, monkeypatch)
    assert alone['files']
    assert_same(alone, together)


@pytest.mark.parametrize('version', ['6.1', '6.12', '7.3'])
def test_combined_pass_matches_on_debian_trees(version, monkeypatch):
    alone, together = both_ways(linux_tree(version), monkeypatch)
    assert_same(alone, together)
    if version != '7.3':
        phases = [s['phase'] for s in alone['steps'] if s['files']]
        assert 'declare' in phases and 'drop' in phases


def test_combined_pass_starts_fewer_spatch(tmp_path, monkeypatch):
    """The first pass takes the parse check, the inventory, the audit of
    unchanged files and the flags step; the core step reuses the shape
    detection: none of them starts a spatch of its own."""
    linux = fixture_copy(tmp_path / 'linux')
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    ran: list[tuple[str, tuple[str, ...]]] = []
    real = spatch._run

    def counting(sp, cwd, files, cmd, jobs):
        if files:           # no files: no spatch started
            ran.append((sp.name, tuple(files)))
        return real(sp, cwd, files, cmd, jobs)
    monkeypatch.setattr(spatch, '_run', counting)
    everything(linux)
    names = [n for n, _ in ran]
    assert 'iommu_ops_parsed' not in names
    assert 'iommu_ops_inventory' not in names
    assert 'iommu_ops_dma_flags' not in names
    assert names.count('core_default_domain') == 1      # the detection
    audited = {f for n, files in ran if n == 'domain_alloc_audit'
               for f in files}
    drivers = KernelTree.open(linux).candidates()
    assert audited and audited < set(drivers)   # unchanged files not again


def test_warm_cache_gives_the_cold_result(tmp_path, monkeypatch):
    linux = fixture_copy(tmp_path / 'linux')
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    cold = everything(linux)
    cache = tmp_path / 'cache'
    monkeypatch.setenv(spatch.CACHE_ENV, str(cache))
    proof._EVALUATED.clear()        # a new process, as a second make diff
    assert everything(linux) == cold            # fills the cache
    started = []
    real_run, real_pass = spatch._run, combine.run_pass

    def no_spatch(sp, cwd, files, *rest):
        if files:
            started.append(sp.name)
        return real_run(sp, cwd, files, *rest)

    def no_pass(*args, **kw):
        started.append('combined')
        return real_pass(*args, **kw)
    monkeypatch.setattr(spatch, '_run', no_spatch)
    monkeypatch.setattr(combine, 'run_pass', no_pass)
    # and no proof program compiled: their outcomes are cached too

    def no_compiler():
        raise AssertionError('a proof program was compiled')
    proof._EVALUATED.clear()
    monkeypatch.setattr(proof, 'compiler', no_compiler)
    assert everything(linux) == cold            # from the cache alone
    assert started == []


def test_cache_keys_follow_every_input(tmp_path, monkeypatch):
    """A changed rule text, spatch version, option or file content is a
    different entry: the combined pass runs again."""
    linux = fixture_copy(tmp_path / 'linux')
    cache = tmp_path / 'cache'
    monkeypatch.setenv(spatch.CACHE_ENV, str(cache))
    cold = everything(linux)
    passes = []
    real_pass = combine.run_pass

    def counting(sp_path, cwd, files, *rest):
        passes.append(list(files))
        return real_pass(sp_path, cwd, files, *rest)
    monkeypatch.setattr(combine, 'run_pass', counting)
    assert everything(linux) == cold and passes == []
    # a rule's text (a comment is enough): every file again
    cocci = tmp_path / 'cocci'
    import shutil
    shutil.copytree(rewrite.COCCI_DIR, cocci)
    flags = cocci / 'iommu_ops_dma_flags.cocci'
    flags.write_text(flags.read_text() + '\n// changed\n')
    monkeypatch.setenv('IOMMU_DMA_COCCI', str(cocci))
    assert everything(linux) == cold
    # (in J groups side by side: every file in one of them)
    assert passes and {f for files in passes for f in files} == \
        set(KernelTree.open(linux).candidates())
    monkeypatch.delenv('IOMMU_DMA_COCCI')
    # the spatch version and its options are in the key
    passes.clear()
    monkeypatch.setattr(spatch, 'spatch_version', lambda: 'spatch 9.9.9')
    assert everything(linux) == cold and passes
    monkeypatch.undo()
    monkeypatch.setenv(spatch.CACHE_ENV, str(cache))
    monkeypatch.setattr(combine, 'run_pass', counting)
    passes.clear()
    monkeypatch.setenv(spatch.PYTHON_ENV, '')
    assert everything(linux) == cold and passes


def test_generated_patch_renames_rules_and_modes():
    S = combine.Section
    secs = [S(rewrite.semantic_patch('iommu_ops_inventory'),
              ('report', 'record')),
            S(rewrite.semantic_patch('iommu_ops_dma_flags'),
              ('patch', 'record', 'dma_fq'))]
    comb = combine.generate(secs)
    assert comb.defines == ['s0_report', 's0_record', 's1_patch',
                            's1_record', 's1_dma_fq']
    assert '@s0_ops@' in comb.text and '@s1_ops@' in comb.text
    assert 'identifier s1_ops.fn, t;' in comb.text
    assert '@script:python depends on s1_takes_type && s1_dma_fq@' in \
        comb.text
    assert comb.events['flag'] == 1 and comb.events['ops-alloc'] == 0
    # every virtual before the first rule
    first_rule = comb.text.index('\n@')
    assert comb.text.rindex('\nvirtual ') < first_rule


STATEFUL = """virtual patch
virtual record

@initialize:python@
@@
seen = {value}

@r@
identifier I;
@@
struct iommu_ops I = {{ ... }};

@script:python depends on record@
I << r.I;
@@
seen.add(I)
"""


def test_what_cannot_be_combined_is_refused(tmp_path):
    S = combine.Section
    sp = rewrite.semantic_patch
    # two changing sections: the second would see reparsed fragments
    with pytest.raises(combine.NotCombinable):
        combine.generate([S(sp('iommu_ops_dma_flags'), ('patch', 'record')),
                          S(sp('domain_alloc_drop_dma'),
                            ('patch', 'record'))])
    # ... unless chained (run_chained maps the fragments back) ...
    combine.generate([S(sp('iommu_ops_dma_flags'), ('patch', 'record')),
                      S(sp('domain_alloc_drop_dma'), ('patch', 'record'))],
                     chained=True)
    # ... and never with a read-only section after a changing one
    with pytest.raises(combine.NotCombinable, match='read-only'):
        combine.generate([S(sp('iommu_ops_dma_flags'), ('patch', 'record')),
                          S(sp('domain_alloc_audit'), ('report', 'record'))],
                         chained=True)
    # Python state of the same name in two sections
    a, b = tmp_path / 'a.cocci', tmp_path / 'b.cocci'
    a.write_text(STATEFUL.format(value='set()'))
    b.write_text(STATEFUL.format(value='{"x"}'))
    with pytest.raises(combine.NotCombinable, match='seen'):
        combine.generate([S(SemanticPatch(a), ('record',)),
                          S(SemanticPatch(b), ('record',))])
    # a script constraint binds its metavariable and its parameters as
    # Python globals: here `seen`, which the other section keeps
    c = tmp_path / 'c.cocci'
    c.write_text('virtual record\n\n@r@\nidentifier I;\n'
                 'position seen : script:python(I) { I != "x" };\n@@\n'
                 'struct iommu_ops I@seen = { ... };\n')
    with pytest.raises(combine.NotCombinable, match='seen'):
        combine.generate([S(SemanticPatch(a), ('record',)),
                          S(SemanticPatch(c), ('record',))])
    # not combinable: prime() leaves it to the rules' own runs
    assert combine.prime([S(sp('iommu_ops_dma_flags'), ('patch',)),
                          S(sp('domain_alloc_drop_dma'), ('patch',))],
                         Path('/nonexistent'), ['x.c'], 1) is False


def test_proofs_are_kept_by_program_text(tmp_path, monkeypatch):
    """The report builds its proof programs all at once first, then reads
    them in order: each program is evaluated once."""
    linux = fixture_copy(tmp_path / 'linux')
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    compiled = []
    real = proof.parse_outcome

    def counting(text, *rest):
        compiled.append(text)
        return real(text, *rest)
    monkeypatch.setattr(proof, 'parse_outcome', counting)
    proof._EVALUATED.clear()
    first = everything(linux)
    assert compiled and len(compiled) == len(set(compiled))
    n = len(compiled)
    assert everything(linux) == first
    assert len(compiled) == n


@pytest.mark.parametrize('where', ['fixtures', 'v6.6', '6.1'])
def test_fused_pass_runs_no_step_of_its_own(where, tmp_path, monkeypatch):
    """stages=False: the driver steps run in the first pass; none of them
    starts a spatch of its own (and no fallback ran them one by one)."""
    import shutil
    if where == 'fixtures':
        tree = fixture_copy(tmp_path / 'linux')
    elif where.startswith('v'):
        tree = tmp_path / where
        shutil.copytree(FIXTURES / 'eras' / where, tree)
    else:
        tree = linux_tree(where)
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    ran: list[str] = []
    real = spatch._run

    def counting(sp, cwd, files, cmd, jobs):
        if files:
            ran.append(sp.name)
        return real(sp, cwd, files, cmd, jobs)
    monkeypatch.setattr(spatch, '_run', counting)
    fused = everything(tree, stages=False)
    assert fused['files']
    for step in ('iommu_ops_dma_flags', 'legacy_binding_no_dma',
                 'domain_alloc_drop_dma'):
        assert step not in ran, ran
    # the intermediate contents are what only the series asks for
    assert all(not after for step, after in zip(fused['steps'],
                                                fused['step_after'])
               if step['phase'] in ('declare', 'drop'))


def test_audit_carries_over_only_below_a_flags_only_change():
    """fused_group keeps the first pass's audit of a file whose steps only
    added flags, below every line a finding names; anything else is
    audited again on the final text."""
    before = b'a\nb\nc\nstruct iommu_ops o = {\n};\n'
    after = b'a\nb\nc\nstruct iommu_ops o = {\n\t.use_dma_iommu = true,\n};\n'
    flag = [{'event': 'flag', 'file': 'f.c', 'flag': 'use_dma_iommu'}]
    gate = [{'event': 'gate', 'file': 'f.c', 'removed': 'IOMMU_DOMAIN_DMA'}]
    above = [{'event': 'finding', 'kind': 'type-helper', 'line': 2},
             {'event': 'finding', 'kind': 'implicit-dma'}]
    below = above + [{'event': 'finding', 'kind': 'not-rewritten',
                      'line': 5}]
    carries = rewrite.audit_carries_over
    assert carries(above, [flag, [], []], before, after)
    assert not carries(below, [flag, [], []], before, after)
    assert not carries(above, [flag, [], gate], before, after)
    assert carries(above, [[], [], []], before, before)


def test_an_audit_split_with_idle_lanes_gives_the_same_findings(
        tmp_path, monkeypatch):
    """run_split() runs the audit in one spatch process per idle lane it
    takes: the same events per file as one run, and the lanes given back."""
    import shutil
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    files = ['drivers/iommu/after-gate.c', 'drivers/iommu/implicit-dma.c',
             'drivers/iommu/label-body.c', 'drivers/iommu/two-ops.c']
    for where in ('one', 'split'):
        for rel in files:
            (tmp_path / where / rel).parent.mkdir(parents=True,
                                                  exist_ok=True)
            shutil.copy(FIXTURES / rel, tmp_path / where / rel)
    audit = rewrite.semantic_patch(rewrite.AUDIT)
    modes = ['report', 'record']
    spatch.MEMO.clear()
    one = spatch.run(audit, tmp_path / 'one', files, modes)
    assert any(e['event'] == 'finding' for e in one)
    spatch.MEMO.clear()
    spatch.MEMO['the first pass'] = ([], None)     # as in fused_group
    ran: list[list[str]] = []
    real = spatch._run

    def counting(sp, cwd, fs, *rest):
        if fs:                  # _run() starts no spatch for no file
            ran.append(list(fs))
        return real(sp, cwd, fs, *rest)
    monkeypatch.setattr(spatch, '_run', counting)
    idle = rewrite.IdleLanes()
    idle.give(1)
    rewrite.run_split(audit, tmp_path / 'split', files, modes, idle)
    assert len(ran) == 2 and sorted(sum(ran, [])) == sorted(files)
    assert idle.free == 1
    # every result is in MEMO: the run of the pipeline starts no spatch
    assert spatch.run(audit, tmp_path / 'split', files, modes) == one
    assert len(ran) == 2
    spatch.MEMO.clear()
