"""The studio's preview: a Piece as MusicXML for verovio, written directly in a millisecond
or two. music21 takes some 150 ms to build and write a 16-bar score, more than a whole
revision; a regenerated passage must be on the screen in under 100 ms. The files a user
downloads are written by `composer.io.musicxml` on the same bars and notes: the same
bars (a pickup as bar 0, the last bar its complement), clefs, part names, lyrics and
fermatas, so the preview and the file are the same music (tests/test_preview.py reads
both back with music21 and compares them note for note)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape

from composer.io.accidentals import Accidentals, key_fifths, key_signature
from composer.io.layout import CLEF_SIGNS, Span, Staff, staves_for, syllables, written_span
from composer.music import Key, Meter, Note, Piece

_TYPES = ((Fraction(4), "whole"), (Fraction(2), "half"), (Fraction(1), "quarter"),
          (Fraction(1, 2), "eighth"), (Fraction(1, 4), "16th"), (Fraction(1, 8), "32nd"),
          (Fraction(1, 16), "64th"))
_SHAPES = sorted(((base * (2 - Fraction(1, 2 ** dots)) * tuplet, name, dots, tuplet)
                  for base, name in _TYPES for dots in (0, 1, 2)
                  for tuplet in (Fraction(1), Fraction(2, 3)) if not (dots and tuplet != 1)),
                 key=lambda s: -s[0])


@dataclass(frozen=True)
class Bar:
    number: int
    start: Fraction  # quarters from the piece's start
    end: Fraction
    meter: Meter
    meter_start: Fraction  # where the bar would start were it whole (a pickup's is earlier)
    shows_meter: bool


@dataclass(frozen=True)
class Written:
    """One note or rest as printed: a piece of a Note within a bar, in a value that has a
    shape (a half tied to an eighth where the Note lasts five eighths)."""

    at: Fraction
    length: Fraction
    type: str
    dots: int
    triplet: bool
    note: Note
    tie_stop: bool
    tie_start: bool
    first: bool  # the Note's first written piece: it carries the lyric and fermata
    hidden: bool = False  # a rest filling a bar the line leaves unfinished


@dataclass(frozen=True)
class System:
    """A few bars of the score as a MusicXML score of their own, engraved as one line of
    music: a revision changes a system or two, and only those are engraved again."""

    musicxml: str
    first_bar: int  # as printed (a pickup is bar 0)
    last_bar: int
    start: Fraction  # quarters from the score's first written note


def preview_musicxml(piece: Piece) -> str:
    """The piece as MusicXML (partwise 4.0), one staff per voice."""
    return _scores(piece, None)[0].musicxml


def preview_systems(piece: Piece, quarters: int = 16) -> list[System]:
    """The piece as systems of about `quarters` quarter notes each (four bars of 4/4,
    five of 3/4); a pickup goes with the first system, its title too."""
    return _scores(piece, max(2, round(quarters / piece.meter.first.bar_length)))


def _scores(piece: Piece, per_system: int | None) -> list[System]:
    span = written_span(piece)
    bars = list(_bars(piece.meter, span))
    cut = len(bars) if per_system is None else per_system + (bars[0].number == 0)
    groups = [range(0, min(cut, len(bars)))]
    while groups[-1].stop < len(bars):
        groups.append(range(groups[-1].stop, min(groups[-1].stop + (per_system or 0),
                                                 len(bars))))
    if len(groups) > 1 and 2 * len(groups[-1]) < len(groups[-2]):  # no bar left alone
        groups[-2:] = [range(groups[-2].start, groups[-1].stop)]
    staves = staves_for(piece.voices, "satb")
    lines = dict(zip(piece.voices, piece.lines, strict=True))
    words = {id(n): s for line in piece.lines
             for n, s in zip(line, syllables([n.lyric for n in line]), strict=True) if s}
    shown = [lines[staff.voices[0]] for staff in staves]
    out = []
    for g, group in enumerate(groups):
        before = bars[group.start - 1] if group.start else None
        notes = tuple(tuple((n, words.get(id(n)))
                            for n in _sounding(line, bars[group.start], bars[group.stop - 1]))
                      for line in shown)
        carried = None if before is None else tuple(_altered(line, before) for line in shown)
        head = (piece.title, piece.key, piece.tempo) if g == 0 else (None, piece.key, None)
        out.append(System(_system(head, staves, tuple(bars[b] for b in group), carried, notes),
                          bars[group.start].number, bars[group.stop - 1].number,
                          bars[group.start].start - span.start))
    return out


def _sounding(line: tuple[Note, ...], first: Bar, last: Bar) -> Iterator[Note]:
    return (n for n in line if n.offset < last.end and n.offset + n.duration > first.start)


def _altered(line: tuple[Note, ...], bar: Bar) -> tuple[tuple[int, int], ...]:
    """Each step's last alteration in the bar: all a system needs of the bar before."""
    last = {w.note.pitch.step: w.note.pitch.alter
            for w in _written(tuple(_sounding(line, bar, bar)), [bar])[0] if w.note.pitch}
    return tuple(sorted(last.items()))


