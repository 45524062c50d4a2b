"""Scores out: a Piece written as MusicXML, MIDI, JSON, SVG pages and PDF, all or nothing.

A musician reads what is written here, so it is written as a choir score is printed: the
parts named Soprano, Alto, Tenor, Bass; a pickup as a short bar 0 and the last bar its
complement; the lyrics under the melody; one staff per voice or two staves (`LAYOUTS`).
The same piece always gives the same bytes.

The files are made by writers of our own (composer.io.musicxml, composer.io.midi), some
forty times faster than through music21. The piece as a music21 Score is still made here,
for `Composition.to_music21` and as the reference the files are tested against.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from composer.errors import ScoreError
from composer.io.abc import music21_module
from composer.io.engrave import engrave_pages, find_musescore, musescore_pdf
from composer.io.layout import (  # noqa: F401 (named here too, as before)
    LAYOUTS,
    Span,
    Staff,
    piece_end,
    staves_for,
    syllables,
    written_span,
)
from composer.io.midi import midi_bytes
from composer.io.musicxml import score_musicxml
from composer.music import Note, Piece, Pitch

OUTPUT_SUFFIXES = (".musicxml", ".mid", ".json", ".svg", ".pdf")


# Names of the files -------------------------------------------------------------------------

def output_base(out: Path) -> Path:
    """OUT as the user gave it, less a suffix Partimento writes (`-o ode.musicxml` is
    `-o ode`); any other dot stays part of the name (`-o ode.3` writes ode.3.musicxml)."""
    out = Path(out)
    if out.suffix.lower() in OUTPUT_SUFFIXES and out.stem:
        return out.with_name(out.stem)
    return out


def output_path(base: Path, suffix: str) -> Path:
    return base.with_name(base.name + suffix)


def svg_paths(base: Path, pages: int) -> list[Path]:
    """OUT.svg for a one-page score; OUT-1.svg, OUT-2.svg … when there are more."""
    if pages == 1:
        return [output_path(base, ".svg")]
    return [output_path(base, f"-{n}.svg") for n in range(1, pages + 1)]


# The score ----------------------------------------------------------------------------------

def piece_to_music21(piece: Piece, layout: str = "satb", pickup_bar: bool = True) -> Any:
    """A music21 Score of a Piece, with fixed ids so the same piece writes the same bytes.

    Without `pickup_bar` the silence before a pickup stays, as rests: MIDI has no short
    bar, and a pickup at its start would be heard as a downbeat."""
    m21 = music21_module()
    staves = staves_for(piece.voices, layout)
    span = written_span(piece) if pickup_bar else Span(Fraction(0), piece_end(piece))
    score = m21.stream.Score(id="partimento")
    score.metadata = m21.metadata.Metadata()
    score.metadata.title = piece.title or "Partimento"
    score.metadata.composer = "Partimento"
    lines = {voice: _line_measures(piece, notes, span)
             for voice, notes in zip(piece.voices, piece.lines, strict=True)}
    parts = []
    for s, staff in enumerate(staves):
        part = (lines[staff.voices[0]] if len(staff.voices) == 1
                else _shared_staff([lines[v] for v in staff.voices]))
        part.id = f"P{s + 1}"
        part.insert(0, _instrument(staff))
        first = part.getElementsByClass(m21.stream.Measure).first()
        first.clef = _clef(staff.clef)  # in place of the one music21 guessed
        if s == 0:
            tempo = m21.tempo.MetronomeMark(number=piece.tempo)
            tempo.placement = "above"  # MuseScore puts it under the staff otherwise
            first.insert(0, tempo)
        parts.append(part)
        score.insert(0, part)
    if len(parts) > 1:
        score.insert(0, m21.layout.StaffGroup(parts, symbol="bracket", barTogether=False))
    score.makeNotation(inPlace=True)
    for part, staff in zip(parts, staves, strict=True):
        if len(staff.voices) > 1:
            _shared_accidentals(part)
    # A bar some voice leaves unfinished is filled with hidden rests, as music21 would do
    # on writing if asked to make the notation again (a copy of the whole score).
    for part in score.parts:
        part.makeRests(fillGaps=True, inPlace=True, hideRests=True,
                       timeRangeFromBarDuration=True)
    # A value no single note shape can show (a rest of 4½ quarters) becomes tied notes
    # or rests that can.
    if any(el.duration.type == "complex" for el in score.recurse().notesAndRests):
        score.splitAtDurations(recurse=True)
    return score


def _instrument(staff: Staff) -> Any:
    """A voice named as the choir calls it: music21's vocal instruments would print
    'Voice' otherwise, whatever the part is called."""
    m21 = music21_module()
    known = {"Soprano": m21.instrument.Soprano, "Alto": m21.instrument.Alto,
             "Tenor": m21.instrument.Tenor, "Bass": m21.instrument.Bass}
    inst = known.get(staff.name, m21.instrument.Vocalist)()
    inst.partName = inst.instrumentName = staff.name
    inst.partAbbreviation = inst.instrumentAbbreviation = staff.abbreviation
    return inst


def _clef(name: str) -> Any:
    m21 = music21_module()
    return {"treble": m21.clef.TrebleClef, "treble8vb": m21.clef.Treble8vbClef,
            "bass": m21.clef.BassClef}[name]()


def _line_measures(piece: Piece, notes: tuple[Note, ...], span: Span) -> Any:
    """One voice in bars: the rests before a pickup and after its complement left out,
    the pickup bar numbered 0 and padded, the later bars numbered from 1."""
    m21 = music21_module()
    part = m21.stream.Part()
    part.insert(0, m21.key.Key(piece.key.tonic.name.replace("b", "-"), piece.key.mode))
    part.insert(0, m21.meter.TimeSignature(str(piece.meter.first)))
    for bar, meter in piece.meter.changes:
        part.insert(float(piece.meter.bar_start(bar)), m21.meter.TimeSignature(str(meter)))
    lyrics = syllables([n.lyric for n in notes])
    for note, lyric in zip(notes, lyrics, strict=True):
        start, stop = max(note.offset, span.start), min(note.offset + note.duration, span.end)
        if stop > start:
            part.insert(float(start), _element(note, stop - start, lyric))
    measures = part.makeMeasures()
    measures.makeTies(inPlace=True)  # at the full bars' lines, before the pickup moves
    # Tying marks a tied-over accidental as not shown, and music21 then takes the whole
    # line's accidentals as made: a natural against the key signature went unprinted.
    for pitch in measures.pitches:
        if pitch.accidental is not None:
            pitch.accidental.displayStatus = None
    if span.start:
        _as_anacrusis(measures, float(span.start))
    if span.last_padding:
        last = measures.getElementsByClass(m21.stream.Measure).last()
        last.paddingRight = float(span.last_padding)
    return measures


def _element(note: Note, duration: Fraction, lyric: tuple[str, str] | None) -> Any:
    m21 = music21_module()
    if note.pitch is None:
        el = m21.note.Rest(quarterLength=duration)
    else:
        el = m21.note.Note(quarterLength=duration)
        el.pitch = _m21_pitch(note.pitch)
        if lyric is not None:
            el.lyrics.append(m21.note.Lyric(text=lyric[0], syllabic=lyric[1]))
    if note.fermata:
        el.expressions.append(m21.expressions.Fermata())
    return el


def _as_anacrusis(part: Any, lead: float) -> None:
    """The first bar, which starts after `lead` quarters of silence, as a pickup: bar 0,
    implicit (left out of the bar count), its notes moved to its start and padded."""
    m21 = music21_module()
    measures = list(part.getElementsByClass(m21.stream.Measure))
    first = measures[0]
    first.shiftElements(-lead, startOffset=lead, classFilterList=[m21.note.GeneralNote])
    first.paddingLeft = lead
    first.number = 0
    first.showNumber = m21.stream.enums.ShowNumber.NEVER
    for m in measures[1:]:
        part.setElementOffset(m, part.elementOffset(m) - lead)
        m.number -= 1


def _shared_staff(lines: list[Any]) -> Any:
    """Two voices' bars on one staff: the upper voice stems up, the lower stems down."""
    m21 = music21_module()
    staff = m21.stream.Part()
    bars = [list(line.getElementsByClass(m21.stream.Measure)) for line in lines]
    for measures in zip(*bars, strict=True):
        upper = measures[0]
        bar = m21.stream.Measure(number=upper.number)
        bar.paddingLeft, bar.paddingRight = upper.paddingLeft, upper.paddingRight
        bar.showNumber = upper.showNumber
        for el in upper.getElementsByClass((m21.key.KeySignature, m21.meter.TimeSignature)):
            bar.insert(upper.elementOffset(el), el)
        for k, (m, stem) in enumerate(zip(measures, ("up", "down"), strict=False)):
            voice = m21.stream.Voice(id=str(k + 1))
            for el in m.notesAndRests:
                if el.isNote:
                    el.stemDirection = stem
                voice.insert(m.elementOffset(el), el)
            bar.insert(0, voice)
        staff.insert(lines[0].elementOffset(upper), bar)
    return staff


