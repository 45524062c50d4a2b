"""The musical values the whole pipeline shares: pitches, keys, meters, chords, slices.

Every value is frozen and hashable. Spelling is kept beside the MIDI number (as a
diatonic step count) because a harmony teacher tells an augmented second from a minor
third, and the rules must too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Literal

STEP_NAMES = "CDEFGAB"
STEP_PC = (0, 2, 4, 5, 7, 9, 11)
MAJOR_STEPS = STEP_PC  # semitones above the tonic of each degree of a major scale
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)

Mode = Literal["major", "minor"]
_NATURAL_FIFTHS = (0, 2, 4, -1, 1, 3, 5)  # C D E F G A B on the circle of fifths
SATB = ("soprano", "alto", "tenor", "bass")

_PITCH_RE = re.compile(r"^([A-Ga-g])(#{1,2}|x|b{1,2}|-{1,2}|)(-?\d)$")
_PC_RE = re.compile(r"^([A-Ga-g])(#{1,2}|x|b{1,2}|-{1,2}|)$")


def _alter_of(accidental: str) -> int:
    if accidental == "x":
        return 2
    if accidental.startswith("#"):
        return len(accidental)
    return -len(accidental)


def accidental(alter: int) -> str:
    return "#" * alter if alter >= 0 else "b" * -alter


@dataclass(frozen=True, order=True)
class PitchClass:
    """A spelled pitch class: F# and Gb are different here, as on paper."""

    step: int  # 0 = C … 6 = B
    alter: int = 0

    @classmethod
    def parse(cls, text: str) -> PitchClass:
        m = _PC_RE.match(text.strip())
        if not m:
            raise ValueError(f"'{text}' is not a note name (accepted: C, F#, Bb, E-)")
        return cls(STEP_NAMES.index(m.group(1).upper()), _alter_of(m.group(2)))

    @cached_property  # (asked millions of times a piece)
    def pc(self) -> int:
        return (STEP_PC[self.step] + self.alter) % 12

    @property
    def name(self) -> str:
        return STEP_NAMES[self.step] + accidental(self.alter)

    def up(self, steps: int, semitones: int) -> PitchClass:
        """The pitch class a given generic and chromatic interval above."""
        step = (self.step + steps) % 7
        alter = (self.pc + semitones - STEP_PC[step] + 6) % 12 - 6
        return PitchClass(step, alter)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, order=True)
class Pitch:
    """A sounding pitch: MIDI number plus its diatonic position (7 per octave, C4 = 28)."""

    midi: int
    diatonic: int

    @classmethod
    def parse(cls, text: str) -> Pitch:
        m = _PITCH_RE.match(text.strip())
        if not m:
            raise ValueError(f"'{text}' is not a pitch (accepted: C4, F#5, Bb3, E-2)")
        step = STEP_NAMES.index(m.group(1).upper())
        octave = int(m.group(3))
        return cls(12 * (octave + 1) + STEP_PC[step] + _alter_of(m.group(2)), 7 * octave + step)

    @property
    def step(self) -> int:
        return self.diatonic % 7

    @property
    def octave(self) -> int:
        return self.diatonic // 7

    @property
    def alter(self) -> int:
        return self.midi - (12 * (self.octave + 1) + STEP_PC[self.step])

    @property
    def pc(self) -> int:
        return self.midi % 12

    @property
    def pitch_class(self) -> PitchClass:
        return PitchClass(self.step, self.alter)

    @property
    def name(self) -> str:
        return f"{STEP_NAMES[self.step]}{accidental(self.alter)}{self.octave}"

    def __str__(self) -> str:
        return self.name


# Intervals ---------------------------------------------------------------------------

_PERFECT_GENERICS = (0, 3, 4)  # unison, fourth, fifth (0-based generic size)
_ORDINALS = ("unison", "second", "third", "fourth", "fifth", "sixth", "seventh", "octave",
             "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
             "double octave")
_QUALITY_WORDS = {"P": "perfect", "M": "major", "m": "minor", "A": "augmented",
                  "d": "diminished", "AA": "doubly augmented", "dd": "doubly diminished"}


def interval_name(steps: int, semitones: int) -> str:
    """The textbook name of an interval given its size in steps and semitones: 'P5', 'A2'.

    Compound intervals keep their size ('M10'); direction is ignored.
    """
    steps, semitones = abs(steps), abs(semitones) if steps else semitones
    octaves, simple = divmod(steps, 7)
    base = STEP_PC[simple] + 12 * octaves
    diff = semitones - base
    if simple in _PERFECT_GENERICS:
        quality = {0: "P", 1: "A", -1: "d", 2: "AA", -2: "dd"}.get(diff, "?")
    else:
        quality = {0: "M", -1: "m", 1: "A", -2: "d", 2: "AA", -3: "dd"}.get(diff, "?")
    return f"{quality}{steps + 1}"


