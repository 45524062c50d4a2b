"""One beat of the surface: the options each voice has there (hold, a figure, the given
melody), and the combinations of them that are offered — what the surface's rules judge
(composer/surface/rules.py) and its choice draws (composer/surface/choose.py)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from composer.chords import Chord
from composer.music import Pitch
from composer.planning.plan import Slot


@dataclass(frozen=True)
class Option:
    figure: int  # index into FIGURES, or GIVEN
    pitches: tuple[Pitch | None, ...]  # at each onset time of the slot
    struck: tuple[bool, ...]


@dataclass(frozen=True, eq=False)
class Beat:
    """One slot's candidates: options per voice, and the combinations offered."""

    slot: Slot
    times: tuple[Fraction, ...]  # where any option may strike, from the slot's start
    options: tuple[tuple[Option, ...], ...]  # per voice; option 0 holds (or is given)
    combos: np.ndarray  # int [n, V]: an option per voice; row 0 holds every voice
    midi: np.ndarray  # int16 [n, R, V]
    diatonic: np.ndarray  # int16 [n, R, V]
    struck: np.ndarray  # bool [n, R, V]
    figured: bool  # the voices may move within this beat
    chord: Chord | None = None  # what the checker hears on the block chord

    def take(self, keep: np.ndarray) -> Beat:
        k = np.flatnonzero(keep)
        return Beat(self.slot, self.times, self.options, self.combos[k], self.midi[k],
                    self.diatonic[k], self.struck[k], self.figured, self.chord)

    def figures(self, voice: int) -> np.ndarray:
        """int [n]: the figure voice takes in each combination."""
        return np.array([o.figure for o in self.options[voice]])[self.combos[:, voice]]
