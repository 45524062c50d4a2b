"""Fitting the line weights (composer/sample/lines.py) by iterative scaling.

    python -m composer.sample.linefit            # writes models/line-weights.json

The target: each voice's directed intervals between struck notes, and the heights of
those notes, over the model card's training chorales (BWV number modulo 10 = 2..9), from
the melody index (`composer.corpus`). The drafts: free pieces composed from FIT_SPECS —
keys, meters and forms of their own, not the example specs the benchmarks measure —
seeds 0..SEEDS-1, figures and all, counted on the notes they write, with the weights so
far. The weights act on the chain's notes, one per slot, while what is heard (and
counted) is the written line, figures included: so the fit asks of the chain whatever
makes the written lines come out as the chorales', and each round adds
STEP × log(P_chorales / P_drafts) per voice and bin (both counts with half a count added
wherever either has one, so that a bin the drafts never reach moves by a bounded
amount), clipped to ±LIMIT.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from composer.content import content_dir
from composer.sample.lines import HEIGHTS, LINES_FILE, SPAN, VOICES, LinedScorer, LineWeights
from composer.sample.scorer import Scorer

ROUNDS = 6
SEEDS = 6
STEP = 0.5  # half a step: the interval and height weights act on each other, and a full
# step of each overshoots (the drafts moved away from the target in a trial)
LIMIT = 4.0  # no bin weighs more than e^4 either way: a bin seen once cannot run away
FIT_SPECS = (  # (key, meter, bars, form): free pieces unlike the examples
    ("C major", "4/4", 12, "chorale"), ("G major", "3/4", 16, "binary"),
    ("F major", "4/4", 8, "chorale"), ("Bb major", "4/4", 16, "aaba"),
    ("E minor", "4/4", 12, "chorale"), ("D minor", "3/4", 16, "binary"),
    ("G minor", "4/4", 8, "chorale"), ("A major", "4/4", 16, "ternary"),
)

Counts = tuple[np.ndarray, np.ndarray]  # [4, 2 * SPAN + 1] intervals, [4, HEIGHTS]


def _add(total: Counts, voice: int, midi: Sequence[int]) -> None:
    """Count one voice's struck notes (a rest between two notes does not break it)."""
    line = np.asarray(midi, np.int64)
    np.add.at(total[0][voice], np.clip(np.diff(line), -SPAN, SPAN) + SPAN, 1)
    np.add.at(total[1][voice], np.clip(line, 0, HEIGHTS - 1), 1)


def chorale_counts() -> Counts:
    """The training chorales' struck notes, counted."""
    from composer.corpus import default_melody_index
    from composer.neural.data import split_of

    total = (np.zeros((4, 2 * SPAN + 1)), np.zeros((4, HEIGHTS)))
    for line in default_melody_index().lines:
        if line.voice in VOICES and split_of(line.work) == "train":
            _add(total, VOICES.index(line.voice), line.midi)
    return total


def draft_counts(scorer: Scorer, seeds: int = SEEDS) -> Counts:
    """The written notes of the chain's drafts of FIT_SPECS under `scorer`, counted."""
    from composer.errors import PartimentoError
    from composer.pipeline import compose
    from composer.spec.load import spec_from_text

    total = (np.zeros((4, 2 * SPAN + 1)), np.zeros((4, HEIGHTS)))
    for key, meter, bars, form in FIT_SPECS:
        spec = spec_from_text(f"key: {key}\nmeter: {meter}\nbars: {bars}\nform: {form}\n"
                              "rules: {include: [common-practice]}\n")
        for seed in range(seeds):
            try:
                comp = compose(replace(spec, seed=seed), scorer)
            except PartimentoError:
                continue
            for v, name in enumerate(VOICES):
                _add(total, v, [n.pitch.midi for n in comp.notes[name] if n.pitch is not None])
    return total


def _log_ratio(target: np.ndarray, drafts: np.ndarray) -> np.ndarray:
    """Per voice, log(P_target / P_drafts) where either has a count, else 0."""
    seen = (target + drafts) > 0
    p = np.where(seen, target + 0.5, 0) / np.where(seen, target + 0.5, 0).sum(1, keepdims=True)
    q = np.where(seen, drafts + 0.5, 0) / np.where(seen, drafts + 0.5, 0).sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seen, np.log(p) - np.log(q), 0.0)


def distance(target: Counts, drafts: Counts) -> float:
    """The mean total-variation distance over the voices' interval distributions."""
    p = target[0] / target[0].sum(1, keepdims=True)
    q = drafts[0] / drafts[0].sum(1, keepdims=True)
    return float(np.abs(p - q).sum(1).mean() / 2)


def fit(scorer: Scorer, target: Counts, rounds: int = ROUNDS, seeds: int = SEEDS,
        say: Callable[[str], None] = print) -> tuple[LineWeights, list[float]]:
    """The weights after `rounds` of iterative scaling, averaged over the second half of
    the rounds (each round's drafts are a sample: the average steadies what their noise
    moves), and the interval distance of the drafts before each round and with the
    averaged weights."""
    weights, trace, kept = LineWeights.zero(), [], []
    for r in range(rounds):
        drafts = draft_counts(LinedScorer(scorer, weights), seeds)
        trace.append(distance(target, drafts))
        say(f"round {r}: interval distance {trace[-1]:.3f}")
        weights = LineWeights(
            np.clip(weights.interval + STEP * _log_ratio(target[0], drafts[0]), -LIMIT, LIMIT)
            .astype(np.float32),
            np.clip(weights.height + STEP * _log_ratio(target[1], drafts[1]), -LIMIT, LIMIT)
            .astype(np.float32))
        if r >= rounds // 2:
            kept.append(weights)
    weights = LineWeights(np.mean([w.interval for w in kept], axis=0).astype(np.float32),
                          np.mean([w.height for w in kept], axis=0).astype(np.float32))
    trace.append(distance(target, draft_counts(LinedScorer(scorer, weights), seeds)))
    say(f"averaged: interval distance {trace[-1]:.3f}")
    return weights, trace


def main(argv: list[str]) -> int:
    from composer.music import SATB
    from composer.neural.scorer import default_scorer
    from composer.sample.scorer import StatisticalScorer

    target = chorale_counts()
    scorers: dict[str, Scorer] = {"chorale": default_scorer(),
                                  "none": StatisticalScorer.from_corpus(SATB)}
    out, traces = {}, {}
    for name, scorer in scorers.items():
        print(f"fitting the line weights of {name}", file=sys.stderr)
        weights, traces[name] = fit(scorer, target,
                                    say=lambda s: print(s, file=sys.stderr))
        out[name] = weights.to_json()
    data = {"command": "python -m composer.sample.linefit",
            "date": datetime.date.today().isoformat(),
            "target": "the struck notes of the model card's training chorales",
            "drafts": f"{len(FIT_SPECS)} free specs × seeds 0–{SEEDS - 1}, {ROUNDS} rounds",
            "interval_distance_by_round": traces, "scorers": out}
    path = content_dir("models") / LINES_FILE
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
