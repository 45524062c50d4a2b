"""A melody in TinyNotation, read by music21 and checked token by token first.

music21's reader passes over what it cannot read, or reads it as something else,
without a word: `Bb4` is skipped, `c#'` loses its octave mark, `c.` its dot, a tie
from c to d joins them. A melody is written note by note, so every token is checked and
a mistake names its place in the line (the index of its first character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from composer.io.melodies import MelodyEvent
from composer.io.read import has_fermata, lyric_of, pitch_from_music21
from composer.music import Meter


class NotationError(ValueError):
    """A token of the line that cannot be taken as written; `at` is where it begins."""

    def __init__(self, message: str, at: int) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class TinyMelody:
    notes: tuple[MelodyEvent, ...]
    meter: Meter | None  # the time signatures the line writes, with their bars; None: none
    meter_at: int = 0  # where the first one is written


ACCEPTED = ("a letter a–g (c is middle C, c' an octave up, C and CC octaves down), then #,"
            " - or n for sharp, flat or natural, then a duration (1 2 4 8 16 32, dots after"
            " it: 4. is a dotted quarter; 0 a whole bar under a fermata; none: as before),"
            " ~ to tie, _syllable for a lyric; r is a rest; 3/4 a time signature;"
            " trip{c8 d e} a triplet")
_TIME_SIGNATURE = re.compile(r"\d+/\d+")
_STATES = re.compile(r"\w+{")
_MODIFIERS = re.compile(r"=[A-Za-z0-9]*|_.*")
# What music21 reads as something else than was meant, and what to write instead.
_MISREAD = (
    (re.compile(r"^[a-g](#+|-+|n)'"), "music21 drops an octave mark written after the"
     " accidental: write it before, as c'#"),
    (re.compile(r"\((#+|-+|n)\)"), "an accidental in brackets is editorial and does not"
     " sound: write it plain, as c#"),
    (re.compile(r"^[^\d.]*\.+$"), "a dot follows a duration: write c4. (music21 drops a dot"
     " without one)"),
    (re.compile(r"[*<>()\[\]]"), "music21 passes over *…*, <…>, (…) and […] in a note"),
)
_HINTS = (
    (re.compile(r"{"), "notes are grouped by trip{…} and quad{…} only"),
    (re.compile(r"^[a-gA-G]b"), "a flat is written -, as b-4 for B flat"),
    (re.compile(r"\|"), "bar lines are not written: the meter counts the bars"),
    (re.compile(r"\d"), "a duration is 1, 2, 4, 8, 16 or 32, dots after it"),
)


def read_tinynotation(text: str, meter: Meter | None) -> TinyMelody:
    """The notes of a TinyNotation line, ties joined, with lyrics and fermatas (`0`).

    `meter` is the spec's; a time signature in the line must agree with it. With none,
    the line's own time signatures (from 4/4 until the first) are its meter.
    """
    from music21 import tinyNotation  # lazy: specs without TinyNotation load without music21

    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    if not tokens:
        raise NotationError("the melody has no notes", 0)
    reader = tinyNotation.Converter(raiseExceptions=True)
    reader.setupRegularExpressions()
    bars = _Bars(meter)
    played: list[tuple[int, str, Any]] = []  # (where, token, music21 note or rest)
    opened: list[int] = []  # where each open trip{ or quad{ begins
    for i, (at, token) in enumerate(tokens):
        if _TIME_SIGNATURE.fullmatch(token):
            if opened:
                raise NotationError(f"the time signature {token} stands inside a group; write"
                                    " it before trip{ or after }", at)
            reader.parseOne(i, bars.time_signature(token, at))
            continue
        _check(token, at)
        opened += [at] * len(_STATES.findall(token))
        if token.count("}") > len(opened):
            raise NotationError(f"'{token}' closes a group that is not open", at)
        del opened[len(opened) - token.count("}"):]
        reader.stateDict["currentTimeSignature"] = bars.music21_meter()
        element = _parse_one(reader, i, token, at)
        played.append((at, token, element))
        bars.advance(Fraction(element.duration.quarterLength).limit_denominator(1024))
    if opened:
        raise NotationError("this group is not closed: end it with }, as in trip{c8 d e}",
                            opened[-1])
    if not any(element.isNote for _, _, element in played):
        raise NotationError("the melody has only rests: give it a note to harmonize", 0)
    return TinyMelody(tuple(_events(played)), bars.written, bars.first_at)


def _check(token: str, at: int) -> None:
    """Refuse what music21 would read as something else than was written."""
    core = _STATES.sub("", token).replace("}", "")
    lyric = token.partition("_")[2].rstrip("}")
    if any(c in lyric for c in "=~{}"):
        raise NotationError(f"'{token}': a lyric cannot hold = ~ {{ or }} (a tie comes"
                            " before it: c4~_Hal-)", at)
    if core.startswith("r") and (lyric or "~" in core):
        raise NotationError(f"'{token}': a rest is neither tied nor sung", at)
    plain = _MODIFIERS.sub("", core.replace("~", ""))
    for pattern, why in _MISREAD:
        if pattern.search(plain):
            raise NotationError(f"'{token}': {why}", at)


def _parse_one(reader: Any, i: int, token: str, at: int) -> Any:
    """The note or rest music21 makes of one token."""
    from music21 import note  # lazy: as above

    try:
        reader.parseOne(i, token)
    except Exception:  # music21's TinyNotationException, or its insides on odd input
        hint = next((why for pattern, why in _HINTS if pattern.search(token)), "")
        raise NotationError(f"'{token}' is not TinyNotation{f' ({hint})' if hint else ''};"
                            f" write {ACCEPTED}", at) from None
    reader.stream.coreElementsChanged()
    element = reader.stream.last()
    if not isinstance(element, note.GeneralNote):
        raise NotationError(f"'{token}': a time signature is written alone, as 3/4", at)
    return element


class _Bars:
    """Where the line is in its bars, and the time signatures it writes."""

    def __init__(self, meter: Meter | None) -> None:
        self.given = meter
        self.meter = meter or Meter(4, 4)
        self.written: Meter | None = None
        self.first_at = 0
        self.offset = Fraction(0)
        self._music21: dict[Meter, Any] = {}

    def advance(self, duration: Fraction) -> None:
        self.offset += duration

    def music21_meter(self) -> Any:
        """The time signature in force, which music21 needs for a `0` (a whole bar)."""
        from music21 import meter  # lazy: as above

        now = self.meter.at(self.offset).first
        if now not in self._music21:
            self._music21[now] = meter.TimeSignature(str(now))
        return self._music21[now]

    def time_signature(self, token: str, at: int) -> str:
        """Check a time signature written in the line; the token for music21."""
        try:
            written = Meter.parse(token)
        except ValueError as exc:
            raise NotationError(str(exc), at) from None
        where = self.meter.position(self.offset)
        if self.offset != self.meter.bar_start(where.bar):
            raise NotationError(f"the time signature {token} falls inside bar {where.bar}"
                                f" (beat {where.beat:g}); write it where a bar begins", at)
        if self.given is not None:
            if self.given.in_bar(where.bar) != written:
                raise NotationError(f"the time signature {token} at bar {where.bar} disagrees"
                                    f" with the spec's meter, {self.given.in_bar(where.bar)}"
                                    " there", at)
            return token
        if self.written is None:
            self.first_at = at
        changes = [c for c in self.meter.changes if c[0] < where.bar]
        self.meter = (written if where.bar == 1 else
                      self.meter.first.with_changes([*changes, (where.bar, written)]))
        self.written = self.meter
        return token


def _events(played: list[tuple[int, str, Any]]) -> list[MelodyEvent]:
    """The notes and rests in time, each tied note joined to the one it ties to."""
    out: list[MelodyEvent] = []
    offset, tied = Fraction(0), False
    for k, (at, token, el) in enumerate(played):
        duration = Fraction(el.duration.quarterLength).limit_denominator(1024)
        pitch = None if el.isRest else pitch_from_music21(el.pitch)
        fermata = has_fermata(el)
        if tied:
            start, length, held, held_fermata, lyric = out[-1]
            out[-1] = (start, length + duration, held, held_fermata or fermata, lyric)
        else:
            out.append((offset, duration, pitch, fermata, lyric_of(el)))
        tied = "~" in token
        if tied:
            nxt = played[k + 1][2] if k + 1 < len(played) else None
            if nxt is None or nxt.isRest or nxt.pitch.nameWithOctave != el.pitch.nameWithOctave:
                then = "nothing" if nxt is None else "a rest" if nxt.isRest else \
                    nxt.pitch.nameWithOctave.replace("-", "b")
                raise NotationError(f"'{token}': a tie joins two notes of the same pitch, but"
                                    f" it leads to {then}", at)
        offset += duration
    return out

