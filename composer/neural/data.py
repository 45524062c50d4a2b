"""The chorales as training data: every voice on a sixteenth-note grid, and one row per
beat with the plan a composer would have had there (chord, local key, place in the bar
and phrase, distance to the cadence, fermata), as `composer.planning.analysis` hears it.

Parsing and analysing the corpus takes about a minute, so each chorale's arrays are
cached under `$XDG_CACHE_HOME/partimento` (`~/.cache/partimento`), in a folder named by
a fingerprint of the code that makes them: a change to that code starts a fresh cache.
Numpy only: no torch here.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from composer.corpus import chorale_names, parse_chorale
from composer.io.files import atomic_path
from composer.io.read import texture_from_music21
from composer.music import SATB, Pitch
from composer.planning.analysis import analyse_chorale, phrase_cadence
from composer.rules.structure import CADENCES
from composer.rules.vertical import STANDARD_RANGES
from composer.texture import REST, chord_arrays

CELLS_PER_QUARTER = 4  # a sixteenth-note grid
CADENCE_KINDS = (*CADENCES, "other")
SPLIT_RULE = "BWV number modulo 10: 0 → test, 1 → validation, 2–9 → train"
TRANSPOSE_SLACK = 2  # semitones a transposed voice may stray beyond its standard range
_SOURCES = ("composer/neural/data.py", "composer/planning/analysis.py", "composer/io/read.py",
            "composer/grading/harmony.py", "composer/texture.py", "composer/rules/structure.py")


class OffGrid(ValueError):
    """A note that does not start and end on the grid (a thirty-second note)."""


@dataclass(frozen=True)
class Span:
    """One note of one voice, ties merged: what the grid must give back."""

    offset: Fraction  # quarter notes
    duration: Fraction
    midi: int


@dataclass(frozen=True, eq=False)
class Grid:
    """Voices on a sixteenth-note grid. A held note and a repeated one differ only in
    `onset`, so both are kept; REST marks silence."""

    midi: np.ndarray  # int8 [T, V]: the MIDI note sounding in each cell, or REST
    onset: np.ndarray  # bool [T, V]: a note is struck at the start of the cell

    def spans(self, voice: int) -> tuple[Span, ...]:
        """Decode one voice: a note runs from its onset while its pitch keeps sounding."""
        midi, onset = self.midi[:, voice].astype(np.int64), self.onset[:, voice]
        new = onset.copy()
        new[1:] |= midi[1:] != midi[:-1]
        if len(new):
            new[0] = True
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(midi))
        q = Fraction(1, CELLS_PER_QUARTER)
        return tuple(Span(int(s) * q, int(e - s) * q, int(midi[s]))
                     for s, e in zip(starts, ends, strict=True) if midi[s] != REST)


def encode_grid(lines: Sequence[Sequence[Span]]) -> Grid:
    """The grid of some voices' notes; raises OffGrid for a note between the cells."""
    voices: list[list[tuple[int, int, int]]] = []
    for line in lines:
        notes = []
        for span in line:
            start, cells = span.offset * CELLS_PER_QUARTER, span.duration * CELLS_PER_QUARTER
            if start.denominator != 1 or cells.denominator != 1 or cells <= 0:
                raise OffGrid(f"a note at {span.offset} lasting {span.duration} quarters is "
                              "not on the sixteenth-note grid")
            notes.append((int(start), int(start + cells), span.midi))
        voices.append(notes)
    length = max((end for notes in voices for _, end, _ in notes), default=0)
    midi = np.full((length, len(lines)), REST, np.int8)
    onset = np.zeros((length, len(lines)), bool)
    for v, notes in enumerate(voices):
        for start_cell, end, note in notes:
            midi[start_cell:end, v] = note
            onset[start_cell, v] = True
    return Grid(midi, onset)


def spans_of(events: Iterable[Any]) -> tuple[Span, ...]:
    """The notes of a voice read by `composer.io.read` (ties merged), rests left out."""
    def exact(x: float) -> Fraction:
        return Fraction(x).limit_denominator(192)

    return tuple(Span(exact(ev.offset), exact(ev.duration), ev.pitch.midi)
                 for ev in events if ev.pitch is not None)


@dataclass(frozen=True, eq=False)
class Beats:
    """One row per beat on which some voice strikes (see composer.planning.analysis)."""

    cell: np.ndarray  # int32: where the beat starts on the grid
    bar: np.ndarray  # int16, as printed (a pickup is bar 0)
    beat: np.ndarray  # int8, from 1
    beats_per_bar: np.ndarray  # int8
    phrase: np.ndarray  # int16
    phrase_beat: np.ndarray  # int16: beats since the phrase began
    beats_to_cadence: np.ndarray  # int16: 0 on the phrase's last beat
    fermata: np.ndarray  # bool
    cadence: np.ndarray  # int8: index into CADENCE_KINDS of the phrase's cadence
    tonic: np.ndarray  # int8: pitch class of the local key's tonic
    minor: np.ndarray  # bool: the local key is minor
    roles: np.ndarray  # int8 [B, 12]: the chord's role codes per pitch class (0: none)
    midi: np.ndarray  # int8 [B, V]: each voice's note sounding at the beat, or REST

    def __len__(self) -> int:
        return len(self.cell)


@dataclass(frozen=True, eq=False)
class Chorale:
    name: str  # 'bach/bwv269'
    grid: Grid
    beats: Beats

    @property
    def bwv(self) -> int:
        return bwv_number(self.name)

    @property
    def split(self) -> str:
        return split_of(self.name)


