"""Where a line peaks: a single climax carried by the chain, its height drawn from the
mass of the pieces that peak there (a `single-climax` rule) or from the chorales' own
climaxes (a composed soprano, by default).

A chain that weighs each voicing given the one before has no idea of a whole line: left
to itself, a free soprano hovers within five or six pitches and strikes its highest note
again and again, where a chorale melody climbs to one climax a seventh to an octave and
more above its lowest note. So a soprano the chain writes gets, by default, a single
climax (composer/sample/form.py), at a height drawn from the chorales' own: how often
the training chorales' sopranos peak on each MIDI note, times how often they peak on
each degree of the scale (semitones above the tonic). Two independent counts rather than
one joint table: 290 melodies over some 12 notes and 12 degrees in every key would leave
most cells empty, and each factor is what a singer and a harmony teacher would each ask
of a climax (within the voice's reach; on a strong degree, the fifth or the octave more
than the leading tone). The tonic of a chorale is read as its bass's last note, where
every chorale closes. Only the model card's training split is counted (BWV number modulo
10 = 2..9), so that the held-out chorales stay held out.

The floor the line reaches down to is drawn with the climax, as one pair: each end
weighed as the chorales' climaxes and lowest notes, times how often a chorale melody
spans that many semitones from its lowest note to its highest. Drawn one after the other,
each end took its own likeliest note (in E minor a peak on D5, common in the chorales'
many G and D major melodies, over E4) and free sopranos spanned a median of 9 semitones,
where the chorales' melodies span an octave (most between a minor seventh and a tenth).

Where the climax stands is drawn with it: the line is cut into PLACES equal parts (by
slots; the chorales' melodies by notes) and the pair and the part are drawn together,
the part weighed as often as the training chorales' sopranos first strike their highest
note there. Left to the chain, a free soprano peaked at a median 0.6 of its line, late
and after a long climb, where the chorales' melodies peak at a median third of the way
and spend the rest of the line coming down from it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from composer.corpus import default_melody_index
from composer.errors import UnsatisfiableError
from composer.music import Key
from composer.sample.sampler import (
    Automaton,
    Chain,
    NoSolution,
    backward,
    product,
    single_climax_automaton,
)
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec

if TYPE_CHECKING:
    from composer.solve.candidates import Candidates


@lru_cache(maxsize=2)
def climax_counts(lowest: bool = False) -> tuple[dict[int, int], dict[int, int]]:
    """(MIDI note → sopranos peaking there, degree → sopranos peaking there) over the
    training chorales of the melody index; `lowest`: where they reach down to instead."""
    from composer.neural.data import split_of  # (the model card's split; numpy only)

    lines: dict[str, dict[str, tuple[int, ...]]] = {}
    for line in default_melody_index().lines:
        lines.setdefault(line.work, {})[line.voice] = line.midi
    heights: Counter[int] = Counter()
    degrees: Counter[int] = Counter()
    for work, voices in lines.items():
        soprano, bass = voices.get("soprano"), voices.get("bass")
        if not soprano or not bass or split_of(work) != "train":
            continue
        end = min(soprano) if lowest else max(soprano)
        heights[end] += 1
        degrees[(end - bass[-1]) % 12] += 1
    return dict(heights), dict(degrees)


@lru_cache(maxsize=1)
def span_counts() -> dict[int, int]:
    """Semitones from lowest to highest note → training chorales' sopranos spanning them."""
    from composer.neural.data import split_of

    spans: Counter[int] = Counter()
    for line in default_melody_index().lines:
        if line.voice == "soprano" and line.midi and split_of(line.work) == "train":
            spans[max(line.midi) - min(line.midi)] += 1
    return dict(spans)


PLACES = 5  # parts of a line the climax is placed in
FLOOR_TRIES = 24  # (climax, floor, place) triples tried before the climax is drawn alone


@lru_cache(maxsize=1)
def place_counts() -> np.ndarray:
    """int [PLACES]: the training chorales' sopranos whose highest note is first struck
    in each of PLACES equal parts of the line (by notes)."""
    from composer.neural.data import split_of

    out = np.zeros(PLACES, np.int64)
    for line in default_melody_index().lines:
        if line.voice == "soprano" and len(line.midi) > 1 and split_of(line.work) == "train":
            out[part_of(int(np.argmax(line.midi)), len(line.midi))] += 1
    return out


