"""What the composer works out a quicker way is what the plain way gives: the chords
heard under every beat's figures at once, a melody's notes and silences found by
bisection. On real Essen tunes (music21's corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_connect import _tune_spec

import composer.surface.rules as surface_rules
from composer.neural.scorer import scorer_for
from composer.pipeline import compose


def test_every_beat_hears_its_figures_as_identify_chord_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked, differ = [0], [0]
    together = surface_rules._heard_beats

    def checked(beats, rows, ctx):
        out = together(beats, rows, ctx)
        for b, r, heard in zip(beats, rows, out, strict=True):
            asked[0] += len(r)
            differ[0] += int((surface_rules._heard(b, r, ctx) != heard).sum())
        return out

    monkeypatch.setattr(surface_rules, "_heard_beats", checked)
    scorer = scorer_for(None, ("soprano", "alto", "tenor", "bass"))
    for stem, number in (("altdeu10", 1), ("ballad10", 51)):
        compose(_tune_spec(tmp_path, stem, number), scorer)
    assert asked[0] > 500 and differ[0] == 0


@pytest.mark.parametrize(("stem", "number"), [("altdeu20", 26), ("ballad10", 76)])
def test_a_melody_finds_its_notes_and_silences_as_a_scan_does(
        tmp_path: Path, stem: str, number: int) -> None:
    melody = _tune_spec(tmp_path, stem, number).melody
    assert melody is not None and any(n.pitch is None for n in melody.notes)
    end = max(n.offset + n.duration for n in melody.notes)
    silences = sorted([n.offset for n in melody.notes if n.pitch is None]
                      + [max(n.offset + n.duration for n in melody.notes if n.pitch)])
    step = min(n.duration for n in melody.notes) / 2
    at = step * 0
    while at <= end:
        for length in (step, 2 * step, 4 * step):
            assert melody.sounding_during(at, at + length) == tuple(
                n for n in melody.notes if n.offset < at + length and n.offset + n.duration > at)
        assert melody.next_silence(at) == next((s for s in silences if s > at), None)
        at += step


def test_tunes_in_one_key_share_the_rules_verdicts_and_compose_as_alone(
        tmp_path: Path) -> None:
    """Two G major tunes in other meters: the second finds the domains and pair
    verdicts the first worked out, and composes the very piece it composes alone."""
    from composer.io.write import output_files
    from composer.pipeline import document
    from composer.rules import Context
    from composer.solve import judged as cands
    from composer.solve.given import composing_rules

    first, second = (_tune_spec(tmp_path, stem, number)
                     for stem, number in (("altdeu20", 126), ("ballad20", 101)))
    assert first.key == second.key and first.meter != second.meter
    scorer = scorer_for(None, ("soprano", "alto", "tenor", "bass"))

    def forget() -> None:
        for cache in (cands._judged, cands._domains, cands._verdicts):
            cache.cache_clear()

    forget()
    comp = compose(second, scorer)
    alone = output_files(comp.piece, document(comp))
    forget()
    compose(first, scorer)
    shared = cands.judged_under(composing_rules(first, weigh=False),
                                Context(first.voices, first.key, first.meter))
    assert len(shared.solver._cache) > 20 and shared.verdicts._names > 1000
    assert cands.judged_under(composing_rules(second, weigh=False), Context(
        second.voices, second.key, second.meter)) is shared
    comp = compose(second, scorer)
    assert output_files(comp.piece, document(comp)) == alone


def test_a_conflict_answered_by_widening_the_spacing_is_not_searched_for_notes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ballad40#151: its lenient harmony first breaks on the spacing with the voices'
    order, and the lenient way answers that by weighing the spacing, whatever notes
    take part; it composes the same piece as when those notes are searched for."""
    import composer.pipeline as pipeline
    import composer.solve.explain as explaining
    from composer.io.write import output_files
    from composer.pipeline import document

    spec = _tune_spec(tmp_path, "ballad40", 151)
    scorer = scorer_for(None, ("soprano", "alto", "tenor", "bass"))
    searched: list[list[bool]] = []  # per explanation: whether each search was of notes
    found: list[tuple[str, ...]] = []
    search, explain = explaining.quickxplain, pipeline.explain

    def recorded_search(items, consistent):
        searched[-1].append(any(i.note is not None for i in items))
        return search(items, consistent)

    def recorded_explain(*args, **kwargs):
        searched.append([])
        conflict = explain(*args, **kwargs)
        found.append(conflict.conflicts if conflict is not None else ())
        return conflict

    monkeypatch.setattr(explaining, "quickxplain", recorded_search)
    monkeypatch.setattr(pipeline, "explain", recorded_explain)
    comp = compose(spec, scorer)
    widened = [k for k, ids in enumerate(found) if "spacing" in ids]
    assert widened and all(searched[k] == [False] for k in widened)
    quick = output_files(comp.piece, document(comp))
    monkeypatch.setattr(pipeline, "notes_read", lambda spread, conflicts: True)
    searched.clear()
    found.clear()
    comp = compose(spec, scorer)
    assert any(searched[k] == [False, True] for k in widened)
    assert output_files(comp.piece, document(comp)) == quick