@functools.lru_cache(maxsize=64)
def _system(head: tuple[str | None, Key, int | None], staves: tuple[Staff, ...],
            bars: tuple[Bar, ...], carried: tuple[tuple[tuple[int, int], ...], ...] | None,
            notes: tuple[tuple[tuple[Note, tuple[str, str] | None], ...], ...]) -> str:
    """One system's MusicXML from all it shows: its bars, each staff's notes there with
    their syllables, the steps the bar before left altered (`carried`; None on the first
    system), the title and tempo on the first (`head`). Kept, so that a revision writes
    again only the systems it changed."""
    title, key, tempo = head
    first = carried is None
    parts: list[list[str]] = []
    for s, staff in enumerate(staves):
        line = tuple(n for n, _ in notes[s])
        words = {id(n): w for n, w in notes[s] if w}
        held = key_signature(key)
        if carried is not None:
            held.steps.update(carried[s])
        written = _written(line, list(bars))
        measures: list[str] = []
        divisions = math.lcm(*(w.length.denominator for bar in written for w in bar),
                             *(bar.start.denominator for bar in bars), 1)
        for b, bar in enumerate(bars):
            held = held.next_bar()
            measures += _measure(key, bar, written[b], divisions, words, held,
                                 b == 0 and (staff.clef, not first),
                                 tempo if b == s == 0 else None)
        parts.append(measures)
    return _score(title, staves, first, parts)


def _score(title: str | None, staves: tuple[Staff, ...], first: bool,
           parts: list[list[str]]) -> str:
    """A score of some bars: the title on the first; later ones name the parts short."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<score-partwise version="4.0">']
    if first:
        out += [f"<movement-title>{escape(title or 'Partimento')}</movement-title>",
                '<identification><creator type="composer">Partimento</creator>'
                "</identification>"]
    group = len(staves) > 1  # bracketed, as the choir's staves are in the files
    out.append("<part-list>")
    if group:
        out.append('<part-group number="1" type="start"><group-symbol>bracket</group-symbol>'
                   "<group-barline>no</group-barline></part-group>")
    out += [f'<score-part id="P{s + 1}"><part-name>'
            f"{escape(staff.name if first else staff.abbreviation)}</part-name>"
            f"<part-abbreviation>{escape(staff.abbreviation)}</part-abbreviation></score-part>"
            for s, staff in enumerate(staves)]
    if group:
        out.append('<part-group number="1" type="stop"/>')
    out.append("</part-list>")
    for s, measures in enumerate(parts):
        out += [f'<part id="P{s + 1}">', *measures, "</part>"]
    out.append("</score-partwise>\n")
    return "\n".join(out)


def _bars(meter: Meter, span: Span) -> Iterator[Bar]:
    """The printed bars: with a pickup the meter's first bar is bar 0 and starts late."""
    first_number = 0 if span.start else 1
    k = 1
    while meter.bar_start(k) < span.end:
        start, whole_end = meter.bar_start(k), meter.bar_start(k) + meter.in_bar(k).bar_length
        yield Bar(k - 1 + first_number, max(start, span.start), min(whole_end, span.end),
                  meter.in_bar(k), start, k == 1 or meter.in_bar(k) != meter.in_bar(k - 1))
        k += 1