def part_of(i: int, n: int) -> int:
    """Which of PLACES equal parts of a line of n notes (or slots) the i-th falls in."""
    return min(i * PLACES // max(n - 1, 1), PLACES - 1)


def placed(line: Sequence[np.ndarray], h: int, place: int | None) -> list[np.ndarray]:
    """The line's heights, h read as too high (h + 1) outside part `place` of the line:
    with a single climax at h, struck there. None: anywhere."""
    if place is None:
        return list(line)
    return [np.where(y == h, h + 1, y) if part_of(t, len(line)) != place else y
            for t, y in enumerate(line)]


def climax_log_prior(key: Key, heights: np.ndarray, lowest: bool = False) -> np.ndarray:
    """float [H]: log P(a chorale soprano peaks at each MIDI height) in this key, up to a
    constant: add-one smoothed counts of the note times those of its degree above the
    tonic. `lowest`: that its lowest note is there."""
    by_note, by_degree = climax_counts(lowest)
    h = np.asarray(heights, np.int64)
    note = np.array([by_note.get(int(x), 0) + 1 for x in h], float)
    degree = np.array([by_degree.get(int(x - key.tonic.pc) % 12, 0) + 1 for x in h], float)
    return np.log(note) + np.log(degree)


def climax_automata(heights: Sequence[list[np.ndarray]], top: Sequence[int],
                    quiet: np.ndarray | None) -> list[Automaton]:
    """One single-climax automaton per voice, at its height; where `quiet`, the height is
    read as too high (the climax may not stand there)."""
    out = []
    for line, h in zip(heights, top, strict=True):
        if quiet is not None:
            line = [np.where(q & (y == h), h + 1, y) for y, q in zip(line, quiet, strict=True)]
        out.append(single_climax_automaton(line, h))
    return out


def floor_automaton(heights: Sequence[np.ndarray], low: int) -> Automaton:
    """A line that reaches down to `low`, at least once, and never below it."""
    labels = tuple(np.sign(np.asarray(h) - low).astype(np.intp)[None, :] + 1
                   for h in heights)  # 0 below, 1 at, 2 above the floor
    step = np.array([[-1, 1, 0], [-1, 1, 1]])
    return Automaton(0, np.array([False, True]), labels, (step,) * len(labels))


def climax_heights(spec: Spec, climaxes: Sequence[RuleUse], chain: Chain,
                   heights: Sequence[list[np.ndarray]], quiet: np.ndarray,
                   rng: np.random.Generator) -> tuple[int, ...]:
    """Each climax voice's height, drawn with probability ∝ the mass of the pieces that
    peak there once (jointly, over every combination of heights)."""
    if not heights:
        return ()
    options = [sorted({int(h) for y in line for h in y}) for line in heights]
    combos = list(itertools.product(*options))
    log_z = np.full(len(combos), -np.inf)
    for k, top in enumerate(combos):
        aut = climax_automata(heights, top, quiet)
        automaton = product(*aut)
        try:
            log_z[k] = backward(chain, automaton=automaton,
                                temperature=spec.temperature).log_z
        except NoSolution:
            continue
    if not np.isfinite(log_z).any():
        backward(chain, temperature=spec.temperature)  # NoSolution: the rules alone fail
        names = " and ".join(f"{u.place}rule {u.describe()}" for u in climaxes)
        raise UnsatisfiableError(f"{names}: no line the other rules (and the form's repeats)"
                                 " allow strikes its highest note only once",
                                 ("single-climax",))
    p = np.exp(log_z - log_z.max())
    return combos[int(rng.choice(len(combos), p=p / p.sum()))]


def shaped_climax(spec: Spec, voice: str, cands: Candidates, chain: Chain,
                  heights: list[list[np.ndarray]], top: tuple[int, ...], quiet: np.ndarray,
                  rng: np.random.Generator, floored: bool = True
                  ) -> tuple[list[list[np.ndarray]], tuple[int, ...], list[Automaton]]:
    """The lines and climax heights with the default climax of `voice` added, struck in
    the part of the line drawn with it, and the floor it reaches down to: the triple
    drawn from the chorales' (`range_log_prior`, `place_counts`) among those the chain
    can keep beside the other climaxes; the climax and its place alone (drawn from
    `climax_log_prior`) where no floor fits within FLOOR_TRIES, or unless `floored`; the
    climax anywhere where no place fits either; none where the chain can keep no climax."""
    line = [f.midi[:, spec.voices.index(voice)].astype(np.int64) for f in cands.frames]
    options = np.unique(np.concatenate(line)) if line else np.zeros(0, np.int64)
    kept: dict[tuple[int, int | None], bool] = {}  # (climax, place) → the chain keeps it

    def keeps(h: int, place: int | None) -> list[list[np.ndarray]] | None:
        lines = [*heights, placed(line, h, place)]
        if kept.setdefault((h, place),
                           holds(spec, chain, climax_automata(lines, (*top, h), quiet))):
            return lines
        return None

    for h, low, place in drawn_ranges(spec.key, options, rng)[:FLOOR_TRIES] if floored else ():
        lines = keeps(h, place)
        if lines is not None:
            floor = [floor_automaton(line, low)]
            if holds(spec, chain, [*climax_automata(lines, (*top, h), quiet), *floor]):
                return lines, (*top, h), floor
    drawn: list[tuple[int, int | None]] = [*drawn_places(spec.key, options, rng)[:FLOOR_TRIES],
                                           *((h, None) for h in drawn_heights(
                                               spec.key, options, False, rng))]
    for h, where in drawn:
        if kept.get((h, None), True):
            lines = keeps(h, where)
            if lines is not None:
                return lines, (*top, h), []
    return heights, top, []


def range_log_prior(key: Key, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """float [N]: log P(a chorale soprano peaks at `high` and reaches down to `low`), up
    to a constant: each end weighed as the chorales' climaxes and lowest notes are
    (`climax_log_prior`), times how often a chorale melody spans the semitones between."""
    spans = span_counts()
    span = np.log([spans.get(int(a - b), 0) + 1.0 for a, b in zip(high, low, strict=True)])
    return climax_log_prior(key, high) + climax_log_prior(key, low, True) + span


def drawn_ranges(key: Key, options: np.ndarray, rng: np.random.Generator
                 ) -> list[tuple[int, int, int]]:
    """Every (climax, floor, place) of the options, floor below climax, in the order of a
    draw without replacement in the odds of `range_log_prior` times `place_counts`."""
    high, low = np.meshgrid(options, options, indexing="ij")
    high, low = high[high > low], low[high > low]
    place = np.repeat(np.arange(PLACES), len(high))
    high, low = np.tile(high, PLACES), np.tile(low, PLACES)
    odds = range_log_prior(key, high, low) + np.log(place_counts() + 1.0)[place]
    order = np.argsort(-(odds + rng.gumbel(size=len(high))))
    return [(int(high[i]), int(low[i]), int(place[i])) for i in order]


def drawn_places(key: Key, options: np.ndarray, rng: np.random.Generator
                 ) -> list[tuple[int, int]]:
    """Every (climax, place) of the options, in the order of a draw without replacement
    in the odds of `climax_log_prior` times `place_counts`."""
    place = np.repeat(np.arange(PLACES), len(options))
    high = np.tile(options, PLACES)
    odds = climax_log_prior(key, high) + np.log(place_counts() + 1.0)[place]
    order = np.argsort(-(odds + rng.gumbel(size=len(high))))
    return [(int(high[i]), int(place[i])) for i in order]


def drawn_heights(key: Key, options: np.ndarray, lowest: bool, rng: np.random.Generator
                  ) -> list[int]:
    """The options in the order of a draw without replacement, in the prior's odds."""
    order = np.argsort(-(climax_log_prior(key, options, lowest)
                         + rng.gumbel(size=len(options))))
    return [int(x) for x in options[order]]


def holds(spec: Spec, chain: Chain, automata: Sequence[Automaton]) -> bool:
    try:
        backward(chain, automaton=product(*automata), temperature=spec.temperature)
    except NoSolution:
        return False
    return True
