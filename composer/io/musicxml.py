"""The score file: a Piece written as MusicXML directly from its notes, the same bytes for
the same piece. Building a music21 score and having music21 write it took some 0.4 s a
piece, more than composing a short tune; a batch writes hundreds.

It is written as a choir score is printed (see `composer.io.layout`): the parts named
Soprano, Alto, Tenor, Bass; a pickup as a short bar 0 and the last bar its complement;
the lyrics under the melody; one staff per voice, or two voices to a staff with stems up
and down. The bars, printable values, ties, beams and accidentals are those of the
studio's preview (`composer.io.preview`), so the file and the preview are the same music.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape

from composer.io.accidentals import ACCIDENTAL_NAMES, Accidentals, key_signature
from composer.io.layout import Staff, staves_for, syllables, written_span
from composer.io.preview import (
    Bar,
    Written,
    _attributes,
    _bars,
    _beams,
    _closing,
    _metronome,
    _opening,
    _written,
)
from composer.music import Piece, Pitch

DIVISIONS = 10080  # per quarter: halves to 64ths, triplets, quintuplets and septuplets
VOICE_PROGRAM = 54  # General MIDI "Voice Oohs", counted from 1 as MusicXML counts
_STEMS = ("up", "down")


@dataclass(frozen=True)
class _Layer:
    """One voice's notes in one bar of a staff, and how they are printed."""

    notes: list[Written]
    number: int  # the MusicXML voice: 1 upper, 2 lower
    shared: bool  # two voices on the staff: voice numbers and stems are written


def score_musicxml(piece: Piece, layout: str = "satb") -> str:
    """The piece as MusicXML (partwise 4.0) in the given layout (`LAYOUTS`)."""
    staves = staves_for(piece.voices, layout)
    span = written_span(piece)
    bars = list(_bars(piece.meter, span))
    lines = dict(zip(piece.voices, piece.lines, strict=True))
    written = {v: _written(lines[v], bars) for v in piece.voices}
    words = {id(n): s for line in piece.lines
             for n, s in zip(line, syllables([n.lyric for n in line]), strict=True) if s}
    divisions = _divisions(written, bars)
    out = [_header(piece, staves)]
    for s, staff in enumerate(staves):
        out.append(f'<part id="P{s + 1}">')
        held = key_signature(piece.key)
        for b, bar in enumerate(bars):
            held = held.next_bar()
            layers = [_Layer(written[v][b], k + 1, len(staff.voices) > 1)
                      for k, v in enumerate(staff.voices)]
            out.append(_measure(piece, bar, layers, divisions, words, held,
                                staff.clef if b == 0 else None,
                                piece.tempo if b == s == 0 else None, b == len(bars) - 1))
        out.append("</part>")
    out.append("</score-partwise>\n")
    return "\n".join(out)


def _divisions(written: dict[str, list[list[Written]]], bars: list[Bar]) -> int:
    """DIVISIONS, or a multiple of it where some value is finer still."""
    finest = math.lcm(*(w.length.denominator for line in written.values() for bar in line
                        for w in bar), *(bar.start.denominator for bar in bars))
    return math.lcm(DIVISIONS, finest)


def _header(piece: Piece, staves: tuple[Staff, ...]) -> str:
    title = escape(piece.title or "Partimento")
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN"'
           ' "http://www.musicxml.org/dtds/partwise.dtd">',
           '<score-partwise version="4.0">',
           f"<work><work-title>{title}</work-title></work>",
           f"<movement-title>{title}</movement-title>",
           '<identification><creator type="composer">Partimento</creator></identification>',
           "<defaults><scaling><millimeters>7</millimeters><tenths>40</tenths></scaling>"
           "</defaults>",
           "<part-list>"]
    group = len(staves) > 1  # the choir's staves bracketed, barlines through each
    if group:
        out.append('<part-group number="1" type="start"><group-symbol>bracket</group-symbol>'
                   "<group-barline>no</group-barline></part-group>")
    for s, staff in enumerate(staves, 1):
        name, short = escape(staff.name), escape(staff.abbreviation)
        out.append(f'<score-part id="P{s}"><part-name>{name}</part-name>'
                   f"<part-abbreviation>{short}</part-abbreviation>"
                   f'<score-instrument id="I{s}"><instrument-name>{name}</instrument-name>'
                   f"<instrument-abbreviation>{short}</instrument-abbreviation>"
                   f'</score-instrument><midi-instrument id="I{s}">'
                   f"<midi-channel>{s if s < 10 else s + 1}</midi-channel>"
                   f"<midi-program>{VOICE_PROGRAM}</midi-program></midi-instrument>"
                   "</score-part>")
    if group:
        out.append('<part-group number="1" type="stop"/>')
    out.append("</part-list>")
    return "\n".join(out)


