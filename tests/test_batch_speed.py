"""What a batch's warm process works out once and takes again is what working it out
afresh gives: the pair rules' verdicts a tune finds judged under the tune before it, the
chords heard under every beat's figures at once, a melody's notes found by bisection.
On real Essen tunes (music21's corpus)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_connect import _tune_spec

import composer.solve.pairs as pairs
import composer.surface.rules as surface_rules
from composer.neural.scorer import scorer_for
from composer.pipeline import compose
from composer.planning.chain import harmony_chain
from composer.rules import Context
from composer.solve.candidates import candidates, fixed_notes
from composer.solve.given import composing_rules


def _offer(spec, share: bool):
    spec = replace(spec, rules=composing_rules(spec))
    chain = harmony_chain(spec, fixed_notes(spec, Context(spec.voices, spec.key, spec.meter)))
    return candidates(spec, chain, None, share=share)


def test_a_tune_takes_the_verdicts_judged_under_the_tune_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _tune_spec(tmp_path, "altdeu10", 1), _tune_spec(tmp_path, "altdeu10", 26)
    assert (first.key, first.voices) == (second.key, second.voices)
    judged: list[int] = []
    step = pairs.step_rules
    monkeypatch.setattr(pairs, "step_rules",
                        lambda a, *rest, **kw: judged.append(len(a)) or step(a, *rest, **kw))
    monkeypatch.setattr(pairs, "_STORES", {})
    alone = _offer(second, share=False)
    on_its_own = sum(judged)
    _offer(first, share=True)
    judged.clear()
    after = _offer(second, share=True)
    assert sum(judged) < 0.9 * on_its_own  # its own voice leading met in the tune before
    assert len(alone.pair) == len(after.pair) > 30
    for a, b in zip(alone.pair, after.pair, strict=True):
        assert np.array_equal(a, b)  # (−inf where a move breaks a rule: the same moves)
    assert all(np.array_equal(a, b) for a, b in zip(alone.unary, after.unary, strict=True))


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