def _shared_accidentals(staff: Any) -> None:
    """The accidentals of a staff two voices share, as the staff reads: an accidental
    holds to the end of the bar whichever voice wrote it, and two voices striking one
    line or space at once in different spellings both show theirs (music21 reads each
    voice as if it were alone)."""
    m21 = music21_module()
    key = None
    for bar in staff.getElementsByClass(m21.stream.Measure):
        key = bar.getElementsByClass(m21.key.KeySignature).first() or key
        held: dict[tuple[str, int], float] = {}  # (step, octave): alter, this bar
        onsets: dict[float, list[Any]] = {}
        for voice in bar.voices:
            for n in voice.notes:
                onsets.setdefault(float(voice.elementOffset(n)), []).append(n)
        for _, notes in sorted(onsets.items(), key=lambda item: item[0]):
            struck = [n for n in notes if n.tie is None or n.tie.type == "start"]
            spellings: dict[tuple[str, int], set[float]] = {}
            for n in struck:
                spellings.setdefault((n.pitch.step, n.pitch.octave), set()).add(n.pitch.alter)
            for n in struck:
                place = (n.pitch.step, n.pitch.octave)
                signed = key.accidentalByStep(n.pitch.step) if key is not None else None
                before = held.get(place, signed.alter if signed is not None else 0.0)
                _show_accidental(n.pitch, n.pitch.alter != before or len(spellings[place]) > 1)
            for n in struck:
                held[(n.pitch.step, n.pitch.octave)] = n.pitch.alter