def _written(line: tuple[Note, ...], bars: list[Bar]) -> list[list[Written]]:
    """The line's notes and rests bar by bar, in printable values; a gap no note covers
    is a hidden rest. One pass over the line: a note reaches into the bars it spans."""
    out: list[list[Written]] = [[] for _ in bars]
    reached = [bar.start for bar in bars]  # how far each bar is written
    b = 0
    for note in line:
        end = note.offset + note.duration
        while b < len(bars) and bars[b].end <= note.offset:
            b += 1
        for k in range(b, len(bars)):
            bar = bars[k]
            if bar.start >= end:
                break
            start, stop = max(note.offset, bar.start), min(end, bar.end)
            if start > reached[k]:
                out[k] += _shapes(Note(reached[k], start - reached[k], None), reached[k],
                                  start - reached[k], True, False, True)
            out[k] += _shapes(note, start, stop - start, start == note.offset, end > stop)
            reached[k] = stop
    for k, bar in enumerate(bars):
        if reached[k] < bar.end:
            out[k] += _shapes(Note(reached[k], bar.end - reached[k], None), reached[k],
                              bar.end - reached[k], True, False, True)
    return out


def _shapes(note: Note, at: Fraction, length: Fraction, begins: bool, goes_on: bool,
            hidden: bool = False) -> Iterator[Written]:
    """A stretch of one note as values with a shape, tied together, largest first."""
    pieces = _values(length)
    for k, (value, name, dots, triplet) in enumerate(pieces):
        yield Written(at, value, name, dots, triplet, note,
                      tie_stop=k > 0 or not begins, tie_start=k < len(pieces) - 1 or goes_on,
                      first=begins and k == 0, hidden=hidden)
        at += value


@functools.lru_cache(maxsize=256)
def _values(length: Fraction) -> tuple[tuple[Fraction, str, int, bool], ...]:
    """The shaped values a length is written in (a piece has only a few lengths)."""
    pieces = []
    left = length
    while left > 0:
        value, name, dots, tuplet = next((s for s in _SHAPES if s[0] <= left), _SHAPES[-1])
        pieces.append((min(value, left), name, dots, tuplet != 1))
        left -= min(value, left)
    return tuple(pieces)


def _measure(key: Key, bar: Bar, notes: list[Written], divisions: int,
             words: dict[int, tuple[str, str]], held: Accidentals,
             opens: tuple[str, bool] | bool, tempo: int | None) -> list[str]:
    """One bar of one staff; `opens`: (clef, later) where it begins a system (a later
    system restates the clef and key, and the meter unseen)."""
    implicit = ' implicit="yes"' if bar.number == 0 else ""
    out = [f'<measure number="{bar.number}"{implicit}>']
    clef, later = opens if isinstance(opens, tuple) else (None, False)
    out += _attributes(key, bar, divisions, clef, later) + _metronome(tempo)
    beams = _beams(notes, bar)
    for w, beam in zip(notes, beams, strict=True):
        out.append(_note(w, divisions, held, beam, words.get(id(w.note)) if w.first else None))
    out.append("</measure>")
    return out


def _attributes(key: Key, bar: Bar, divisions: int, clef: str | None, later: bool = False
                ) -> list[str]:
    """Where a staff begins (`clef`) or the meter changes: divisions, key, meter and clef
    (a `later` system restates the meter unseen)."""
    if clef is None and not bar.shows_meter:
        return []
    out = ["<attributes>"]
    if clef is not None:
        out.append(f"<divisions>{divisions}</divisions><key><fifths>{key_fifths(key)}</fifths>"
                   f"<mode>{key.mode}</mode></key>")
    hidden = ' print-object="no"' if later and not bar.shows_meter else ""
    out.append(f"<time{hidden}><beats>{bar.meter.numerator}</beats>"
               f"<beat-type>{bar.meter.denominator}</beat-type></time>")
    if clef is not None:
        sign, line, octave = CLEF_SIGNS[clef]
        change = f"<clef-octave-change>{octave}</clef-octave-change>" if octave else ""
        out.append(f"<clef><sign>{sign}</sign><line>{line}</line>{change}</clef>")
    return out + ["</attributes>"]