def interval_words(steps: int, semitones: int) -> str:
    """'perfect fifth', 'augmented second', 'octave', 'major tenth'."""
    name = interval_name(steps, semitones)
    quality = name[: len(name) - len(str(abs(steps) + 1))]
    size = abs(steps)
    if size == 7 and quality == "P":
        return "octave"
    if size == 0 and quality == "P":
        return "unison"
    if size == 14 and quality == "P":
        return "double octave"
    ordinal = _ORDINALS[size] if size < len(_ORDINALS) else f"{size + 1}th"
    return f"{_QUALITY_WORDS.get(quality, quality)} {ordinal}"


# Keys and meters -------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    tonic: PitchClass
    mode: Mode

    @classmethod
    def parse(cls, text: str) -> Key:
        """'D major', 'f# minor', 'Bb', 'e' (lower case alone means minor)."""
        parts = text.strip().split()
        if not parts or len(parts) > 2:
            raise ValueError(f"'{text}' is not a key (accepted: 'D major', 'F# minor', 'Bb major')")
        try:
            tonic = PitchClass.parse(parts[0])
        except ValueError:
            raise ValueError(f"'{text}' is not a key (accepted: 'D major', 'F# minor',"
                             " 'Bb major')") from None
        if len(parts) == 2:
            mode = parts[1].lower()
            if mode not in ("major", "minor"):
                raise ValueError(f"'{parts[1]}' is not a mode (accepted: major, minor)")
        else:
            mode = "minor" if parts[0][0].islower() else "major"
        return cls(tonic, mode)  # type: ignore[arg-type]

    @property
    def steps(self) -> tuple[int, ...]:
        return MAJOR_STEPS if self.mode == "major" else MINOR_STEPS

    def degree(self, n: int) -> PitchClass:
        """Scale degree n (1-7); in minor the natural form (the leading tone is separate)."""
        return self.tonic.up(n - 1, self.steps[n - 1])

    @cached_property
    def leading_tone(self) -> PitchClass:
        """Always a semitone below the tonic: raised in minor, as in every cadence."""
        return self.tonic.up(6, 11)

    @cached_property
    def scale_pcs(self) -> frozenset[int]:
        pcs = {(self.tonic.pc + s) % 12 for s in self.steps}
        if self.mode == "minor":  # melodic and harmonic minor raise 6 and 7
            pcs |= {(self.tonic.pc + 9) % 12, (self.tonic.pc + 11) % 12}
        return frozenset(pcs)

    @property
    def sharps(self) -> int:
        """Key signature: positive sharps, negative flats."""
        major = self.tonic if self.mode == "major" else self.tonic.up(2, 3)
        return _NATURAL_FIFTHS[major.step] + 7 * major.alter

    @property
    def name(self) -> str:
        return f"{self.tonic.name} {self.mode}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Meter:
    """A time signature, and the ones that replace it from later bars on (a hymn that
    moves from 4/4 to 3/4). The lengths below are the first meter's; a piece with
    changes asks `in_bar`, `at` and `bar_start`."""

    numerator: int
    denominator: int
    changes: tuple[tuple[int, Meter], ...] = ()  # (bar, the meter from it on), bars rising

    @classmethod
    def parse(cls, text: str) -> Meter:
        """'3/4', or with changes as `str` writes them: '4/4, 3/4 from bar 15'."""
        first, *rest = str(text).split(",")
        meter = cls._parse_one(first)
        changes = []
        for part in rest:
            m = re.match(r"^\s*(\S+)\s+from\s+bar\s+(\d+)\s*$", part)
            if not m:
                raise ValueError(f"'{part.strip()}' is not a meter change (accepted: '3/4 from"
                                 " bar 15')")
            changes.append((int(m.group(2)), cls._parse_one(m.group(1))))
        return meter.with_changes(changes)

    @classmethod
    def _parse_one(cls, text: str) -> Meter:
        m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", text)
        if not m:
            raise ValueError(f"'{text}' is not a meter (accepted: 2/4, 3/4, 4/4, 3/2, 6/8 …)")
        num, den = int(m.group(1)), int(m.group(2))
        if not 1 <= num <= 32 or den not in (1, 2, 4, 8, 16, 32):
            raise ValueError(
                f"'{text}' is not a meter: the upper number must be 1-32 and the lower a"
                " power of two from 1 to 32"
            )
        return cls(num, den)

    def with_changes(self, changes: list[tuple[int, Meter]]) -> Meter:
        """This meter with later ones from the given bars on (bars rising, after bar 1);
        a change to the meter already in force is dropped."""
        kept: list[tuple[int, Meter]] = []
        current, last_bar = self.first, 1
        for bar, meter in changes:
            if bar <= last_bar:
                raise ValueError(f"a meter change at bar {bar} must come after bar {last_bar}"
                                 " (changes are listed in order, from bar 2 on)")
            if meter.first != current:
                kept.append((bar, meter.first))
            current, last_bar = meter.first, bar
        return Meter(self.numerator, self.denominator, tuple(kept))

    @property
    def first(self) -> Meter:
        """The meter of bar 1, without the changes."""
        return Meter(self.numerator, self.denominator) if self.changes else self

    @property
    def compound(self) -> bool:
        return self.numerator % 3 == 0 and self.numerator > 3 and self.denominator >= 8

    @cached_property  # (a Fraction's arithmetic is slow, and every slot asks)
    def bar_length(self) -> Fraction:
        """In quarter notes."""
        return Fraction(4 * self.numerator, self.denominator)

    @cached_property
    def beat_length(self) -> Fraction:
        unit = Fraction(4, self.denominator)
        return 3 * unit if self.compound else unit

    @cached_property
    def beats_per_bar(self) -> int:
        return int(self.bar_length / self.beat_length)

    @cached_property
    def _segments(self) -> tuple[tuple[int, Fraction, Meter], ...]:
        """(first bar, its offset, meter) of each stretch in one meter, last first (a
        slot's every offset asks for its bar: worked out once per meter)."""
        out = [(1, Fraction(0), self.first)]
        for bar, meter in self.changes:
            b, at, m = out[-1]
            out.append((bar, at + (bar - b) * m.bar_length, meter))
        return tuple(reversed(out))

    def _segment(self, bar: int) -> tuple[int, Fraction, Meter]:
        """The stretch in one meter that holds a bar."""
        return next(s for s in self._segments if s[0] <= bar)

    def in_bar(self, bar: int) -> Meter:
        return self._segment(bar)[2] if self.changes else self

    def bar_start(self, bar: int) -> Fraction:
        """The offset of a bar's first beat (bars from 1, no pickup)."""
        b, at, m = self._segment(bar) if self.changes else (1, Fraction(0), self)
        return at + (bar - b) * m.bar_length

    def at(self, offset: Fraction) -> Meter:
        """The meter in force at an offset."""
        if not self.changes:
            return self
        return self.in_bar(self.position(offset).bar)

    def bars(self, length: Fraction) -> float:
        """How many bars a length from the start fills."""
        at = self.position(length)
        return at.bar - 1 + (at.beat - 1) / self.in_bar(at.bar).beats_per_bar

    def position(self, offset: Fraction) -> Position:
        """Bar (from 1) and beat (from 1) of an offset in a piece with no pickup."""
        try:  # every stage asks it of every slot (a Fraction's arithmetic is slow)
            return self._positions[offset]
        except KeyError:
            pass
        first, start, meter = next(s for s in self._segments
                                   if s[1] <= Fraction(offset)) if self.changes \
            else (1, Fraction(0), self)
        bar, into = divmod(Fraction(offset) - start, meter.bar_length)
        found = self._positions[offset] = Position(int(bar) + first,
                                                   float(into / meter.beat_length) + 1)
        return found

    @cached_property
    def _positions(self) -> dict:  # what `position` found, by offset
        return {}

    def __str__(self) -> str:
        own = f"{self.numerator}/{self.denominator}"
        return ", ".join([own] + [f"{m} from bar {b}" for b, m in self.changes])


@dataclass(frozen=True, order=True)
class Position:
    """Bar as printed in the score (a pickup may be bar 0) and beat counted from 1."""

    bar: int
    beat: float

    def __str__(self) -> str:
        return f"{self.bar}:{format_beat(self.beat)}"


def format_beat(beat: float) -> str:
    return str(int(beat)) if float(beat).is_integer() else f"{beat:g}"




# A finished piece --------------------------------------------------------------------

@dataclass(frozen=True)
class Note:
    offset: Fraction  # quarter notes from the start
    duration: Fraction
    pitch: Pitch | None  # None: a rest
    fermata: bool = False
    lyric: str | None = None  # a syllable; a trailing '-' says the word goes on


@dataclass(frozen=True)
class Piece:
    """What is written out: the voices' notes, and the harmony they realise."""

    title: str
    key: Key
    meter: Meter
    tempo: int
    voices: tuple[str, ...]
    lines: tuple[tuple[Note, ...], ...]  # per voice, top first
    harmony: tuple[tuple[Fraction, str], ...] = ()  # (offset, roman numeral) per slot
