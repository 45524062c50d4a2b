"""The style grader of benchmarks/style_distance.py on real chorales: its distance is a
distance, and Bach's own notes lie closer to his other chorales than the same notes
put out of order or out of key."""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from composer.corpus import parse_chorale

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def style() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmarks import one another
    try:
        return importlib.import_module("style_distance")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    return json.loads((ROOT / "models" / "chorale.json").read_text())["data"]["splits"]


def test_distance_is_zero_for_the_same_distribution_and_one_for_disjoint(style) -> None:
    pcs = Counter({0: 12, 7: 8, 4: 6, 2: 3})
    assert style.js_distance(pcs, pcs) == pytest.approx(0, abs=1e-9)
    assert style.js_distance(pcs, Counter({k: 3 * n for k, n in pcs.items()})) \
        == pytest.approx(0, abs=1e-9)  # counts, not their number
    assert style.js_distance(pcs, Counter({1: 5, 6: 2})) == pytest.approx(1)
    other = Counter({0: 10, 7: 10, 5: 4})
    assert style.js_distance(pcs, other) == pytest.approx(style.js_distance(other, pcs))
    assert 0 < style.js_distance(pcs, other) < 1


def shuffled(score: Any, seed: int = 0) -> Any:
    """Each part's notes in another order: the same pitches and rhythm, out of line."""
    out = copy.deepcopy(score)
    rng = np.random.default_rng(seed)
    for part in out.parts:
        part.stripTies(inPlace=True)
        notes = [n for n in part.recurse().notes if not n.isChord]
        pitches = [copy.deepcopy(n.pitch) for n in notes]
        for n, k in zip(notes, rng.permutation(len(notes)), strict=True):
            n.pitch = pitches[k]
    return out


def alto_out_of_key(score: Any) -> Any:
    """The alto a semitone higher, everything else as Bach wrote it."""
    out = copy.deepcopy(score)
    alto = next(p for p in out.parts if (p.partName or "").lower().startswith("alto"))
    for n in alto.recurse().notes:
        n.transpose(1, inPlace=True)
    return out


def test_bach_is_closer_to_his_chorales_than_his_notes_disordered_or_out_of_key(
        style, card) -> None:
    ref = style.reference([style.profile(parse_chorale(f"bach/{n}"), n)
                           for n in card["train"][:30]])
    name = card["test"][0]
    score = parse_chorale(f"bach/{name}")
    bach = style.distances(style.profile(score, name), ref)
    assert set(bach) == {*style.FEATURES, "total"}
    mixed = style.distances(style.profile(shuffled(score), name), ref)
    assert bach["total"] < mixed["total"]
    for feature in ("soprano", "alto", "tenor", "bass", "harmonic"):
        assert bach[feature] < mixed[feature], feature
    assert bach["duration"] == pytest.approx(mixed["duration"])  # the same rhythm
    sour = style.distances(style.profile(alto_out_of_key(score), name), ref)
    assert bach["total"] < sour["total"]
    assert bach["pitch"] < sour["pitch"] and bach["harmonic"] < sour["harmonic"]
    assert bach["alto"] == pytest.approx(sour["alto"])  # its intervals kept