def _metronome(tempo: int | None) -> list[str]:
    return [] if tempo is None else [
        '<direction placement="above"><direction-type><metronome><beat-unit>quarter'
        f"</beat-unit><per-minute>{tempo}</per-minute></metronome></direction-type>"
        f'<sound tempo="{tempo}"/></direction>']


def _opening(w: Written, divisions: int) -> list[str]:
    """A note's first elements, as every writer of ours writes them: the note, its pitch
    (or a rest) and its duration."""
    pitch = w.note.pitch
    head = '<note print-object="no">' if w.hidden else "<note>"
    if pitch is None:
        return [head, "<rest/>", f"<duration>{int(w.length * divisions)}</duration>"]
    alter = f"<alter>{pitch.alter}</alter>" if pitch.alter else ""
    return [head, f"<pitch><step>{'CDEFGAB'[pitch.step]}</step>{alter}<octave>{pitch.octave}"
            "</octave></pitch>", f"<duration>{int(w.length * divisions)}</duration>"]


def _note(w: Written, divisions: int, held: Accidentals,
          beam: tuple[str | None, str | None], lyric: tuple[str, str] | None) -> str:
    pitch = w.note.pitch
    parts = _opening(w, divisions)
    if pitch is not None:
        parts += [f'<tie type="{t}"/>' for t, on in (("stop", w.tie_stop),
                                                    ("start", w.tie_start)) if on]
    parts.append(f"<type>{w.type}</type>" + "<dot/>" * w.dots)
    if pitch is not None:
        shown = held.shown(pitch) if not w.tie_stop else None
        if w.tie_stop:
            held.hold(pitch)
        if shown:
            parts.append(f"<accidental>{shown}</accidental>")
    if w.triplet:
        parts.append("<time-modification><actual-notes>3</actual-notes>"
                     "<normal-notes>2</normal-notes></time-modification>")
    parts += [f'<beam number="{n}">{b}</beam>' for n, b in enumerate(beam, 1) if b]
    notations = [f'<tied type="{t}"/>' for t, on in (("stop", w.tie_stop),
                                                      ("start", w.tie_start))
                 if on and pitch is not None]
    if w.note.fermata and w.first:
        notations.append('<fermata type="upright"/>')
    return "".join(parts + _closing(notations, lyric))


def _closing(notations: list[str], lyric: tuple[str, str] | None) -> list[str]:
    """A note's last elements, as every writer of ours writes them."""
    out = ["<notations>" + "".join(notations) + "</notations>"] if notations else []
    if lyric is not None:
        out.append(f'<lyric number="1"><syllabic>{lyric[1]}</syllabic>'
                   f"<text>{escape(lyric[0])}</text></lyric>")
    return out + ["</note>"]


def _beams(notes: list[Written], bar: Bar) -> list[tuple[str | None, str | None]]:
    """Eighths and shorter beamed within each beat (a dotted quarter in compound time, a
    quarter otherwise); sixteenths get a second beam among themselves."""
    group = bar.meter.beat_length if bar.meter.compound else Fraction(1)
    out: list[tuple[str | None, str | None]] = [(None, None)] * len(notes)
    run: list[int] = []

    def close() -> None:
        if len(run) > 1:
            for k, i in enumerate(run):
                first = "begin" if k == 0 else "end" if k == len(run) - 1 else "continue"
                out[i] = (first, _second(notes, run, k))
        run.clear()

    for i, w in enumerate(notes):
        short = w.note.pitch is not None and w.length * (1 + w.triplet) < 1 \
            and w.type not in ("quarter", "half", "whole")
        beat = (w.at - bar.meter_start) // group
        if not short or (run and (notes[run[-1]].at - bar.meter_start) // group != beat):
            close()
        if short:
            run.append(i)
    close()
    return out


def _second(notes: list[Written], run: list[int], k: int) -> str | None:
    """The second beam of a sixteenth within a beamed group."""
    def sixteenth(j: int) -> bool:
        return 0 <= j < len(run) and notes[run[j]].type in ("16th", "32nd", "64th")

    if not sixteenth(k):
        return None
    before, after = sixteenth(k - 1), sixteenth(k + 1)
    if before and after:
        return "continue"
    if after:
        return "begin"
    if before:
        return "end"
    return "forward hook" if k == 0 else "backward hook"
