"""The chorales as the figure network's data: every voice on every beat, its figure as
`classify_beats` labels it (what `composer.surface.counts` counts), and the places
around it as composing sees them — the chord tones of the beats (a suspension's
resolution, as a voicing gives it), the chords and local key of the chorale's analysis
(`composer.neural.data`, cached), the place in the bar and the phrase. Numpy only.

Only chorales whose beat is a quarter note are read, as the counts do; a figure the
vocabulary has no name for ("other") or a silent voice is never a target, but is what
the voices below see of that voice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.neural.data import Chorale
from composer.neural.features import relative_roles
from composer.neural.surface_net import context_fields, other_fields
from composer.surface.counts import SHAPE
from composer.surface.figures import (
    CELLS,
    NAMES,
    Around,
    FigurePlaces,
    classify_beats,
    skeleton,
)
from composer.texture import REST


@dataclass(frozen=True, eq=False)
class SurfaceExamples:
    """One row per (beat, voice) whose figure is in the vocabulary."""

    context: np.ndarray  # int64 [N, len(CONTEXT)]
    others: np.ndarray  # int64 [N, VOICES]: Bach's figures of the voices above
    target: np.ndarray  # int64 [N]: index into FIGURES
    classes: tuple[np.ndarray, ...]  # the counts' context classes of each row

    def __len__(self) -> int:
        return len(self.target)


def quarter_beats(chorale: Chorale) -> bool:
    """The chorale's beats are quarter notes on the grid (some beat follows another a
    quarter later), as the figures are written."""
    d: np.ndarray = np.diff(chorale.beats.cell.astype(np.int64))
    return len(d) > 0 and not (d % CELLS).any() and int(d.min()) == CELLS \
        and chorale.grid.midi.shape[1] == 4


def chorale_places(chorale: Chorale) -> tuple[FigurePlaces, np.ndarray]:
    """Every voice of every analysed beat as a place (voices fastest), and its LABELS
    index; the beats' figures in `Around.others`."""
    midi = chorale.grid.midi.astype(np.int64)
    onset = chorale.grid.onset
    b = chorale.beats
    cell = b.cell.astype(np.int64)
    starts = np.arange(cell[0] % CELLS, len(midi), CELLS)
    labels = classify_beats(midi, onset, starts).astype(np.int64)
    skel = skeleton(midi, starts, labels)
    at = (cell - starts[0]) // CELLS
    rest = np.full((1, skel.shape[1]), REST)
    padded = np.vstack([rest, skel, rest])
    this, prev, nxt = padded[at + 1], padded[at], padded[at + 2]
    # The next beat's chord: the next row's if it starts a beat later, else held.
    follows = np.append(np.diff(cell) == CELLS, False)
    later = np.minimum(np.arange(len(cell)) + 1, len(cell) - 1)
    nxt_row = np.where(follows, later, np.arange(len(cell)))
    tonic = b.tonic.astype(np.int64)
    v = skel.shape[1]

    def each(x: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(x), v, axis=0)

    around = Around(each(this), each(nxt), each(relative_roles(b.roles, tonic)),
                    each(relative_roles(b.roles[nxt_row], tonic)), each(tonic),
                    each(b.minor.astype(np.int64)), each(b.phrase_beat),
                    each(b.fermata.astype(np.int64)),
                    each((b.fermata[nxt_row] & follows).astype(np.int64)),
                    each(labels[at]))
    places = FigurePlaces(np.tile(np.arange(v), len(cell)), prev.reshape(-1),
                          this.reshape(-1), nxt.reshape(-1), each(b.beat.astype(np.int64) - 1),
                          each(b.beats_per_bar.astype(np.int64)),
                          each(b.beats_to_cadence.astype(np.int64)), around=around)
    return places, labels[at].reshape(-1)


def surface_examples(chorales: Sequence[Chorale]) -> SurfaceExamples:
    """The rows of these chorales (those with quarter-note beats)."""
    parts = []
    for ch in chorales:
        if not quarter_beats(ch):
            continue
        places, labels = chorale_places(ch)
        assert places.around is not None
        keep = labels < len(NAMES)
        parts.append((context_fields(places)[keep],
                      other_fields(places.voice, places.around.others)[keep], labels[keep],
                      tuple(c[keep] for c in places.classes())))
    return SurfaceExamples(np.concatenate([p[0] for p in parts]),
                           np.concatenate([p[1] for p in parts]),
                           np.concatenate([p[2] for p in parts]),
                           tuple(np.concatenate([p[3][i] for p in parts])
                                 for i in range(len(parts[0][3]))))


def figure_counts(chorales: Sequence[Chorale]) -> np.ndarray:
    """The counts of `composer.surface.counts` (SHAPE) from these chorales' places,
    every label included: the statistical scorer of the same training chorales."""
    counts = np.zeros(SHAPE, np.int64)
    for ch in chorales:
        if quarter_beats(ch):
            places, labels = chorale_places(ch)
            np.add.at(counts, (*places.classes(), labels), 1)
    return counts


__all__ = ["SurfaceExamples", "chorale_places", "figure_counts", "quarter_beats",
           "surface_examples"]
