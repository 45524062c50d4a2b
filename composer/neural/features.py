"""What the network sees, as integer arrays: the same code serves training (from the
corpus's beat tables) and composing (from the sampler's frames and slot), so both see
exactly the same conditioning. Numpy only.

Pitches are counted from the local tonic (MIDI note minus the tonic's pitch class), so
that a progression learnt in one key serves all twelve; each voice reads them through
its own window of WIDTH notes around its standard range (a note beyond it, as a spec
with much wider ranges may offer, reads as the window's edge).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from composer.music import SATB, Pitch
from composer.rules.vertical import STANDARD_RANGES
from composer.texture import REST

WIDTH = 40  # notes per voice window
REST_TOKEN = WIDTH  # a rest: the last output class
START = WIDTH + 1  # no note known: before the first beat, or a voice not yet chosen
VOCAB = WIDTH + 2
# Each window starts 15 semitones below the voice's standard range: the tonic may lie
# up to 11 below a note, and transposed pieces may stray a tone out of range.
LOW = np.array([Pitch.parse(STANDARD_RANGES[v][0]).midi - 15 for v in SATB])
MAX_COUNT = 8  # beats since the phrase began and beats to the cadence: 0..7, 8 or more
CADENCES = ("authentic", "half", "plagal", "deceptive", "other")
ROLE_VALUES = 5  # role codes 0 (not in the chord), root, third, fifth, seventh
# How many values each field of a beat's place takes; the value one past the last
# stands for "not known" (see PlanArrays.without_place).
PLACE_VALUES = {"beat": 4, "meter": 3, "phrase_beat": MAX_COUNT + 1,
                "to_cadence": MAX_COUNT + 1, "fermata": 2, "cadence": len(CADENCES)}


def tokens(midi: np.ndarray, tonic: np.ndarray | int) -> np.ndarray:
    """int64 [N, 4] window index of each voice's note (clipped to the window) or
    REST_TOKEN; `tonic` is [N] (or a scalar) pitch classes."""
    rel = midi.astype(np.int64) - np.asarray(tonic, np.int64).reshape(-1, 1) - LOW
    return np.where(midi == REST, REST_TOKEN, np.clip(rel, 0, WIDTH - 1))


def pitches(tonic: int) -> np.ndarray:
    """int64 [4, WIDTH]: the MIDI note of each window index of each voice."""
    return LOW[:, None] + tonic + np.arange(WIDTH)[None, :]


def relative_roles(roles: np.ndarray, tonic: np.ndarray | int) -> np.ndarray:
    """int64 [N, 12]: role codes by pitch class counted from the tonic."""
    tonic = np.asarray(tonic, np.int64).reshape(-1, 1)
    return roles[np.arange(len(roles))[:, None], (np.arange(12)[None, :] + tonic) % 12
                 ].astype(np.int64)


@dataclass(frozen=True, eq=False)
class PlanArrays:
    """Where each beat stands, one row per beat, all int64 [N] (roles [N, 12])."""

    roles: np.ndarray  # the chord, relative to the tonic
    tonic: np.ndarray
    minor: np.ndarray
    beat: np.ndarray  # beat in bar from 0, 3 for the fourth and later
    meter: np.ndarray  # 0: two beats a bar, 1: three, 2: four or more
    phrase_beat: np.ndarray  # clipped to MAX_COUNT
    to_cadence: np.ndarray  # clipped to MAX_COUNT
    fermata: np.ndarray
    cadence: np.ndarray  # index into CADENCES

    @classmethod
    def build(cls, roles: np.ndarray, tonic, minor, beat, beats_per_bar, phrase_beat,
              to_cadence, fermata, cadence) -> PlanArrays:
        n = len(roles)

        def col(x) -> np.ndarray:
            return np.broadcast_to(np.asarray(x, np.int64), (n,)).copy()

        return cls(relative_roles(roles, col(tonic)), col(tonic), col(minor),
                   np.clip(col(beat) - 1, 0, 3), np.clip(col(beats_per_bar) - 2, 0, 2),
                   np.clip(col(phrase_beat), 0, MAX_COUNT), np.clip(col(to_cadence), 0,
                                                                    MAX_COUNT),
                   col(fermata), col(cadence))

    def without_place(self) -> PlanArrays:
        """Chord and key alone: what a beat's voicing is scored by on its own."""
        return replace(self, **{f: np.full_like(getattr(self, f), n)
                                for f, n in PLACE_VALUES.items()})

    def take(self, index: np.ndarray) -> PlanArrays:
        return PlanArrays(*(getattr(self, f)[index] for f in self.__dataclass_fields__))
