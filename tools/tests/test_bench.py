"""The benchmark's logic and the speed machinery it measures.

No timing is asserted here: the speed targets are only printed by
`make bench`. These tests check that the bench computes and reports what it
says, and that the fast paths (parallel lanes, result cache) give exactly
the rewrite the plain sequential path gives.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iommu_dma import rewrite, spatch  # noqa: E402
from lab import bench  # noqa: E402
from iommu_dma.tree import IOMMU_C, IOMMU_H, KernelTree  # noqa: E402

from toolrun import fixture_copy  # noqa: E402


def row(name: str, *walls: float, status: int = 0) -> bench.Row:
    return bench.Row(name, f'cmd-{name}',
                     [bench.Sample(w, w / 2, 10.0, status) for w in walls])


def test_row_takes_the_median_and_the_peak():
    r = bench.Row('x', 'c', [bench.Sample(5, 1, 10, 0),
                             bench.Sample(1, 3, 30, 0),
                             bench.Sample(2, 2, 20, 0)])
    assert (r.wall, r.cpu, r.rss_mib, r.ok) == (2, 2, 30, True)
    r.samples.append(bench.Sample(1, 1, 1, 2))
    assert not r.ok


def test_add_sums_rules_into_one_sample():
    s = bench.add([bench.Sample(1, 2, 10, 0), bench.Sample(3, 4, 50, 1),
                   bench.Sample(1, 1, 20, 2)])
    assert (s.wall, s.cpu, s.rss_mib, s.status) == (5, 7, 50, 1)


def test_targets_met_and_not_met():
    rows = {'diff': row('diff', 4.0), 'diff-warm': row('diff-warm', 0.5),
            'floor': row('floor', 2.0), 'plain': row('plain', 30.0)}
    judged = {(t['row'], t['target'].split()[0]): t
              for t in bench.targets(rows)}
    assert judged[('diff', 'plain')]['ratio'] == pytest.approx(7.5)
    assert judged[('diff', 'plain')]['met'] is True
    assert judged[('diff', 'diff')]['ratio'] == pytest.approx(2.0)
    assert judged[('diff', 'diff')]['met'] is False
    assert judged[('diff-warm', 'plain')]['ratio'] == pytest.approx(60)
    rss = [t for t in bench.targets(rows) if 'rss' in t['target']]
    assert rss and rss[0]['met'] and rss[0]['ratio'] == 10.0
    # 3x exactly is met, 1.5x exactly is met
    rows = {'diff': row('diff', 3.0), 'floor': row('floor', 2.0),
            'plain': row('plain', 9.0)}
    assert all(t['met'] for t in bench.targets(rows))
    # no plain row measured: the floor and memory targets only
    assert [t['target'] for t in bench.targets(
        {'diff': row('diff', 1), 'floor': row('floor', 1)})] == \
        ['diff / floor <= 1.5', 'peak rss MiB <= 1024']
    # a process over 1 GiB
    big = bench.Row('checker-cold', 'c', [bench.Sample(1, 1, 2048, 0)])
    (t,) = [t for t in bench.targets({'checker-cold': big})]
    assert t['row'] == 'checker-cold' and not t['met']
    # the re-rolled series with its boot check: 90 s
    for wall, met in ((90.0, True), (91.0, False)):
        (t,) = [t for t in bench.targets({'series-boot': row(
            'series-boot', wall)}) if 'series' in t['target']]
        assert t['ratio'] == wall and t['met'] is met


def test_table_and_json_report():
    rows = {'diff': row('diff', 3.0, 1.0, 2.0), 'floor': row('floor', 1.0),
            'plain': row('plain', 10.0, status=1)}
    data = bench.report(rows, {'kernel': 'k'})
    text = bench.table(rows, data['targets'], 'HEAD')
    lines = text.splitlines()
    assert lines[0] == 'HEAD'
    # the ratio to the floor first, then the wall time
    assert any(ln.split()[:3] == ['diff', '2.00', '2.00'] for ln in lines)
    assert any(ln.split()[:3] == ['plain', '10.00', '10.00']
               for ln in lines)
    assert any('plain' in ln and 'FAILED' in ln for ln in lines)
    assert 'target plain / diff >= 3: 5.00 (diff) met' in text
    assert 'target diff / floor <= 1.5: 2.00 (diff) NOT met' in text
    back = json.loads(json.dumps(data))
    assert back['rows']['diff']['wall'] == 2.0
    assert back['rows']['diff']['x_floor'] == 2.0
    assert back['rows']['plain']['ok'] is False
    assert len(back['rows']['diff']['samples']) == 3


def test_floor_is_the_scan_piped_into_one_spatch(tmp_path):
    rule = tmp_path / 'floor.cocci'
    cmd = bench.floor_command(Path('/k'), rule)
    assert cmd[:2] == ['sh', '-c']
    scan, spatch_cmd = cmd[2].split(' | ')
    assert scan == "grep -rlE --include=*.c 'struct iommu_ops' /k"
    assert spatch_cmd.startswith('xargs -r spatch ')
    assert f'--sp-file {rule}' in spatch_cmd
    assert '--no-includes' in spatch_cmd and '-j' not in spatch_cmd.split()


def test_summary_puts_ratios_first():
    rows = {'diff': row('diff', 3.0), 'diff-warm': row('diff-warm', 1.0),
            'floor': row('floor', 2.0)}
    text = bench.summary([(rows, {'version': '6.1.1'})])
    line = text.splitlines()[1]
    assert line.split()[:6] == ['linux', '6.1.1', 'cold', '1.50x', 'warm',
                                '0.50x']
    assert '(diff 3.00 s, floor 2.00 s, warm 1.00 s; peak 10 MiB)' in line


def test_measure_reports_exit_status(tmp_path):
    assert bench.measure(['true']).status == 0
    s = bench.measure(['sh', '-c', 'exit 3'])
    assert s.status == 3 and s.wall >= 0 and s.cpu >= 0
    # CPU of what the command waited for is counted
    busy = bench.measure(['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do '
                          'i=$((i+1)); done'])
    assert busy.cpu > 0


def test_measure_caps_a_slow_command_and_its_children():
    s = bench.measure(['sh', '-c', 'sleep 30 & sleep 30; wait'], cap=0.3)
    assert s.capped and s.wall < 10
    r = bench.Row('plain', 'c', [bench.add([bench.Sample(1, 1, 1, 0), s])])
    assert r.capped and r.ok       # killed by the cap is not a failure
    rows = {'diff': row('diff', 0.1), 'plain': r}
    (t, _) = bench.targets(rows)
    assert t['lower_bound'] and t['met']
    assert '>=' in bench.table(rows, [t], 'HEAD')


def test_series_rules_and_plain_commands(tmp_path):
    tree = KernelTree.open(fixture_copy(tmp_path / 'linux'))
    rules = bench.series_rules(tree)
    names = [c for c, _ in rules]
    assert names == ['iommu_ops_fields', 'iommu_ops_dma_flags',
                     'legacy_binding_no_dma', 'core_default_domain',
                     'domain_alloc_drop_dma', 'domain_alloc_audit']
    assert 'dma_fq' in dict(rules)['iommu_ops_dma_flags']
    cmds = {c: bench.plain_command(c, m, tree.path, 2) for c, m in rules}
    for cmd in cmds.values():
        assert cmd[cmd.index('--dir') + 1] == str(tree.path)
        assert cmd[cmd.index('-j') + 1] == '2'
        assert '--in-place' not in cmd and '--no-includes' in cmd
    assert '--include-headers' in cmds['iommu_ops_fields']
    # -D only for the virtual rules a semantic patch declares
    assert ['-D', 'dma_fq'] == cmds['iommu_ops_dma_flags'][-2:]
    assert ['-D', 'dma_fq'] == cmds['domain_alloc_drop_dma'][-2:]
    assert 'dma_fq' not in cmds['legacy_binding_no_dma']
    assert cmds['domain_alloc_audit'][-4:] == ['-D', 'report', '-D',
                                               'record']
    # a tree whose core is already rewritten: no core rule
    for rel in (IOMMU_H, IOMMU_C):
        f = tree.path / rel
        text = f.read_text()
        f.unlink()
        f.write_text(text + '\n/* use_dma_iommu */\n')
    assert 'core_default_domain' not in [c for c, _ in
                                         bench.series_rules(tree)]


def outcome(tree_path: Path, jobs: int) -> dict:
    rw = rewrite.compute(KernelTree.open(tree_path), 'all', jobs)
    try:
        r = asdict(rw.record)
        for k in ('changes', 'findings'):
            r[k] = sorted(json.dumps(e, sort_keys=True) for e in r[k])
        r['step_after'] = rw.step_after
        r['after'] = {f: rw.after(f) for f in rw.record.files}
        return r
    finally:
        rewrite.discard(rw)


def test_lanes_and_result_cache_change_nothing(tmp_path, monkeypatch):
    linux = fixture_copy(tmp_path / 'linux')
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    plain = outcome(linux, 1)
    assert plain['files'] and plain['changes'] and plain['findings']
    assert outcome(linux, 2) == plain
    cache = tmp_path / 'cache'
    monkeypatch.setenv(spatch.CACHE_ENV, str(cache))
    assert outcome(linux, 2) == plain        # fills the cache
    entries = sorted(cache.rglob('*.json'))
    assert entries
    calls = []
    real = spatch.Pending._run

    def counting(self, files):
        calls.extend(files)
        ran.extend((self.sp.name, f, ' '.join(self.cmd[-4:]))
                   for f in files)
        return real(self, files)
    ran: list[tuple[str, str, str]] = []
    monkeypatch.setattr(spatch.Pending, '_run', counting)
    assert outcome(linux, 2) == plain        # from the cache alone
    assert calls == [], ran
    # a changed driver is run again, and only that driver
    driver = [f for f in plain['files'] if f.startswith('drivers/')
              and not f.endswith('/iommu.c')][0]
    data = (linux / driver).read_bytes()
    (linux / driver).unlink()
    (linux / driver).write_bytes(data + b'\n/* changed */\n')
    changed = outcome(linux, 2)
    assert set(calls) == {driver}
    assert changed['after'][driver].endswith(b'/* changed */\n')
    assert changed['changes'] == plain['changes']
    # an unreadable entry is a miss, not an error
    calls.clear()
    for e in entries:
        e.write_text('{not json')
    assert outcome(linux, 2) == changed
    assert calls


def test_bench_end_to_end_on_fixtures(tmp_path, monkeypatch):
    linux = fixture_copy(tmp_path / 'linux')
    other = fixture_copy(tmp_path / 'linux2')
    work = tmp_path / 'work'
    work.mkdir()
    out = tmp_path / 'bench.json'
    assert bench.main([str(linux), str(other), '--reps', '1',
                       '--plain-reps', '1', '--json', str(out), '--work',
                       str(work)]) == 0
    data = json.loads(out.read_text())
    assert len(data['trees']) == 2      # one run, every tree
    for n, tree in enumerate(data['trees']):
        assert set(tree['rows']) == {'diff', 'diff-warm', 'floor', 'scan',
                                     'plain'}
        assert all(r['ok'] for r in tree['rows'].values())
        assert len(tree['targets']) == 4
        # the floor's spatch found the fixture's ops
        assert tree['rows']['floor']['x_floor'] == 1.0
        # the warm row ran against a filled cache
        root = work / f'tree{n}'
        assert list((root / 'cache-warm').rglob('*.json'))
        assert [p.name for p in root.glob('cache-*')] == ['cache-warm']
