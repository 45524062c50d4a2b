"""Surface figures: how one voice moves within a beat, from its note to the next beat's.

The chords and voicings give every voice one note per beat; a figure fills the beat as a
chorale singer would — holding the note, passing to the next through the note between,
touching a neighbour, skipping to another chord tone, arriving early (anticipation) or
late (suspension). The vocabulary is a table (`FIGURES`); each figure has a function
that spells its notes in the local key from the voice's notes and the chord.

The same vocabulary names what Bach does: `classify_beats` reads a sixteenth-note grid
(MIDI pitch and onset flag per cell) and labels every beat of every voice, and
`python -m composer.surface.counts` counts the labels over the chorales of music21's
corpus into `models/chorale-figures.json` (see `composer.surface.counts`, whose
`StatisticalFigureScorer` reads them); a neural scorer implements the same
`FigureScorer` protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from composer.chords import Chord
from composer.music import STEP_PC, Key, Pitch, PitchClass
from composer.texture import REST

CELLS = 4  # sixteenth notes in a quarter-note beat: the grid figures are written on

_ = False
X = True


@dataclass(frozen=True)
class Figure:
    name: str
    onsets: tuple[bool, ...]  # per cell: a note struck there (cell 0 is the beat)
    summary: str


FIGURES: tuple[Figure, ...] = (
    Figure("hold", (X, _, _, _), "the note lasts the beat"),
    Figure("passing", (X, _, X, _), "two eighths: a step to the note between it and the"
           " next beat's, a third away"),
    Figure("upper-neighbour", (X, _, X, _), "two eighths: the step above, returning on the"
           " next beat"),
    Figure("lower-neighbour", (X, _, X, _), "two eighths: the step below, returning on the"
           " next beat"),
    Figure("anticipation", (X, _, X, _), "two eighths: the next beat's note, a step away,"
           " arrives early"),
    Figure("skip-up", (X, _, X, _), "two eighths: the chord's next tone above (a chord"
           " skip)"),
    Figure("skip-down", (X, _, X, _), "two eighths: the chord's next tone below (a chord"
           " skip)"),
    Figure("suspension", (_, _, X, _), "the previous beat's note held over, dissonant,"
           " resolving down by step on the half beat"),
    Figure("run", (X, _, X, X), "an eighth and two sixteenths passing through a fourth"),
    Figure("turn", (X, _, X, X), "an eighth, the next beat's note (a step away) and its"
           " neighbour beyond as sixteenths, back on the beat"),
)
NAMES = tuple(f.name for f in FIGURES)
HOLD, SUSPENSION = NAMES.index("hold"), NAMES.index("suspension")
GIVEN = -1  # not a figure: a given melody's own rhythm
# What Bach does that the vocabulary has no name for, and a voice that is silent.
LABELS = (*NAMES, "other", "rest")
OTHER, SILENT = LABELS.index("other"), LABELS.index("rest")


# Spelling the notes of a figure ------------------------------------------------------

def scale_step(p: Pitch, direction: int, key: Key, chord: Chord, rising: bool) -> Pitch:
    """The note a diatonic step from p: spelled as the chord spells that letter, else as
    the local key does — in minor with the sixth and seventh raised when the line goes
    on upwards (melodic minor), so that no augmented second appears."""
    d = p.diatonic + direction
    letter = d % 7
    tone = next((t for t in chord.tones if t.step == letter), None)
    if tone is None:
        degree = (letter - key.tonic.step) % 7 + 1
        tone = key.degree(degree)
        if key.mode == "minor" and degree in (6, 7) and rising:
            tone = PitchClass(tone.step, tone.alter + 1)
    return Pitch(12 * (d // 7 + 1) + STEP_PC[letter] + tone.alter, d)


def _second(a: Pitch, b: Pitch) -> bool:
    """A minor or major second, as a line moves by step."""
    return abs(b.diatonic - a.diatonic) == 1 and 1 <= abs(b.midi - a.midi) <= 2


def _chord_tone_beside(p: Pitch, chord: Chord, direction: int) -> Pitch | None:
    """The nearest tone of the chord at least a third above (direction 1) or below (−1)
    p: a leap, not a step to a seventh."""
    found = []
    for tone in chord.tones:
        for octave in range(p.octave - 1, p.octave + 2):
            q = Pitch(12 * (octave + 1) + STEP_PC[tone.step] + tone.alter, 7 * octave + tone.step)
            if (q.diatonic - p.diatonic) * direction >= 2 and (q.midi - p.midi) * direction >= 3:
                found.append(q)
    return min(found, key=lambda q: abs(q.midi - p.midi), default=None)


Cells = tuple[Pitch, ...]
Realize = Callable[[Pitch | None, Pitch, Pitch | None, Chord, Key], Cells | None]


def _hold(prev, this, nxt, chord, key):
    return (this,) * CELLS


def _passing(prev, this, nxt, chord, key):
    if nxt is None or abs(nxt.diatonic - this.diatonic) != 2:
        return None
    up = nxt.diatonic > this.diatonic
    p = scale_step(this, 1 if up else -1, key, chord, rising=up)
    return (this, this, p, p) if _second(this, p) and _second(p, nxt) else None


def _neighbour(direction: int) -> Realize:
    def realize(prev, this, nxt, chord, key):
        if nxt != this:
            return None
        n = scale_step(this, direction, key, chord, rising=direction < 0)
        return (this, this, n, n) if _second(this, n) else None
    return realize


def _anticipation(prev, this, nxt, chord, key):
    return (this, this, nxt, nxt) if nxt is not None and _second(this, nxt) else None


def _skip(direction: int) -> Realize:
    def realize(prev, this, nxt, chord, key):
        s = _chord_tone_beside(this, chord, direction)
        return (this, this, s, s) if s is not None and nxt is not None else None
    return realize


def _suspension(prev, this, nxt, chord, key):
    """prev held over is dissonant against the new chord and falls a step to this."""
    if prev is None or prev.diatonic - this.diatonic != 1 or not _second(prev, this) \
            or prev.pc in chord.pcs:
        return None
    return (prev, prev, this, this)


def _run(prev, this, nxt, chord, key):
    if nxt is None or abs(nxt.diatonic - this.diatonic) != 3:
        return None
    d = 1 if nxt.diatonic > this.diatonic else -1
    a = scale_step(this, d, key, chord, rising=d > 0)
    b = scale_step(a, d, key, chord, rising=d > 0)
    ok = _second(this, a) and _second(a, b) and _second(b, nxt)
    return (this, this, a, b) if ok else None


def _turn(prev, this, nxt, chord, key):
    if nxt is None or not _second(this, nxt):
        return None
    d = 1 if nxt.diatonic > this.diatonic else -1
    beyond = scale_step(nxt, d, key, chord, rising=d < 0)
    return (this, this, nxt, beyond) if _second(nxt, beyond) else None


REALIZE: dict[str, Realize] = {
    "hold": _hold, "passing": _passing, "upper-neighbour": _neighbour(1),
    "lower-neighbour": _neighbour(-1), "anticipation": _anticipation, "skip-up": _skip(1),
    "skip-down": _skip(-1), "suspension": _suspension, "run": _run, "turn": _turn,
}


@lru_cache(maxsize=1 << 16)
def realize(figure: str, prev: Pitch | None, this: Pitch, nxt: Pitch | None, chord: Chord,
            key: Key) -> Cells | None:
    """The pitch of each sixteenth cell of the beat (strike where `onsets` says), or None
    where the figure cannot lead from these notes. `this` is the beat's chord tone (for a
    suspension, its resolution), prev and nxt the voice's notes on the beats around. (A
    pure function of them, remembered: the same notes meet the same chords beat after
    beat, tune after tune.)"""
    return REALIZE[figure](prev, this, nxt, chord, key)


# Reading figures off a grid ----------------------------------------------------------

def _cells(a: np.ndarray, at: np.ndarray, fill) -> np.ndarray:
    """a[at] along the first axis, `fill` where `at` falls outside."""
    inside = (at >= 0) & (at < len(a))
    out = a[np.clip(at, 0, max(len(a) - 1, 0))] if len(a) else np.zeros((*at.shape, a.shape[1]),
                                                                         a.dtype)
    return np.where(inside[..., None], out, fill)


def classify_beats(midi: np.ndarray, onset: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """int8 [B, V]: the LABELS index of each voice's figure in each beat.

    midi: [T, V] the MIDI note sounding in each sixteenth cell (REST when silent);
    onset: [T, V] a note struck at the cell; starts: [B] the cell where each quarter-note
    beat begins. Judged from the line alone, by semitones (a step is 1–2): a note held
    into the beat that falls a step on the half beat is a suspension, whatever the
    harmony.
    """
    starts = np.asarray(starts, np.int64)
    at = starts[:, None] + np.arange(CELLS)  # [B, CELLS]
    m = _cells(np.asarray(midi, np.int64), at, REST)  # [B, CELLS, V]
    o = _cells(np.asarray(onset, bool), at, False)
    nxt = _cells(np.asarray(midi, np.int64), starts + CELLS, REST)  # [B, V]
    prev = _cells(np.asarray(midi, np.int64), starts - 1, REST)
    f, s, s3 = m[:, 0], m[:, 2], m[:, 3]
    sounding = (f != REST) & (s != REST) & (s3 != REST) & (nxt != REST)
    d1, d2, d3 = s - f, s3 - s, nxt - s3

    def step(d: np.ndarray) -> np.ndarray:
        return (np.abs(d) >= 1) & (np.abs(d) <= 2)

    pattern = (o * np.array([8, 4, 2, 1])[None, :, None]).sum(axis=1)
    eighths, sixteenths = (pattern == 0b1010) & sounding, (pattern == 0b1011) & sounding
    into = nxt - s
    label = np.select([
        (f == REST) & ~o[:, 1:].any(axis=1),
        ~o[:, 1:].any(axis=1),
        (pattern == 0b0010) & (f == prev) & (f != REST) & (s != REST) & (d1 < 0) & step(d1),
        eighths & step(d1) & (into == 0),
        eighths & step(d1) & step(into) & (np.sign(d1) == np.sign(into)),
        eighths & step(d1) & (d1 > 0) & (nxt == f),
        eighths & step(d1) & (d1 < 0) & (nxt == f),
        eighths & (d1 >= 3),
        eighths & (d1 <= -3),
        sixteenths & step(d1) & step(d2) & step(d3) & (np.sign(d1) == np.sign(d2))
        & (np.sign(d2) == np.sign(d3)),
        sixteenths & step(d1) & step(d2) & (np.sign(d1) == np.sign(d2)) & (nxt == s),
    ], [SILENT, HOLD, SUSPENSION, *(NAMES.index(n) for n in (
        "anticipation", "passing", "upper-neighbour", "lower-neighbour", "skip-up",
        "skip-down", "run", "turn"))], OTHER)
    return label.astype(np.int8)


def skeleton(midi: np.ndarray, starts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """int [B, V]: each beat's chord tone — the note on the beat, or a suspension's
    resolution — the notes a voicing gives and a figure leads between."""
    starts = np.asarray(starts, np.int64)
    on = _cells(np.asarray(midi, np.int64), starts, REST)
    half = _cells(np.asarray(midi, np.int64), starts + CELLS // 2, REST)
    return np.where(labels == SUSPENSION, half, on)


# The context a figure is scored in ---------------------------------------------------

# Intervals to and from the beat's note, in semitones, as classes a corpus can fill.
STEP_IN = ("none or same", "step down", "step up", "leap down", "leap up")
STEP_OUT = ("leap down", "fourth-fifth down", "third down", "step down", "same or none",
            "step up", "third up", "fourth-fifth up", "leap up")
METRIC = ("downbeat", "half bar", "other beat")
TO_CADENCE = ("cadence", "penultimate", "antepenultimate", "inside the phrase")


@dataclass(frozen=True, eq=False)
class Around:
    """What a place's beat holds besides its own voice (what the figure network reads;
    the counts do not): every voice's chord tone on this beat and the next, both beats'
    chords and the local key, and the figures the other voices take there."""

    notes: np.ndarray  # int [K, V]: each voice's note on the beat (MIDI or REST)
    next_notes: np.ndarray  # int [K, V]: on the beat after
    roles: np.ndarray  # int [K, 12]: the chord's role code by pitch class from the tonic
    next_roles: np.ndarray  # int [K, 12]: the next beat's chord, from the same tonic
    tonic: np.ndarray  # int [K]: pitch class of the local key's tonic
    minor: np.ndarray  # int [K]
    phrase_beat: np.ndarray  # int [K]: beats since the phrase began
    fermata: np.ndarray  # int [K]
    next_fermata: np.ndarray  # int [K]
    others: np.ndarray | None = None  # int [R, V]: LABELS index of each voice's figure
    # on this beat where it is placed before this one (the voices above), else −1
    of: np.ndarray | None = None  # int [R]: the place each row of `others` is for (None:
    # one row per place)


@dataclass(frozen=True, eq=False)
class FigurePlaces:
    """K (voice, beat) places as arrays: what a figure scorer may condition on."""

    voice: np.ndarray  # int [K]: 0 is the top voice
    prev: np.ndarray  # int [K]: MIDI of the voice's chord tone on the beat before, or REST
    this: np.ndarray  # int [K]: on this beat
    next: np.ndarray  # int [K]: on the beat after, or REST
    beat: np.ndarray  # int [K]: beat in the bar, from 0
    beats_per_bar: np.ndarray  # int [K]
    to_cadence: np.ndarray  # int [K]: beats to the phrase's cadence chord (0: on it)
    offered: np.ndarray | None = None  # bool [K, len(FIGURES)]: the figures that lead
    # between these notes at all (holding always does); the rules may still refuse some
    around: Around | None = None  # the beat around the voice, for scorers that read it

    def __len__(self) -> int:
        return len(self.voice)

    def classes(self) -> tuple[np.ndarray, ...]:
        """(voice, step in, step out, metric, cadence) class indices, as counted."""
        def signed(d: np.ndarray, bounds: tuple[int, ...]) -> np.ndarray:
            size = np.searchsorted(np.array(bounds), np.abs(d), side="right")
            return np.sign(d) * size

        d_in = np.where((self.prev == REST) | (self.this == REST), 0, self.this - self.prev)
        d_out = np.where((self.next == REST) | (self.this == REST), 0, self.next - self.this)
        size_in = np.minimum(signed(d_in, (1, 3)), 2)
        step_in = np.select([size_in == 0, size_in == -1, size_in == 1, size_in < 0], [0, 1, 2, 3],
                            4)
        step_out = np.clip(signed(d_out, (1, 3, 5, 8)), -4, 4) + 4
        metric = np.where(self.beat == 0, 0,
                          np.where((self.beats_per_bar == 4) & (self.beat == 2), 1, 2))
        cadence = np.minimum(np.maximum(self.to_cadence, 0), len(TO_CADENCE) - 1)
        return (np.minimum(self.voice, 3), step_in, step_out, metric, cadence)


class FigureScorer(Protocol):
    """Scores figures, one row per place; one that `reads_other_voices` scores one row
    per row of `Around.others` (the figures of the voices above), and its scores of a
    combination's voices add up to the combination's log-probability."""

    reads_other_voices: bool

    def log_scores(self, places: FigurePlaces) -> np.ndarray:
        """float [K, len(FIGURES)]: the log-score of each figure at each place. The
        candidates offered are already legal; the scorer only weighs them."""
        ...


# Reading a piece's beats ------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BeatGrid:
    """A piece's voices on the sixteenth grid, with where its beats stand."""

    midi: np.ndarray  # int [T, V]
    onset: np.ndarray  # bool [T, V]
    starts: np.ndarray  # int [B]: the cell each beat begins
    beat: np.ndarray  # int [B]: beat in the bar, from 0
    beats_per_bar: int
    to_cadence: np.ndarray  # int [B]: beats to the next fermata (0: on it)

    def places(self, labels: np.ndarray) -> FigurePlaces:
        """Every (voice, beat) of the grid, beats first, with its chord-tone skeleton."""
        skel = skeleton(self.midi, self.starts, labels)  # [B, V]
        b, v = skel.shape
        prev = np.vstack([np.full((1, v), REST), skel[:-1]])
        nxt = np.vstack([skel[1:], np.full((1, v), REST)])

        def each(x: np.ndarray) -> np.ndarray:
            return np.repeat(x, v) if x.ndim == 1 else x.reshape(-1)

        return FigurePlaces(np.tile(np.arange(v), b), each(prev), each(skel), each(nxt),
                            each(self.beat), np.full(b * v, self.beats_per_bar),
                            each(self.to_cadence))

    @property
    def moving(self) -> np.ndarray:
        """bool [B]: some voice strikes a note within the beat (eighths or faster)."""
        at = self.starts[:, None] + np.arange(1, CELLS)
        return np.asarray(np.asarray(_cells(self.onset, at, False)).any(axis=(1, 2)))


