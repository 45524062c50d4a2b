"""A figured bass: the chord each figure names above its bass note, as the harmony chain
must place it.

A figure lists intervals above the bass (`6`, `6/5`, `4/2`), the rest understood as
continuo players understand them (`6` is 6/3, `7` is 7/5/3, `2` is 6/4/2). Each interval
is the note of the key signature that many steps above the bass, altered by the
accidental written on it (`#6`, `b7`, `n3`); an accidental alone alters the third. Over
one note, figures joined by `-` follow one another (`4-3`, `7-6`, `6/4-5/3`, `5-6`): over
a note that lasts several beats each takes its beat, the last one holding; within one
beat a suspension (a 4, 7 or 9 falling by step, the 6 of a 6/4 with it) gives way to the
chord it resolves to, and another succession keeps its first chord. `_` holds the chord
of the note before (a passing note in the bass).

The figures decide the harmony: the chain allows, in each slot, only the numerals whose
chord is the figured one, and a chord that no numeral of the grammar spells (a
diminished triad on the raised fourth degree, an augmented sixth) joins the grammar for
the piece, its progressions weighed as the grammar's `unlisted` ones.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from composer.errors import Location, SpecError
from composer.music import QUALITIES, Chord, Key, Meter, Pitch, PitchClass
from composer.planning.grammar import HarmonyGrammar, Numeral

if TYPE_CHECKING:
    from composer.spec.load import Melody, Spec

HOLD = "_"  # the chord of the note before goes on over this one
ACCIDENTALS = {"#": "#", "b": "b", "n": "n", "♯": "#", "♭": "b", "♮": "n"}
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
    """The chord of the table (composer.music.QUALITIES) with exactly these spelled
    tones, whichever is its root."""
    for root in sorted(tones):
        for quality in QUALITIES:
            chord = Chord(root, quality)
            if frozenset(chord.tones) == tones:
                return chord
    return None


def check_figures(melody: Melody, key: Key, meter: Meter) -> None:
    """Every figure names a chord (its last stage at least); a SpecError at the figure
    otherwise, with the notes it names. `_` cannot open the bass."""
    figured = [(n, f) for n, f in zip(melody.notes, melody.figures, strict=True)
               if f is not None]
    for k, (note, figure) in enumerate(figured):
        assert note.pitch is not None
        bass, at = note.pitch.pitch_class, meter.position(note.offset)
        here = f"'{figure.text}' over {note.pitch} at bar {at.bar} beat {at.beat:g}"
        if figure.holds and k == 0:
            raise _error(figure, f"{here} holds the chord before, but no chord comes before"
                         " the first note: give it a figure")
        if figure.holds:
            continue
        last = figure.stages[-1]
        if last.chord(bass, key) is None:
            names = " ".join(t.name for t in _upward(bass, last.tones(bass, key)))
            raise _error(figure, f"{here} names {names} in {key}, which is no chord"
                         " Partimento realizes (accepted: figures of the major, minor,"
                         " diminished and augmented triads and the seventh chords, in any"
                         " inversion, and of the augmented sixths)")


def _error(figure: Figure, message: str) -> SpecError:
    return SpecError(message, figure.origin, figure.field_name)


def _notes(chord: Chord) -> str:
    return " ".join(t.name for t in chord.tones)


def _upward(bass: PitchClass, tones: frozenset[PitchClass]) -> list[PitchClass]:
    return sorted(tones, key=lambda t: ((t.step - bass.step) % 7, t.alter))


# The harmony chain ----------------------------------------------------------------------

Times = Sequence[tuple[int, Fraction, Fraction, bool]]  # phrase, offset, length, cadence


def figured_grammar(spec: Spec, grammar: HarmonyGrammar) -> HarmonyGrammar:
    """The grammar with a numeral for every figured chord it lacks (the grammar itself
    without figures)."""
    if spec.melody is None or not any(spec.melody.figures):
        return grammar
    known = {n.chord(spec.key) for n in grammar.numerals}
    extra: dict[Chord, None] = {}
    for note, figure in zip(spec.melody.notes, spec.melody.figures, strict=True):
        if figure is None or note.pitch is None:
            continue
        for stage in figure.stages:
            chord = stage.chord(note.pitch.pitch_class, spec.key)
            if chord is not None and chord not in known:
                extra[chord] = None
    if not extra:
        return grammar
    return _extended(grammar, tuple(_numeral(c, spec.key, grammar) for c in extra))


def _numeral(chord: Chord, key: Key, grammar: HarmonyGrammar) -> Numeral:
    """The numeral of a chord in the key: its root's degree, raised or lowered."""
    degree = (chord.root.step - key.tonic.step) % 7 + 1
    raise_root = (chord.root.pc - key.degree(degree).pc + 6) % 12 - 6
    name = chord.roman(key)
    if any(n.name == name for n in grammar.numerals):
        name = f"{name} ({chord.name})"
    return Numeral(name, degree, chord.quality, raise_root)


