"""Typed events: every kind the rules print is known and renders everywhere;
an unknown one is an error at the point it is read, not a KeyError later."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iommu_dma import events  # noqa: E402
from iommu_dma.errors import ToolError  # noqa: E402
from iommu_dma.record import Record  # noqa: E402
from iommu_dma.series import messages  # noqa: E402

TOP = Path(__file__).resolve().parents[2]

SAMPLES = {
    'gate': dict(file='d.c', function='f', removed='IOMMU_DOMAIN_DMA',
                 shape='chain'),
    'flag': dict(file='d.c', ops='o', function='f', flag='use_dma_iommu'),
    'legacy-binding': dict(file='d.c', ops='o', function='probe',
                           flag_var='legacy'),
    'field': dict(file='i.h', struct='iommu_ops', field='use_dma_iommu'),
    'core': dict(file='c.c', function='g', shape='default-domain-fallback'),
    'upstream': dict(file='c.c', function='g', shape='paging-only'),
    'core-shape': dict(file='c.c', function='g', shape='x'),
    'ops': dict(file='d.c', ops='o', line=3),
    'ops-alloc': dict(file='d.c', ops='o', field='domain_alloc',
                      function='f'),
    'alloc-def': dict(file='d.c', function='f', param='type', line=9),
    'ops-parsed': dict(file='d.c', ops='o'),
    'alloc-parsed': dict(file='d.c', function='f'),
    'gate-fact': dict(file='d.c', fact='cond', function='f', definition=9,
                      line=11, col=1, text='type != IOMMU_DOMAIN_DMA'),
}


def finding(kind: str) -> dict:
    return dict(event='finding', kind=kind, file='d.c', function='f',
                message='m', constant='IOMMU_DOMAIN_DMA', helper='h',
                line=4, rule='r')


def test_every_kind_parses_and_round_trips() -> None:
    assert set(SAMPLES) | {'finding'} == set(events.KINDS)
    for kind, fields in SAMPLES.items():
        raw = dict(event=kind, rule='x', **fields)
        e = events.parse(raw)
        assert type(e).KIND == kind and e.KIND == kind
        assert events.parse(json.loads(json.dumps(e.to_json()))) == e
    for kind in events.FINDING_KINDS:
        e = events.parse(finding(kind))
        assert events.parse(e.to_json()) == e


def test_every_change_and_finding_renders() -> None:
    for cls in events.CHANGES:
        e = events.parse(dict(event=cls.KIND, **SAMPLES[cls.KIND]))
        assert e.manifest().startswith(e.file + ' ')
        if cls is not events.Upstream:    # the summary's own statement
            assert e.summary()
    for kind in events.FINDING_KINDS:
        e = events.parse(finding(kind))
        assert f' ! {kind}' in e.manifest()
        assert e.summary() and e.report().startswith(kind + ': ')
        assert e.consequence.endswith('.')
        assert messages.findings_list(_record(e))  # the cover letter


def _record(*found: events.Event) -> Record:
    r = Record(tree='t', version='6.1.0', series_name='linux-6.1',
               parts='all')
    r.add_events(list(found))
    return r


@pytest.mark.parametrize('raw, says', [
    (dict(event='gate-ish', file='d.c'), "unknown event 'gate-ish'"),
    (finding('partially'), "unknown finding kind 'partially'"),
    (dict(event='flag', file='d.c', ops='o', function='f',
          flag='use_dma_iommu', colour='red'), "unknown field 'colour'"),
    (dict(event='gate', file='d.c', function='f'), "event 'gate':"),
    (dict(SAMPLES['gate-fact'], event='gate-fact', fact='loop'),
     "unknown gate fact 'loop'"),
])
def test_unknown_or_malformed_events_are_refused(raw, says) -> None:
    with pytest.raises(ToolError, match=re.escape(says)):
        events.parse(raw)


def test_rules_print_only_known_kinds() -> None:
    """Every event and finding kind named in cocci/ and tools/ is known."""
    texts = [p.read_text() for p in (TOP / 'cocci').glob('*.cocci')]
    texts += [p.read_text() for p in (TOP / 'tools' / 'iommu_dma').rglob(
        '*.py')]
    emitted = {k for t in texts for k in re.findall(r"emit\('([\w-]+)'", t)}
    assert emitted and emitted <= set(events.KINDS), emitted
    facts = {k for t in texts for k in re.findall(r"\bfact\('([\w-]+)'", t)}
    assert facts == events.GATE_FACTS, facts
    kinds = {k for t in texts
             for k in re.findall(r"kind\s*=\s*'([\w-]+)'", t)}
    assert kinds and kinds <= set(events.FINDING_KINDS), kinds


def test_record_round_trips_and_refuses_another_format(tmp_path) -> None:
    r = _record(*(events.parse(dict(event=k, **SAMPLES[k]))
                  for k in ('gate', 'flag', 'field')),
                events.parse(finding('partial')))
    r.files = ['d.c']
    path = tmp_path / 'record.json'
    r.save(path)
    assert Record.load(path) == r
    data = json.loads(path.read_text())
    data['format'] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(ToolError, match='another format'):
        Record.load(path)
