"""Crafted exercises for the rule tests, written in music21 TinyNotation.

One TinyNotation string per voice, top voice first, as keyword arguments named after
the voices: `exercise("D major", "4/4", soprano="a4 b a8 b c'#4 | d'1", alto=…)`.

TinyNotation as music21 reads it: `c` is C4 (middle C), `c'` C5, `C` C3, `CC` C2;
sharps `#` and flats `-` come after the octave marks (`c'#`; music21 silently reads
`c#'` as C#4, so the helper refuses it); durations `1 2 4 8`, dotted `4.`, ties `~`,
rests `r`. A `|` marks a bar line for the reader and is checked: every bar must be full.
TinyNotation writes no key signature, so every accidental is written out; the key's
signature is added to the parts so that the key is found as it is on paper.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from composer.io.read import read_score, texture_from_music21
from composer.music import Key, Meter
from composer.texture import Texture


def score(key: str, meter: str, **voices: str) -> Any:
    """A music21 Score with one named part per voice, top first."""
    from music21 import key as m21key
    from music21 import stream

    if not voices:
        raise ValueError("an exercise needs at least one voice")
    signature = Key.parse(key).sharps
    result = stream.Score()
    for name, notes in voices.items():
        part = _part(name, notes, meter)
        part.partName = name
        part.id = name
        part.getElementsByClass(stream.Measure).first().insert(0, m21key.KeySignature(signature))
        result.insert(0, part)
    lengths = {name: float(p.highestTime) for name, p in zip(voices, result.parts, strict=True)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the voices differ in length (quarter notes): {lengths}")
    return result


def _part(name: str, notes: str, meter: str) -> Any:
    """One voice parsed, with every bar written between `|` marks checked to be full."""
    from music21 import converter

    if re.search(r"[#-]'", notes):
        raise ValueError(f"{name}: write octave marks before the accidental (c'#, not c#')")
    part = converter.parse(f"tinyNotation: {meter} {notes.replace('|', ' ')}")
    events = list(part.flatten().notesAndRests)
    bars = [len(chunk.split()) for chunk in notes.split("|") if chunk.strip()]
    if sum(bars) != len(events):
        raise ValueError(f"{name}: {len(events)} notes read from {sum(bars)} tokens")
    if "|" in notes:
        bar, first = float(Meter.parse(meter).bar_length), 0
        for i, count in enumerate(bars):
            length = sum(float(e.quarterLength) for e in events[first:first + count])
            if abs(length - bar) > 1e-6:
                raise ValueError(f"{name}, bar {i + 1}: {length:g} quarter notes, not {bar:g}")
            first += count
    return part


def exercise(key: str, meter: str, **voices: str) -> Texture:
    """The exercise as the checker sees it, straight from music21."""
    texture, _ = texture_from_music21(score(key, meter, **voices), tuple(voices))
    return texture


def exercise_via_file(folder: Path, key: str, meter: str, **voices: str) -> Texture:
    """The exercise written to MusicXML and read back, the path `partimento check` takes."""
    path = folder / "exercise.musicxml"
    score(key, meter, **voices).write("musicxml", fp=str(path))
    texture, _ = read_score(path, tuple(voices))
    return texture
