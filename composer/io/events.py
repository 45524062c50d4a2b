"""A score's lines as music21 gives them, in the terms the readers share: each voice's
events (notes and rests, ties merged) and the bars they fall in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composer.io.abc import music21_module
from composer.music import Meter, Pitch

EPS = 1e-6


@dataclass(frozen=True)
class Event:
    """One note or rest of one voice, ties already merged."""

    offset: float
    duration: float
    pitch: Pitch | None
    fermata: bool
    source: Any  # the music21 element (first of a tie chain)


@dataclass(frozen=True)
class Measure:
    offset: float
    number: int
    padding: float  # quarter notes missing from the start of a pickup bar
    meter: Meter | None = None  # a time signature that begins here


def pitch_from_music21(p: Any) -> Pitch:
    return Pitch(int(round(p.ps)), 7 * int(p.implicitOctave) + "CDEFGAB".index(p.step))


def has_fermata(el: Any) -> bool:
    return any(isinstance(e, music21_module().expressions.Fermata) for e in el.expressions)


def beat_lengths(measures: list[Measure], meter: Meter) -> list[float]:
    """The beat of each bar, as its time signature counts."""
    beats, beat = [], float(meter.beat_length)
    for m in measures:
        beat = float(m.meter.beat_length) if m.meter is not None else beat
        beats.append(beat)
    return beats
