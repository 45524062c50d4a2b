"""How figures divide the beat in each meter.

A quarter-note beat (2/4, 3/4, 4/4) is written on four sixteenth cells, as the chorales
were counted (`composer.surface.figures.FIGURES`). A half-note beat (2/2, 3/2, 4/2) takes
the same figures on the same grid scaled: four eighth cells, so a passing note is a
quarter, a run a quarter and two eighths, a suspension resolves on the second quarter —
as Bach's chorale in 3/2 (music21's bwv123.6) moves in quarters against its half notes.

A dotted-quarter beat (6/8, 9/8, 12/8) divides in three eighths, and its figures are the
compound ones a harmony teacher names (`COMPOUND_FIGURES`): the held dotted quarter; a
quarter and an eighth (long-short) whose eighth passes, neighbours, anticipates or skips
to a chord tone; three eighths running through a fourth or turning; a suspension held
for a quarter and resolving on the third eighth. Each is the quarter-beat figure of the
same name written long-short instead of in even eighths, spelled by the same function
(`figures.realize`), so that the two tables stay in the same order: a figure's index
means the same figure in either, and the quarter-beat counts score both
(`composer.surface.counts`: no chorale corpus of any size is in 6/8, so the compound
figures are weighed by the counts of their quarter-beat namesakes).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from composer.chords import Chord
from composer.music import Key, Meter, Pitch
from composer.surface.figures import CELLS, FIGURES, NAMES, BeatGrid, Figure, beat_grid, realize

_ = False
X = True
EIGHTHS = 3  # cells of a dotted-quarter beat

COMPOUND_FIGURES: tuple[Figure, ...] = (
    Figure("hold", (X, _, _), "the note lasts the dotted quarter"),
    Figure("passing", (X, _, X), "quarter and eighth: the eighth steps to the note between"
           " it and the next beat's, a third away"),
    Figure("upper-neighbour", (X, _, X), "quarter and eighth: the eighth is the step above,"
           " returning on the next beat"),
    Figure("lower-neighbour", (X, _, X), "quarter and eighth: the eighth is the step below,"
           " returning on the next beat"),
    Figure("anticipation", (X, _, X), "quarter and eighth: the eighth is the next beat's"
           " note, a step away, arriving early"),
    Figure("skip-up", (X, _, X), "quarter and eighth: the eighth leaps to the chord's next"
           " tone above"),
    Figure("skip-down", (X, _, X), "quarter and eighth: the eighth leaps to the chord's next"
           " tone below"),
    Figure("suspension", (_, _, X), "the previous beat's note held over for a quarter,"
           " dissonant, resolving down by step on the third eighth"),
    Figure("run", (X, X, X), "three eighths passing through a fourth to the next beat"),
    Figure("turn", (X, X, X), "three eighths: the note, the next beat's a step away, and"
           " its neighbour beyond, back on the beat"),
)
# The quarter-beat cells each eighth takes its pitch from: long-short figures keep the
# first half's note for two eighths; three-note figures keep their three notes.
_FROM_LONG_SHORT, _FROM_THREE = (0, 1, 2), (0, 2, 3)
assert tuple(f.name for f in COMPOUND_FIGURES) == NAMES  # one index, one figure


@dataclass(frozen=True)
class Division:
    """The grid a beat's figures are written on: `cells` equal cells, and the table."""

    cells: int
    figures: tuple[Figure, ...]

    @property
    def compound(self) -> bool:
        return self.figures is COMPOUND_FIGURES

    def realize(self, figure: str, prev: Pitch | None, this: Pitch, nxt: Pitch | None,
                chord: Chord, key: Key) -> tuple[Pitch, ...] | None:
        """The pitch of each cell of the beat (see `figures.realize`)."""
        cells = realize(figure, prev, this, nxt, chord, key)
        if cells is None or not self.compound:
            return cells
        strikes = sum(COMPOUND_FIGURES[NAMES.index(figure)].onsets)
        return tuple(cells[k] for k in (_FROM_THREE if strikes == 3 else _FROM_LONG_SHORT))

    def realize_each(self, prev: Pitch | None, this: Pitch, nxt: Pitch | None, chord: Chord,
                     key: Key) -> tuple[tuple[Pitch, ...] | None, ...]:
        """`realize` of every figure of the table, in its order: a voice is offered its
        every figure on a beat, so they are remembered together (one look-up, not one
        per figure)."""
        return _realize_each(self.compound, prev, this, nxt, chord, key)


@lru_cache(maxsize=1 << 14)
def _realize_each(compound: bool, prev: Pitch | None, this: Pitch, nxt: Pitch | None,
                  chord: Chord, key: Key) -> tuple[tuple[Pitch, ...] | None, ...]:
    grid = COMPOUND if compound else SIMPLE
    return tuple(grid.realize(f.name, prev, this, nxt, chord, key) for f in grid.figures)


SIMPLE = Division(CELLS, FIGURES)
COMPOUND = Division(EIGHTHS, COMPOUND_FIGURES)


def division(meter: Meter) -> Division | None:
    """How a beat of this meter divides for figures, or None where figures do not fill
    it (a beat of another length)."""
    if meter.compound:
        return COMPOUND if meter.beat_length == Fraction(3, 2) else None
    return SIMPLE if meter.beat_length in (1, 2) else None


def compound_as_quarters(midi: np.ndarray, onset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A grid of three eighth cells per beat rewritten as four cells per beat, so that
    `figures.classify_beats` reads a compound beat's figures by their quarter-beat
    namesakes: long-short (X _ X) as two eighths, three eighths (X X X) as an eighth
    and two sixteenths, a suspension resolving on the third eighth as one resolving on
    the half beat."""
    t = len(midi) // EIGHTHS * EIGHTHS
    m = midi[:t].reshape(-1, EIGHTHS, *midi.shape[1:])
    o = onset[:t].reshape(-1, EIGHTHS, *onset.shape[1:])
    third = np.where(o[:, 1], m[:, 1], m[:, 2])
    out_m = np.stack([m[:, 0], m[:, 0], third, m[:, 2]], axis=1)
    out_o = np.stack([o[:, 0], np.zeros_like(o[:, 0]), o[:, 1] | o[:, 2], o[:, 1] & o[:, 2]],
                     axis=1)
    return out_m.reshape(-1, *midi.shape[1:]), out_o.reshape(-1, *onset.shape[1:])


def meter_grid(lines: list[list[tuple[float, float, int | None, bool]]], meter: Meter,
               first_beat: float) -> BeatGrid | None:
    """Some voices' notes (as `figures.beat_grid` takes them) on four cells per beat of
    the meter — sixteenths of a quarter beat, eighths of a half-note beat, a compound
    beat's eighths as `compound_as_quarters` rewrites them — or None where figures do
    not fill its beats."""
    found = division(meter)
    if found is None:
        return None
    beat = float(meter.beat_length)
    grid = beat_grid(lines, meter.beats_per_bar, first_beat, beat, found.cells)
    if not found.compound:
        return grid
    midi, onset = compound_as_quarters(grid.midi, grid.onset)
    beats = len(midi) // CELLS
    return BeatGrid(midi, onset, np.arange(beats) * CELLS, grid.beat[:beats],
                    grid.beats_per_bar, grid.to_cadence[:beats])