def _show_accidental(pitch: Any, show: bool) -> None:
    if show and pitch.accidental is None:
        pitch.accidental = music21_module().pitch.Accidental("natural")
    if pitch.accidental is not None:
        pitch.accidental.displayStatus = show


def _m21_pitch(pitch: Pitch) -> Any:
    m21 = music21_module()
    return m21.pitch.Pitch("CDEFGAB"[pitch.step] + "-#"[pitch.alter > 0] * abs(pitch.alter)
                           + str(pitch.octave))


_ENCODING_DATE = re.compile(r"\s*<encoding-date>[^<]*</encoding-date>")
_RANDOM_ID = re.compile(r'"([PI])([0-9a-f]{32})"')


def stable_musicxml(text: str) -> str:
    """music21 stamps the date and random part ids; the same piece must give the same
    bytes, so the date goes and the ids are numbered in order of appearance."""
    names: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        key = m.group(1) + m.group(2)
        if key not in names:
            names[key] = f"{m.group(1)}{sum(k[0] == m.group(1) for k in names) + 1}"
        return f'"{names[key]}"'

    return _RANDOM_ID.sub(number, _ENCODING_DATE.sub("", text))


# Writing ------------------------------------------------------------------------------------

def output_files(piece: Piece, document: dict[str, Any], svg: bool = False,
                 layout: str = "satb") -> dict[str, bytes]:
    """Every file's bytes, by what follows OUT in its name (".musicxml", ".mid", ".json",
    ".svg" or "-1.svg", "-2.svg" …), made in memory: a batch's worker sends them to the
    driver, `write_outputs` writes them."""
    text = score_musicxml(piece, layout)
    files = {".musicxml": text.encode("utf-8"), ".mid": midi_bytes(piece),
             ".json": (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False)
                       + "\n").encode("utf-8")}
    if svg:
        pages = engrave_pages(text)
        for page, path in zip(pages, svg_paths(Path("x"), len(pages)), strict=True):
            files[path.name[1:]] = page.encode("utf-8")
    return files


def write_outputs(piece: Piece, base: Path, document: dict[str, Any], svg: bool = False,
                  pdf: bool = False, layout: str = "satb") -> list[Path]:
    """OUT.musicxml, OUT.mid, OUT.json (and the SVG pages, OUT.pdf): all written, or none.

    Everything is made in a folder beside OUT first and moved into place only when all
    of it is there. The MIDI file has a track per voice whatever the layout, for
    rehearsing a part, and keeps the silence before a pickup (see composer.io.midi)."""
    base = output_base(Path(base))
    files = output_files(piece, document, svg, layout)
    musescore = find_musescore() if pdf else None
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=base.parent, prefix=".partimento-") as tmp:
            staged = [(Path(tmp) / f"score{ending}", output_path(base, ending))
                      for ending in files]
            for (path, _), data in zip(staged, files.values(), strict=True):
                path.write_bytes(data)
            if musescore is not None:
                staged.append((Path(tmp) / "score.pdf", output_path(base, ".pdf")))
                musescore_pdf(musescore, staged[0][0], staged[-1][0])
            for _, target in staged:
                if target.is_dir():
                    raise ScoreError(f"{target}: is a folder; name the output otherwise")
            for path, target in staged:
                os.replace(path, target)
    except OSError as exc:
        raise ScoreError(f"{base}: cannot be written ({exc.strerror or exc})") from None
    return [target for _, target in staged]


def musicxml_text(score: Any, staged: Path) -> str:
    """A music21 score's MusicXML as music21 writes it, the same bytes for the same
    piece, written to `staged` (the files use `score_musicxml`; this is the reference
    it is checked against)."""
    text = stable_musicxml(Path(score.write("musicxml", fp=str(staged), makeNotation=False)
                                ).read_text(encoding="utf-8"))
    staged.write_text(text, encoding="utf-8")
    return text