def beat_grid(lines: list[list[tuple[float, float, int | None, bool]]], beats_per_bar: int,
              first_beat: float, beat: float = 1.0, cells: int = CELLS) -> BeatGrid:
    """The grid of some voices' notes (offset, duration, MIDI or None, fermata), in
    quarter notes; `first_beat` is the beat in the bar (from 0) of offset 0, and each
    beat (`beat` quarter notes long) has `cells` cells (a half-note beat: four eighths).
    Notes off the grid (thirty-seconds, triplets) are struck at the cell they begin in."""
    per_quarter = cells / beat
    end = max((o + d for line in lines for o, d, _, _ in line), default=0.0)
    t = int(np.ceil(end * per_quarter - 1e-6))
    midi = np.full((t, len(lines)), REST, np.int64)
    onset = np.zeros((t, len(lines)), bool)
    fermata = np.zeros(t, bool)
    for v, line in enumerate(lines):
        for o, d, p, f in line:
            a, b = (int(np.floor(x * per_quarter + 1e-6)) for x in (o, o + d))
            if p is None or b <= a:
                continue
            midi[a:b, v], onset[a, v] = p, True
            fermata[a] |= f
    starts = np.arange(0, t, cells)
    in_bar = (np.arange(len(starts)) + int(round(first_beat))) % beats_per_bar
    marks = np.flatnonzero(np.add.reduceat(fermata.astype(np.int64), starts) > 0) if t \
        else np.zeros(0, np.int64)
    to_cadence = np.full(len(starts), len(TO_CADENCE), np.int64)
    ahead = np.searchsorted(marks, np.arange(len(starts)))
    found = ahead < len(marks)
    to_cadence[found] = marks[ahead[found]] - np.arange(len(starts))[found]
    return BeatGrid(midi, onset, starts, in_bar, beats_per_bar, to_cadence)
