"""A figured bass's figures, as the spec reads them: the continuo shorthand (`6`, `6/5`,
`#6`, `4-3`, `_`) parsed into the intervals each names above its bass note, and each
checked to name a chord Partimento realizes (composer/planning/figured_bass.py places
them in the harmony).

A figure lists intervals above the bass, the rest understood as continuo players
understand them (`6` is 6/3, `7` is 7/5/3, `2` is 6/4/2). Each interval is the note of
the key signature that many steps above the bass, altered by the accidental written on
it (`#6`, `b7`, `n3`); an accidental alone alters the third. Over one note, figures
joined by `-` follow one another (`4-3`, `7-6`, `6/4-5/3`, `5-6`). `_` holds the chord of
the note before (a passing note in the bass).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Protocol

from composer.chords import QUALITIES, Chord
from composer.errors import Location, SpecError
from composer.music import Key, Meter, Pitch, PitchClass


class _Figured(Protocol):
    """What check_figures reads of a melody: its notes and the figure over each."""

    @property
    def notes(self) -> Sequence[_Note]: ...

    @property
    def figures(self) -> Sequence[Figure | None]: ...


class _Note(Protocol):
    @property
    def offset(self) -> Fraction: ...

    @property
    def pitch(self) -> Pitch | None: ...


# The numbers written (in any order) → every interval above the bass they stand for.
SHORTHAND: dict[frozenset[int], tuple[int, ...]] = {
    frozenset(k): v for keys, v in (
        (((), (3,), (5,), (5, 3), (8,), (8, 3), (8, 5), (8, 5, 3)), (3, 5)),
        (((6,), (6, 3), (8, 6), (8, 6, 3)), (3, 6)),
        (((6, 4), (8, 6, 4)), (4, 6)),
        (((7,), (7, 3), (7, 5), (7, 5, 3)), (3, 5, 7)),
        (((6, 5), (6, 5, 3)), (3, 5, 6)),
        (((4, 3), (6, 4, 3)), (3, 4, 6)),
        (((2,), (4, 2), (6, 4, 2)), (2, 4, 6)),
        (((9,), (9, 3), (9, 5), (9, 5, 3)), (3, 5, 9)),  # a 9–8 suspension's ninth
        (((4,), (5, 4), (8, 5, 4)), (4, 5)),  # a 4–3 suspension's fourth
    ) for k in keys}


HOLD = "_"  # the chord of the note before goes on over this one


ACCIDENTALS = {"#": "#", "b": "b", "n": "n", "♯": "#", "♭": "b", "♮": "n"}


ACCEPTED = ("'-' or 5/3 (a triad on its root), 6 (6/3), 6/4, 7 (7/5/3), 6/5, 4/3, 4/2 or 2,"
            " 9, 4; # b n before a number alter it, alone the third (#6, b7, 6/#4, #);"
            " 4-3, 7-6, 6/4-5/3 over one note; _ holds the chord before")


_DISSONANT = frozenset((2, 4, 7, 9))  # what a suspension holds over the bass


_COMPONENT = re.compile(r"^([#bn♯♭♮]?)([2-9]?)$")


@dataclass(frozen=True)
class Stage:
    """One chord over the bass: each interval above it (2–9, generic) with the accidental
    written on it ('' where the key signature decides; 'n': natural)."""

    intervals: tuple[tuple[int, str], ...]
    written: frozenset[int]  # the numbers as written, without those understood

    def tones(self, bass: PitchClass, key: Key) -> frozenset[PitchClass]:
        """The bass and the figured notes above it, spelled."""
        out = {bass}
        for number, accidental in self.intervals:
            step = (bass.step + number - 1) % 7
            if number == 8:
                out.add(bass)
                continue
            note = next(key.degree(d) for d in range(1, 8) if key.degree(d).step == step)
            alter = {"#": note.alter + 1, "b": note.alter - 1, "n": 0}.get(accidental,
                                                                           note.alter)
            out.add(PitchClass(step, alter))
        return frozenset(out)

    def chord(self, bass: PitchClass, key: Key) -> Chord | None:
        """The chord of the table whose tones these are (None: no chord, as a
        suspension's fourth or ninth, or one the table lacks, as C E G-flat)."""
        return chord_of(self.tones(bass, key))

    def suspends(self, then: Stage) -> bool:
        """Whether this stage holds a suspension that `then` resolves: every number that
        changes a dissonance (4, 7, 9; the 6 of a 6/4 with its 4) falling by step."""
        numbers = {n for n, _ in then.intervals}
        changed = self.written - numbers
        return bool(changed) and all(
            n - 1 in numbers and (n in _DISSONANT or (n == 6 and 4 in changed))
            for n in changed)


@dataclass(frozen=True)
class Figure:
    """What is written over one bass note: a figure, several in succession, or `_`."""

    text: str
    stages: tuple[Stage, ...]  # () for `_`
    origin: Location | None = field(default=None, compare=False)
    field_name: str = field(default="melody.figures", compare=False)  # where in the spec

    @property
    def holds(self) -> bool:
        return not self.stages

    def principal(self, bass: PitchClass, key: Key) -> Chord | None:
        """The chord of the note within one beat: past the suspensions (and the stages
        that are no chord), the first that is one."""
        k = 0
        while k + 1 < len(self.stages) and (
                self.stages[k].suspends(self.stages[k + 1])
                or self.stages[k].chord(bass, key) is None):
            k += 1
        return self.stages[k].chord(bass, key) if self.stages else None

    def on_beat(self, k: int, bass: PitchClass, key: Key) -> Chord | None:
        """The chord on the k-th beat (from 0) of a note that lasts several: the k-th
        stage, the last holding on; a stage that is no chord takes the next one's."""
        for stage in self.stages[min(k, len(self.stages) - 1):]:
            if (chord := stage.chord(bass, key)) is not None:
                return chord
        return None


def parse_figure(text: str) -> Figure:
    """One token of a spec's `figures`; a ValueError says what is accepted."""
    token = text.strip()
    if token == HOLD:
        return Figure(token, ())
    if token == "-":
        return Figure(token, (_stage("", token),))
    parts = token.split("-")
    if not all(parts):
        raise ValueError(f"'{text}' is not a figure (accepted: {ACCEPTED})")
    return Figure(token, tuple(_stage(p, token) for p in parts))


def _stage(text: str, token: str) -> Stage:
    written: dict[int, str] = {}
    for part in text.split("/") if text else []:
        m = _COMPONENT.match(part)
        if not m or not part:
            raise ValueError(f"'{token}' is not a figure (accepted: {ACCEPTED})")
        number = int(m.group(2) or 3)  # an accidental alone alters the third
        if number in written:
            raise ValueError(f"'{token}' gives the {number} twice (accepted: {ACCEPTED})")
        written[number] = ACCIDENTALS.get(m.group(1), "")
    full = SHORTHAND.get(frozenset(written))
    if full is None:
        raise ValueError(f"'{token}' is not a figure (accepted: {ACCEPTED})")
    numbers = sorted(set(full) | set(written))
    return Stage(tuple((n, written.get(n, "")) for n in numbers), frozenset(written))


@lru_cache(maxsize=1024)
def chord_of(tones: frozenset[PitchClass]) -> Chord | None:
    """The chord of the table (composer.chords.QUALITIES) with exactly these spelled
    tones, whichever is its root."""
    for root in sorted(tones):
        for quality in QUALITIES:
            chord = Chord(root, quality)
            if frozenset(chord.tones) == tones:
                return chord
    return None


def check_figures(melody: _Figured, key: Key, meter: Meter) -> None:
    """Every figure names a chord (its last stage at least); a SpecError at the figure
    otherwise, with the notes it names. `_` cannot open the bass."""
    figured = [(n, f) for n, f in zip(melody.notes, melody.figures, strict=True)
               if f is not None]
    for k, (note, figure) in enumerate(figured):
        assert note.pitch is not None
        bass, at = note.pitch.pitch_class, meter.position(note.offset)
        here = f"'{figure.text}' over {note.pitch} at bar {at.bar} beat {at.beat:g}"
        if figure.holds and k == 0:
            raise figure_error(figure, f"{here} holds the chord before, but no chord comes before"
                         " the first note: give it a figure")
        if figure.holds:
            continue
        last = figure.stages[-1]
        if last.chord(bass, key) is None:
            names = " ".join(t.name for t in _upward(bass, last.tones(bass, key)))
            raise figure_error(figure, f"{here} names {names} in {key}, which is no chord"
                         " Partimento realizes (accepted: figures of the major, minor,"
                         " diminished and augmented triads and the seventh chords, in any"
                         " inversion, and of the augmented sixths)")


def figure_error(figure: Figure, message: str) -> SpecError:
    return SpecError(message, figure.origin, figure.field_name)


def notes_of(chord: Chord) -> str:
    return " ".join(t.name for t in chord.tones)


def _upward(bass: PitchClass, tones: frozenset[PitchClass]) -> list[PitchClass]:
    return sorted(tones, key=lambda t: ((t.step - bass.step) % 7, t.alter))


def figured_notes(pitches: Sequence[Pitch | None], figures: Sequence[Figure]
                  ) -> tuple[Figure | None, ...]:
    """The figures laid beside the notes (None for a rest), one per sounding note."""
    it = iter(figures)
    return tuple(next(it) if p is not None else None for p in pitches)
