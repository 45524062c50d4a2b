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
    el = line[k].source
    el.style.color = colour
    if el.isChord:
        for n in el.notes:
            n.style.color = colour
    if not text:
        return
    expression = m21.expressions.TextExpression(text)
    expression.placement = "above"
    expression.style.color = colour
    home = el.getContextByClass(m21.stream.Measure)
    if home is None:  # a score without bars (ABC often): the part that holds the note
        home = next((s for s in origin.score.recurse(streamsOnly=True, includeSelf=False)
                     if any(x is el for x in s.elements)), None)
    if home is not None:
        home.insert(el.getOffsetInHierarchy(home), expression)
