"""The music as a chain of onset slices, and the compact arrays the rules run on.

A `Texture` is what both the checker and the composer hand to the rules: one `Slice` at
every onset in any voice, each with its bar and beat, the sounding pitch of every voice,
which voices strike a new note there, and the chord and key in force. `Frame` packs a
batch of slices into numpy arrays so that a rule judges thousands of slices (or of
candidate voicings, for the solver) in one vectorised call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from composer.chords import Chord
from composer.music import Key, Meter, Pitch, Position

REST = -1


@dataclass(frozen=True)
class Voicing:
    """One pitch (or a rest, None) per voice at one moment, top voice first."""

    pitches: tuple[Pitch | None, ...]


@dataclass(frozen=True)
class Slice:
    offset: float  # quarter notes from the start
    duration: float
    position: Position
    voicing: Voicing
    attacks: tuple[bool, ...]  # which voices strike a new note here
    key: Key  # the key in force (the home key unless the music has modulated)
    chord: Chord | None = None
    harmonic: bool = True  # this slice begins a harmonic slot (a beat)
    fermata: bool = False


# Chord-tone roles in the frame's role table (0: not a chord tone).
ROLE_CODES = {"root": 1, "third": 2, "fifth": 3, "seventh": 4}


def leading_tone_of(chord: Chord, key: Key) -> int:
    """The pitch class that must rise a semitone, or -1: the third of V and of every V7
    (secondary dominants too), the root of vii° and of every diminished seventh."""
    q, root = chord.quality, chord.root.pc
    if q == "dominant-seventh" or (q == "major" and root == key.degree(5).pc):
        return chord.tones[1].pc
    if q == "diminished-seventh" or (
        q in ("diminished", "half-diminished-seventh") and root == key.leading_tone.pc
    ):
        return root
    return REST


@dataclass(frozen=True, eq=False)
class Frame:
    """A batch of slices as arrays: rows are slices (or candidates), columns are voices."""

    midi: np.ndarray  # int16 [n, v]; REST where silent
    diatonic: np.ndarray  # int16 [n, v]
    attacks: np.ndarray  # bool [n, v]
    roles: np.ndarray  # int8 [n, 12]: ROLE_CODES of each pitch class in the chord
    leading: np.ndarray  # int8 [n]: the chord's leading tone, or REST
    root: np.ndarray  # int8 [n]: the chord's root, or REST when unknown
    columns: tuple[int, ...]  # which voices of the texture the columns are
    rows: np.ndarray  # int32 [n]: which slice of the texture each row comes from
    harmonic: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool [n]

    def __len__(self) -> int:
        return int(self.midi.shape[0])

    @property
    def sounding(self) -> np.ndarray:
        return self.midi != REST

    def pitch(self, row: int, col: int) -> Pitch | None:
        m = int(self.midi[row, col])
        return None if m == REST else Pitch(m, int(self.diatonic[row, col]))

    def take(self, index: np.ndarray | slice, columns: list[int] | None = None) -> Frame:
        """The rows at index (and optionally only some voice columns)."""
        if not isinstance(index, slice):
            index = np.asarray(index)
            index = np.flatnonzero(index) if index.dtype == bool else index
        # np.take gathers several times faster than indexing with an array.
        out = self.map_rows(lambda x: x[index] if isinstance(index, slice)
                            else np.take(x, index, axis=0))
        if columns is None:
            return out
        return replace(out, midi=out.midi[:, columns], diatonic=out.diatonic[:, columns],
                       attacks=out.attacks[:, columns],
                       columns=tuple(self.columns[c] for c in columns))

    def map_rows(self, fn: Callable[[np.ndarray], np.ndarray]) -> Frame:
        """The frame with fn applied to each of its arrays of rows (rows on axis 0)."""
        return Frame(fn(self.midi), fn(self.diatonic), fn(self.attacks), fn(self.roles),
                     fn(self.leading), fn(self.root), self.columns, fn(self.rows),
                     fn(self.harmonic))

    @staticmethod
    def concat(frames: list[Frame]) -> Frame:
        """Row-wise union of frames over the same voice columns."""
        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(f, name) for f in frames])

        return Frame(joined("midi"), joined("diatonic"), joined("attacks"), joined("roles"),
                     joined("leading"), joined("root"), frames[0].columns, joined("rows"),
                     joined("harmonic"))


def chord_arrays(chords: Sequence[Chord | None], keys: Sequence[Key]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The role table, leading tone and root of each chord, for a Frame."""
    n = len(chords)
    roles = np.zeros((n, 12), np.int8)
    leading = np.full(n, REST, np.int8)
    root = np.full(n, REST, np.int8)
    cache: dict[tuple[Chord, Key], tuple[np.ndarray, int]] = {}
    for i, (chord, key) in enumerate(zip(chords, keys, strict=True)):
        if chord is None:
            continue
        hit = cache.get((chord, key))
        if hit is None:
            row = np.zeros(12, np.int8)
            for role, tone in zip(ROLE_CODES.values(), chord.tones, strict=False):
                row[tone.pc] = role
            hit = cache[(chord, key)] = (row, leading_tone_of(chord, key))
        roles[i], leading[i] = hit
        root[i] = chord.root.pc
    return roles, leading, root


@dataclass(frozen=True, eq=False)
class Texture:
    """A whole piece or exercise as onset slices: what the checker grades."""

    voices: tuple[str, ...]  # top voice first
    key: Key
    meter: Meter
    slices: tuple[Slice, ...]
    title: str = ""

    @cached_property
    def frame(self) -> Frame:
        n, v = len(self.slices), len(self.voices)
        midi = np.full((n, v), REST, np.int16)
        diatonic = np.zeros((n, v), np.int16)
        for i, s in enumerate(self.slices):
            for j, p in enumerate(s.voicing.pitches):
                if p is not None:
                    midi[i, j], diatonic[i, j] = p.midi, p.diatonic
        attacks = np.array([s.attacks for s in self.slices], bool).reshape(n, v)
        roles, leading, root = chord_arrays(
            [s.chord for s in self.slices], [s.key for s in self.slices]
        )
        harmonic = np.array([s.harmonic for s in self.slices], bool)
        return Frame(midi, diatonic, attacks, roles, leading, root, tuple(range(v)),
                     np.arange(n, dtype=np.int32), harmonic)

    @cached_property
    def segments(self) -> tuple[np.ndarray, ...]:
        """For each voice, the slice indices where its melodic line has a new event: a
        struck note or rest, or a held note entering a new harmonic slot (where a
        suspension becomes dissonant)."""
        f = self.frame
        out = []
        for j in range(len(self.voices)):
            new = f.attacks[:, j] | f.harmonic
            new[1:] |= f.midi[1:, j] != f.midi[:-1, j]
            if len(new):
                new[0] = True
            out.append(np.flatnonzero(new).astype(np.int32))
        return tuple(out)

    def line(self, voice: int) -> Frame:
        """One voice's successive events as a one-column frame (see `segments`)."""
        return self.frame.take(self.segments[voice], [voice])
