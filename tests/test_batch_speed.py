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