def bwv_number(name: str) -> int:
    """269 for 'bach/bwv269', 248 for 'bach/bwv248.12-2'."""
    m = re.search(r"bwv(\d+)", name)
    if m is None:
        raise ValueError(f"'{name}' has no BWV number")
    return int(m.group(1))


def split_of(name: str) -> str:
    """A fixed split by BWV number, so that every part of a cantata lands together."""
    rest = bwv_number(name) % 10
    return "test" if rest == 0 else "validation" if rest == 1 else "train"


def corpus_names() -> list[str]:
    """The chorales of music21's corpus, each once (its iterator lists some twice)."""

    return sorted(set(chorale_names()))


def encode_chorale(name: str, score: Any = None) -> Chorale:
    """Parse (unless given), grid and analyse one chorale."""

    score = score if score is not None else parse_chorale(name)
    _, origin = texture_from_music21(score, source=name)
    grid = encode_grid([spans_of(line) for line in origin.events])
    a = analyse_chorale(score, source=name)
    cadence = [CADENCE_KINDS.index(phrase_cadence(a, p)) for p in range(len(a.phrases))]
    first = [a.phrases[b.phrase][0] for b in a.beats]
    roles, _, _ = chord_arrays([b.chord for b in a.beats], [b.key for b in a.beats])
    beats = Beats(
        cell=np.array([b.offset * CELLS_PER_QUARTER for b in a.beats], np.int32),
        bar=np.array([b.bar for b in a.beats], np.int16),
        beat=np.array([b.beat for b in a.beats], np.int8),
        beats_per_bar=np.full(len(a.beats), a.meter.beats_per_bar, np.int8),
        phrase=np.array([b.phrase for b in a.beats], np.int16),
        phrase_beat=np.arange(len(a.beats), dtype=np.int16) - np.array(first, np.int16),
        beats_to_cadence=np.array([b.beats_to_cadence for b in a.beats], np.int16),
        fermata=np.array([b.fermata for b in a.beats], bool),
        cadence=np.array([cadence[b.phrase] for b in a.beats], np.int8),
        tonic=np.array([b.key.tonic.pc for b in a.beats], np.int8),
        minor=np.array([b.key.mode == "minor" for b in a.beats], bool),
        roles=roles,
        midi=np.array([b.midi for b in a.beats], np.int8).reshape(len(a.beats), -1),
    )
    return Chorale(name, grid, beats)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "partimento"


@cache
def fingerprint() -> str:
    """A hash of the code that turns a score into a Chorale, and of music21's version."""
    import music21  # lazy: only a training run or a data check reads music21's version

    root = Path(__file__).resolve().parent.parent.parent
    digest = hashlib.sha256(music21.__version__.encode())
    for source in _SOURCES:
        digest.update((root / source).read_bytes())
    return digest.hexdigest()[:12]


def _save(chorale: Chorale, path: Path) -> None:

    arrays = {f"beats_{f.name}": getattr(chorale.beats, f.name) for f in fields(Beats)}
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        np.savez(out, grid_midi=chorale.grid.midi, grid_onset=chorale.grid.onset, **arrays)


def _load(name: str, path: Path) -> Chorale:
    with np.load(path, allow_pickle=False) as data:
        beats = Beats(**{f.name: data[f"beats_{f.name}"] for f in fields(Beats)})
        return Chorale(name, Grid(data["grid_midi"], data["grid_onset"]), beats)


def load_chorales(names: Sequence[str] | None = None, cache_dir: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> list[Chorale]:
    """The chorales named (all of the corpus by default), from the cache or freshly
    encoded and cached; chorales off the sixteenth-note grid are left out (see
    `off_grid`). `progress` is told each name that has to be parsed."""
    folder = (cache_dir or cache_root()) / f"chorales-{fingerprint()}"
    out = []
    for name in names if names is not None else corpus_names():
        path = folder / (name.replace("/", "_") + ".npz")
        skip = path.with_suffix(".offgrid")
        if skip.exists():
            continue
        if not path.exists():
            if progress:
                progress(name)
            try:
                _save(encode_chorale(name), path)
            except OffGrid:
                skip.parent.mkdir(parents=True, exist_ok=True)
                skip.touch()
                continue
        out.append(_load(name, path))
    return out


def off_grid(names: Sequence[str] | None = None, cache_dir: Path | None = None) -> list[str]:
    """The chorales `load_chorales` leaves out because a note lies off the grid."""
    folder = (cache_dir or cache_root()) / f"chorales-{fingerprint()}"
    return [n for n in (names if names is not None else corpus_names())
            if (folder / (n.replace("/", "_") + ".offgrid")).exists()]


def transpositions(midi: np.ndarray, slack: int = TRANSPOSE_SLACK) -> list[int]:
    """Shifts in semitones (each of the 12 keys at most once, the original always) that
    keep every voice of [*, 4] notes within its standard range, give or take `slack`."""
    ranges = np.array([[Pitch.parse(n).midi for n in STANDARD_RANGES[v]] for v in SATB])
    m = np.where(midi == REST, np.nan, midi.astype(float))
    low, high = np.nanmin(m, axis=0), np.nanmax(m, axis=0)
    return [k for k in range(-6, 6) if k == 0 or (
        (low + k >= ranges[:, 0] - slack).all() and (high + k <= ranges[:, 1] + slack).all())]