def _measure(piece: Piece, bar: Bar, layers: list[_Layer], divisions: int,
             words: dict[int, tuple[str, str]], held: Accidentals, clef: str | None,
             tempo: int | None, last: bool) -> str:
    """One bar of one staff: its attributes where they begin or change, then each voice
    (the lower one after a backup to the bar's start)."""
    out = [f'<measure number="{bar.number}" implicit="{"yes" if bar.number == 0 else "no"}">']
    out += _attributes(piece.key, bar, divisions, clef) + _metronome(tempo)
    shown = _shared_accidentals(layers, held) if len(layers) > 1 else \
        _own_accidentals(layers[0].notes, held)
    for k, layer in enumerate(layers):
        if k:
            out.append(f"<backup><duration>{int((bar.end - bar.start) * divisions)}"
                       "</duration></backup>")
        beams, tuplets = _beams(layer.notes, bar), _tuplets(layer.notes)
        out += [_note(w, divisions, layer, shown.get(id(w)), beam, tuplets.get(id(w), ()),
                      words.get(id(w.note)) if w.first else None)
                for w, beam in zip(layer.notes, beams, strict=True)]
    if last:
        out.append('<barline location="right"><bar-style>light-heavy</bar-style></barline>')
    out.append("</measure>")
    return "".join(out)


def _own_accidentals(notes: list[Written], held: Accidentals) -> dict[int, str]:
    """The accidentals of a voice alone on its staff, as the preview prints them."""
    shown = {}
    for w in notes:
        pitch = w.note.pitch
        if pitch is None:
            continue
        if w.tie_stop:
            held.hold(pitch)
        elif (sign := held.shown(pitch)) is not None:
            shown[id(w)] = sign
    return shown


def _shared_accidentals(layers: list[_Layer], held: Accidentals) -> dict[int, str]:
    """The accidentals of a staff two voices share, as the staff reads: an accidental
    holds to the end of the bar whichever voice wrote it, and two voices striking one
    line or space at once in different spellings both show theirs."""
    onsets: dict[Fraction, list[Written]] = {}
    for layer in layers:
        for w in layer.notes:
            if w.note.pitch is not None and not w.tie_stop:
                onsets.setdefault(w.at, []).append(w)
    written: dict[tuple[int, int], int] = {}  # (step, octave): alter, this bar
    shown = {}
    for at in sorted(onsets):
        struck = onsets[at]
        spellings: dict[tuple[int, int], set[int]] = {}
        for w in struck:
            pitch = _pitch(w)
            spellings.setdefault((pitch.step, pitch.octave), set()).add(pitch.alter)
        for w in struck:
            pitch = _pitch(w)
            place = (pitch.step, pitch.octave)
            before = written.get(place, held.signature.get(pitch.step, 0))
            if pitch.alter != before or len(spellings[place]) > 1:
                shown[id(w)] = ACCIDENTAL_NAMES[pitch.alter]
        for w in struck:
            pitch = _pitch(w)
            written[(pitch.step, pitch.octave)] = pitch.alter
    return shown


def _tuplets(notes: list[Written]) -> dict[int, tuple[str, ...]]:
    """Where each triplet begins and ends ("start", "stop"): three of its shortest value
    make one, a quarter and an eighth too. MuseScore mends a triplet left unmarked, and
    says so."""
    marks: dict[int, tuple[str, ...]] = {}
    group: list[Written] = []

    def close() -> None:
        if group:
            marks[id(group[0])] = ("start",)
            marks[id(group[-1])] = (*marks.get(id(group[-1]), ()), "stop")
            group.clear()

    for w in notes:
        if not w.triplet:
            close()
            continue
        group.append(w)
        written = sum(g.length for g in group) * Fraction(3, 2)  # as the values are named
        if written >= 3 * min(g.length for g in group) * Fraction(3, 2):
            close()
    close()
    return marks


def _pitch(w: Written) -> Pitch:
    assert w.note.pitch is not None
    return w.note.pitch


def _note(w: Written, divisions: int, layer: _Layer, accidental: str | None,
          beam: tuple[str | None, str | None], tuplet: tuple[str, ...],
          lyric: tuple[str, str] | None) -> str:
    """One written note or rest, its elements in the order MusicXML requires."""
    pitch = w.note.pitch
    parts = _opening(w, divisions)
    ties = [t for t, on in (("stop", w.tie_stop), ("start", w.tie_start))
            if on and pitch is not None]
    parts += [f'<tie type="{t}"/>' for t in ties]
    if layer.shared:
        parts.append(f"<voice>{layer.number}</voice>")
    parts.append(f"<type>{w.type}</type>" + "<dot/>" * w.dots)
    if accidental is not None:
        parts.append(f"<accidental>{accidental}</accidental>")
    if w.triplet:
        parts.append("<time-modification><actual-notes>3</actual-notes>"
                     "<normal-notes>2</normal-notes></time-modification>")
    if layer.shared and pitch is not None:
        parts.append(f"<stem>{_STEMS[layer.number - 1]}</stem>")
    parts += [f'<beam number="{n}">{b}</beam>' for n, b in enumerate(beam, 1) if b]
    notations = [f'<tied type="{t}"/>' for t in ties]
    notations += [f'<tuplet type="{t}"/>' for t in tuplet]
    if w.note.fermata and w.first:  # over the staff; under it for the lower voice of two
        shape = "inverted" if layer.shared and layer.number == 2 else "upright"
        notations.append(f'<fermata type="{shape}"/>')
    return "".join(parts + _closing(notations, lyric))
