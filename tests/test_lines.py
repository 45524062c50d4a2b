"""The lines of free pieces against the chorales' (real data both sides): the soprano's
range and steps, a single climax by default, the bass's leaps; and the counts behind them."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from composer.corpus import default_melody_index
from composer.music import Key
from composer.neural.data import split_of
from composer.neural.scorer import default_scorer
from composer.pipeline import compose
from composer.sample.contour import climax_counts, climax_log_prior
from composer.sample.lines import LinedScorer, lined
from composer.sample.scorer import StatisticalScorer
from composer.spec.load import load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "constraints" / "examples"
FREE = ("chorale-d-major", "waltz-3-4", "minor-aaba")
SEEDS = range(4)


def shares(midi: list[int]) -> dict[str, float]:
    steps = np.abs(np.diff(midi))
    return {"range": float(max(midi) - min(midi)),
            "step": float(((steps >= 1) & (steps <= 2)).mean()),
            "leap": float((steps >= 5).mean()),
            "peaks": float(midi.count(max(midi)))}


@cache
def bach(voice: str) -> dict[str, np.ndarray]:
    """Per training chorale, the shares of one voice's struck notes."""
    rows = [shares(list(line.midi)) for line in default_melody_index().lines
            if line.voice == voice and split_of(line.work) == "train" and len(line.midi) > 8]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


@cache
def ours(climax: str = "single") -> dict[str, dict[str, np.ndarray]]:
    """Per free piece (examples × seeds, the shipped model), the shares of its written
    soprano and bass."""
    out: dict[str, list[dict[str, float]]] = {"soprano": [], "bass": []}
    for name in FREE:
        spec = replace(load_spec(EXAMPLES / f"{name}.yaml"), climax=climax)
        for seed in SEEDS:
            comp = compose(replace(spec, seed=seed))
            for voice in out:
                line = comp.notes[voice]
                out[voice].append(shares([n.pitch.midi for n in line if n.pitch is not None]))
    return {v: {k: np.array([r[k] for r in rows]) for k in rows[0]} for v, rows in out.items()}


def test_free_soprano_has_a_chorale_melodys_range_and_steps():
    for feature in ("range", "step"):
        low, high = np.percentile(bach("soprano")[feature], [10, 90])
        median = float(np.median(ours()["soprano"][feature]))
        assert low <= median <= high, (feature, median, low, high)


def test_free_soprano_strikes_its_climax_once_by_default():
    assert (ours()["soprano"]["peaks"] == 1).all()
    # `climax: free` lets the chain peak as often as it falls: some piece peaks again
    assert (ours("free")["soprano"]["peaks"] > 1).any()


def test_free_bass_leaps_about_as_often_as_bachs():
    bachs = float(np.median(bach("bass")["leap"]))
    mine = float(np.median(ours()["bass"]["leap"]))
    assert bachs / 1.25 <= mine <= 1.25 * bachs, (mine, bachs)


def test_climaxes_are_counted_on_the_training_chorales_only():
    by_note, by_degree = climax_counts()
    works = {line.work for line in default_melody_index().lines if split_of(line.work) == "train"}
    assert sum(by_note.values()) == sum(by_degree.values()) <= len(works)
    assert sum(by_note.values()) > 250
    # a chorale melody peaks on D5 far more often than on D4, and in D major on the tonic
    # or the fifth more often than on the leading tone
    prior = climax_log_prior(Key.parse("D major"), np.array([62, 74, 73, 81]))
    assert prior[1] > prior[0] and prior[1] > prior[2] and prior[3] > prior[2]


@pytest.mark.parametrize("scorer", [default_scorer(), StatisticalScorer.from_corpus(
    ("soprano", "alto", "tenor", "bass"))], ids=["model", "none"])
def test_the_shipped_scorers_have_line_weights(scorer):
    mended = lined(scorer)
    assert isinstance(mended, LinedScorer) and lined(mended) is mended
    # what the fit learned: the bass repeats its note less than the chain alone would
    bass = mended.weights.interval[3]
    assert bass[12] < max(bass[11], bass[13])
