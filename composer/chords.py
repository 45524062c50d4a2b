"""Chords: the table of qualities (triads, sevenths, augmented sixths) and the spelled
chord built on a root, with its roman numeral in a key. Frozen values, shared by every
stage."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from composer.music import Key, PitchClass, accidental


@dataclass(frozen=True)
class Quality:
    """One row of the chord table: the intervals above the root, as (steps, semitones)."""

    name: str
    tones: tuple[tuple[int, int], ...]  # third, fifth[, seventh]
    symbol: str  # appended to the roman numeral: 'o', '+', '7', 'ø7', 'o7'
    upper: bool  # roman numeral in capitals
    label: str = ""  # its whole name, whatever its degree and inversion: 'It+6'
    bass: int | None = None  # which tone it is heard over, if only one (0 root, 1 third…)


QUALITIES: dict[str, Quality] = {q.name: q for q in (
    Quality("major", ((2, 4), (4, 7)), "", True),
    Quality("minor", ((2, 3), (4, 7)), "", False),
    Quality("diminished", ((2, 3), (4, 6)), "o", False),
    Quality("augmented", ((2, 4), (4, 8)), "+", True),
    Quality("dominant-seventh", ((2, 4), (4, 7), (6, 10)), "7", True),
    Quality("major-seventh", ((2, 4), (4, 7), (6, 11)), "M7", True),
    Quality("minor-seventh", ((2, 3), (4, 7), (6, 10)), "7", False),
    Quality("half-diminished-seventh", ((2, 3), (4, 6), (6, 10)), "ø7", False),
    Quality("diminished-seventh", ((2, 3), (4, 6), (6, 9)), "o7", False),
    # The augmented sixths, heard only over the lowered sixth degree (A-flat in C minor),
    # each rooted so that the rules treat its tones as they must move: the bass is the
    # tone that may be left out (it is always there), a seventh falls (E-flat, C).
    Quality("italian-sixth", ((3, 6), (5, 8)), "", False, "It+6", 2),  # C F# Ab
    Quality("french-sixth", ((2, 4), (4, 6), (6, 10)), "", False, "Fr+6", 2),  # D F# Ab C
    Quality("german-sixth", ((2, 2), (4, 6), (6, 9)), "", False, "Ger+6", 1),  # F# Ab C Eb
)}


@cache
def _chord_tones(root: PitchClass, quality: str) -> tuple[PitchClass, ...]:
    """Cached: a pure function of a few hundred chords, asked for in every slot."""
    return (root, *(root.up(s, c) for s, c in QUALITIES[quality].tones))


@cache
def _chord_pcs(root: PitchClass, quality: str) -> frozenset[int]:
    return frozenset(t.pc for t in _chord_tones(root, quality))


ROLES = ("root", "third", "fifth", "seventh")


_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


_INVERSION_FIGURES = {3: ("", "6", "64"), 4: ("7", "65", "43", "42")}


@dataclass(frozen=True)
class Chord:
    root: PitchClass
    quality: str

    @property
    def tones(self) -> tuple[PitchClass, ...]:
        """Root, third, fifth and (for seventh chords) seventh, spelled."""
        return _chord_tones(self.root, self.quality)

    @property
    def pcs(self) -> frozenset[int]:
        return _chord_pcs(self.root, self.quality)

    @property
    def is_seventh(self) -> bool:
        return len(self.tones) == 4

    def role(self, pc: int) -> str | None:
        for role, tone in zip(ROLES, self.tones, strict=False):
            if tone.pc == pc % 12:
                return role
        return None

    def roman(self, key: Key, bass_pc: int | None = None) -> str:
        """'V7', 'ii6', 'viio', 'bVI' in the given key."""
        q = QUALITIES[self.quality]
        if q.label:
            return q.label
        degree = (self.root.step - key.tonic.step) % 7
        expected = {(key.tonic.pc + key.steps[degree]) % 12}
        if key.mode == "minor" and degree in (5, 6):
            expected.add((expected.pop() + 1) % 12)
            expected.add((key.tonic.pc + key.steps[degree]) % 12)
        offset = (self.root.pc - key.tonic.pc - key.steps[degree] + 6) % 12 - 6
        prefix = "" if self.root.pc in expected else accidental(offset)
        numeral = _ROMAN[degree] if q.upper else _ROMAN[degree].lower()
        symbol = q.symbol
        figure = ""
        if bass_pc is not None:
            tones = self.tones
            index = next((i for i, t in enumerate(tones) if t.pc == bass_pc % 12), 0)
            figure = _INVERSION_FIGURES[len(tones)][index]
            if len(tones) == 4:
                symbol = symbol[:-1]  # the figure replaces the 7
        return f"{prefix}{numeral}{symbol}{figure}"

    @property
    def name(self) -> str:
        return f"{self.root.name} {self.quality}"
