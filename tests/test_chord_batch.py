"""The chords heard in many slots at once (composer/grading/chord_batch.py) are those
`identify_chord` hears one slot at a time: on every voicing offered under real Essen
tunes' melodies, and on note sets full of equal scores (where the order decides)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_connect import _tune_spec

from composer.chords import Chord
from composer.grading.chord_batch import QUALITY_NAMES, identify_chords
from composer.grading.harmony import ONSET_WEIGHT, identify_chord
from composer.music import Key, PitchClass
from composer.planning.chain import harmony_chain
from composer.rules import Context
from composer.solve.candidates import candidates, fixed_notes
from composer.solve.given import composing_rules


def _code(pc: PitchClass) -> int:
    return 8 * pc.step + pc.alter + 3


def _chords(root: np.ndarray, quality: np.ndarray) -> list[Chord | None]:
    return [None if r < 0 else Chord(PitchClass(r // 8, r % 8 - 3), QUALITY_NAMES[q])
            for r, q in zip(root.tolist(), quality.tolist(), strict=True)]


def _rows(rows: list[tuple[list[tuple[PitchClass, float]], PitchClass | None]], key: Key
          ) -> list[Chord | None]:
    width = max(len(notes) for notes, _ in rows)
    codes = np.full((len(rows), width), -1, np.int64)
    weights = np.zeros((len(rows), width))
    bass = np.full(len(rows), -1, np.int64)
    for i, (notes, low) in enumerate(rows):
        for j, (pc, w) in enumerate(notes):
            codes[i, j], weights[i, j] = _code(pc), w
        if low is not None:
            bass[i] = _code(low)
    return _chords(*identify_chords(codes, weights, bass, key))


@pytest.mark.parametrize(("stem", "number"), [("altdeu20", 301), ("ballad10", 26)])
def test_every_voicing_under_a_tune_is_heard_as_identify_chord_hears_it(
        tmp_path: Path, stem: str, number: int) -> None:
    spec = _tune_spec(tmp_path, stem, number)
    spec = replace(spec, rules=composing_rules(spec, weigh=False))
    chain = harmony_chain(spec, fixed_notes(spec, Context(spec.voices, spec.key, spec.meter)))
    every = candidates(spec, chain, None, slots=range(min(8, len(chain.times))), cap=None)
    rows, seen = [], set()
    later = (PitchClass(3, 1), 0.25)  # a melody note struck later in the slot
    for frame in every.frames:
        for midi, dia in zip(frame.midi.tolist(), frame.diatonic.tolist(), strict=True):
            voiced = [(m, d) for m, d in zip(midi, dia, strict=True) if m >= 0]
            classes = [PitchClass(d % 7, m - (12 * (d // 7 + 1) + (0, 2, 4, 5, 7, 9, 11)[d % 7]))
                       for m, d in voiced]
            low = classes[min(range(len(voiced)), key=lambda v: voiced[v])]
            for extra in ([], [later]):
                notes = [(pc, ONSET_WEIGHT) for pc in classes] + extra
                if (mark := (tuple(notes), low)) not in seen:
                    seen.add(mark)
                    rows.append((notes, low))
    assert len(rows) > 500
    expected = [identify_chord(notes, low, spec.key) for notes, low in rows]
    assert _rows(rows, spec.key) == expected
    assert len(set(expected)) > 10


@pytest.mark.parametrize("key", [Key(PitchClass(0), "major"), Key(PitchClass(5), "minor"),
                                 Key(PitchClass(3, 1), "minor"), Key(PitchClass(1, -1), "major")])
def test_equal_scores_are_decided_as_identify_chord_decides(key: Key) -> None:
    rng = random.Random(0)
    rows = []
    for _ in range(2000):
        notes = [(PitchClass(rng.randint(0, 6), rng.choice([0, 0, 0, 1, -1, 2, -2])),
                  rng.choice([1.0, 1.0, 0.25, 0.125, 1 / 3, 0.5]))
                 for _ in range(rng.randint(1, 7))]
        rows.append((notes, rng.choice([None] + [p for p, _ in notes])))
    expected = [identify_chord(notes, low, key) for notes, low in rows]
    assert _rows(rows, key) == expected
    assert expected.count(None) == 0