@lru_cache(maxsize=64)
def _extended(grammar: HarmonyGrammar, extra: tuple[Numeral, ...]) -> HarmonyGrammar:
    """The grammar with more numerals, every progression to or from them unlisted.
    Cached, since the cadence pairs are computed once per grammar object."""
    n, m = len(grammar.numerals), len(grammar.numerals) + len(extra)
    allowed = np.zeros((m, m), bool)
    allowed[:n, :n] = grammar.allowed
    weights = np.full((m, m), grammar.unlisted)
    weights[:n, :n] = grammar.weights
    return replace(grammar, numerals=grammar.numerals + extra,
                   region=grammar.region + ("figured",) * len(extra), allowed=allowed,
                   weights=weights)


@dataclass(frozen=True, eq=False)
class Figuring:
    """What a figured bass asks of the harmony chain."""

    unary: tuple[np.ndarray, ...]  # per slot: 0 for the figured chord's numerals, else −inf
    window: int  # the final tonic arrives within the last this many slots: where it stands


def figured_slots(spec: Spec, times: Times, chords: Sequence[Chord]) -> Figuring | None:
    """The figured chord of each slot as a mask over the numerals (None without figures).
    The final tonic arrives where the figures put it on its root and keep it to the end
    (a cadential 6/4 is no early arrival). A figure that would change the chord within a
    slot is a SpecError at the figure."""
    if spec.melody is None or not any(spec.melody.figures):
        return None
    figured = figured_chords(spec, times)
    unary = tuple(np.where([c == chord for c in chords], 0.0, -np.inf)
                  if chord is not None else np.zeros(len(chords)) for chord in figured)
    window = 0
    for (_, offset, _, _), chord in zip(reversed(times), reversed(figured), strict=True):
        bass = spec.melody.at(offset)
        if chord != figured[-1] or bass is None or bass.pitch is None \
                or chord is None or bass.pitch.pc != chord.root.pc:
            break
        window += 1
    return Figuring(unary, max(window, 1))


def figured_chords(spec: Spec, times: Times) -> list[Chord | None]:
    """The chord the figures name in each slot (None: the bass there is unfigured)."""
    melody = spec.melody
    assert melody is not None
    index = {id(n): k for k, n in enumerate(melody.notes)}
    onsets = [s[1] for s in times]
    out: list[Chord | None] = []
    for t, (_, offset, length, _) in enumerate(times):
        note = melody.at(offset)
        figure = melody.figures[index[id(note)]] if note is not None else None
        if note is None or note.pitch is None or figure is None:
            out.append(None)
            continue
        bass, key = note.pitch.pitch_class, spec.key
        first = bisect_left(onsets, note.offset)  # the note's slots: first to last
        last = bisect_left(onsets, note.offset + note.duration)
        if figure.holds:
            chord = out[-1] if out else None
        elif last - first == 1:
            chord = figure.principal(bass, key)
        else:
            chord = figure.on_beat(t - first, bass, key)
        out.append(chord)
        _check_within(spec, offset, length, chord, index)
    return out


def _check_within(spec: Spec, offset: Fraction, length: Fraction, chord: Chord | None,
                  index: dict[int, int]) -> None:
    """A note struck within a slot keeps its chord: its figure is `_` or names it."""
    melody = spec.melody
    assert melody is not None
    for note in melody.struck_within(offset, length):
        figure = melody.figures[index[id(note)]]
        if figure is None or figure.holds or note.pitch is None:
            continue
        if figure.principal(note.pitch.pitch_class, spec.key) != chord:
            at = spec.meter.position(note.offset)
            raise _error(figure,
                         f"'{figure.text}' over {note.pitch} at bar {at.bar} beat {at.beat:g}"
                         " changes the chord within a beat, where the harmony holds one"
                         f" chord: write '{HOLD}' for a passing note, or a figure of the"
                         f" beat's chord ({_notes(chord) if chord else 'none'})")


def figured_notes(pitches: Sequence[Pitch | None], figures: Sequence[Figure]
                  ) -> tuple[Figure | None, ...]:
    """The figures laid beside the notes (None for a rest), one per sounding note."""
    it = iter(figures)
    return tuple(next(it) if p is not None else None for p in pitches)
