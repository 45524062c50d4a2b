"""Marking notes in a score read from a file — a colour and a short text — and writing
the copy, for an annotated exercise."""

from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Any

from composer.errors import ScoreError
from composer.io.abc import music21_module
from composer.io.files import atomic_path
from composer.io.read import EPS, Origin


def write_musicxml(score: Any, target: Path) -> None:
    """Write score as MusicXML (compressed if target ends in .mxl), all or nothing."""
    target = Path(target)
    try:
        with atomic_path(target) as tmp:
            written = Path(score.write("musicxml", fp=str(tmp)))
            if written != tmp:  # music21 chose another name; put it where we asked
                os.replace(written, tmp)
    except OSError as exc:
        raise ScoreError(f"{target}: cannot be written ({exc.strerror or exc})") from None


def mark_note(origin: Origin, voice: int, offset: float, colour: str, text: str | None) -> None:
    """Colour the note of `voice` sounding at `offset` in the origin score, with an
    optional short text above it.

    The text goes into the note's measure at the note's offset: MusicXML writes a
    TextExpression as a <direction> only when it stands in a stream, not when it is
    attached to the note.
    """
    m21 = music21_module()
    line = origin.events[voice]
    starts = [ev.offset for ev in line]
    k = bisect.bisect_right(starts, offset + EPS) - 1
    if k < 0:
        return
    ev = line[k]
    el = ev.source
    if el is None:  # a silence of a part read from chords
        return
    if el.isChord:  # the voice's own note of it, where the voice is one of its notes
        mine = [n for n in el.notes if ev.pitch and round(n.pitch.ps) == ev.pitch.midi]
        for n in mine or el.notes:
            n.style.color = colour
    else:
        el.style.color = colour
    if not text:
        return
    expression = m21.expressions.TextExpression(text)
    expression.placement = "above"
    expression.style.color = colour
    home = el.getContextByClass(m21.stream.Measure)
    try:
        at = el.getOffsetInHierarchy(home) if home is not None else None
    except m21.sites.SitesException:  # a bar found by offset, where a MIDI track's are askew
        at = None
    if at is None:  # no bars (ABC often), or none that holds it: the stream that does
        home = next((s for s in origin.score.recurse(streamsOnly=True, includeSelf=False)
                     if any(x is el for x in s.elements)), None)
        at = home.elementOffset(el) if home is not None else None
    if home is not None:
        home.insert(at, expression)
