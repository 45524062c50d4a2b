"""The score file written straight from the piece: read back by music21 it is the piece's
own notes, voice by voice (pitch, spelling, onset, length), note for note the score
music21 itself builds and writes (bars, ties, lyrics, fermatas), its accidentals read
right by a singer, and MuseScore 3 opens it without a complaint."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from itertools import cycle
from pathlib import Path

import pytest
from music21 import converter
from score_support import EXAMPLES, ROOT, TUNES, read_as_printed, struck_in_time_order, tune

from composer import compose
from composer.io.layout import written_span
from composer.io.musicxml import score_musicxml
from composer.io.write import musicxml_text, piece_to_music21
from composer.music import Piece
from composer.spec.load import load_spec

MSCORE = shutil.which("mscore3")


def sung(piece: Piece) -> Piece:
    """The piece with 'Hal-le-lu-jah' under its melody, a syllable a struck note."""
    words = cycle(("Hal-", "le-", "lu-", "jah"))
    melody = tuple(replace(n, lyric=next(words)) if n.pitch is not None else n
                   for n in piece.lines[0])
    return replace(piece, lines=(melody, *piece.lines[1:]))


def _write(text: str, path: Path) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def voices_read_back(path: Path) -> list[list[tuple]]:
    """Each voice's struck notes as music21 reads the file, ties joined: (onset from the
    first written bar, length, MIDI number, name with spelling and octave)."""
    out = []
    for part in converter.parse(str(path)).parts:
        layers = part.voicesToParts().parts if part.hasMeasures() and any(
            m.hasVoices() for m in part.getElementsByClass("Measure")) else [part]
        for layer in layers:
            notes = layer.stripTies().flatten().notes
            out.append([(Fraction(n.offset), Fraction(n.quarterLength), int(n.pitch.ps),
                         n.pitch.nameWithOctave) for n in notes])
    return out


def voices_of(piece: Piece) -> list[list[tuple]]:
    """The same of the piece itself: its onsets counted from where the file begins."""
    start = written_span(piece).start
    return [[(n.offset - start, n.duration, n.pitch.midi, n.pitch.name.replace("b", "-"))
             for n in line if n.pitch is not None] for line in piece.lines]


def notes_by_bar(path: Path) -> list[tuple]:
    """Every written note as a reader meets it bar by bar: part, bar, onset in the bar,
    length, name, tie, lyric, fermata."""
    out = []
    for p, part in enumerate(converter.parse(str(path)).parts):
        for bar in part.getElementsByClass("Measure"):
            for n in bar.recurse().notes:
                out.append((p, bar.number, float(bar.paddingLeft + n.offset),
                            float(n.quarterLength), n.pitch.nameWithOctave,
                            n.tie.type if n.tie is not None else None,
                            tuple((ly.text, ly.syllabic) for ly in n.lyrics),
                            any(e.name == "fermata" for e in n.expressions)))
    return sorted(out, key=lambda n: (n[0], n[1], n[2], n[4]))


def pitches_in_bar_order(text: str) -> list[list[str]]:
    """The same notes as they are spelt in the file (what the reader must arrive at)."""
    staves = []
    for part in ET.fromstring(text).iter("part"):
        names = []
        for bar in part.iter("measure"):
            for note in struck_in_time_order(bar):
                alter = int(note.findtext("pitch/alter") or 0)
                names.append(note.findtext("pitch/step")
                             + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[alter]
                             + note.findtext("pitch/octave"))
        staves.append(names)
    return staves


def assert_written_right(piece: Piece, tmp: Path, layout: str = "satb") -> str:
    text = score_musicxml(piece, layout)
    assert score_musicxml(piece, layout) == text  # the same bytes every time
    ours = _write(text, tmp / f"ours-{layout}.musicxml")
    assert voices_read_back(ours) == voices_of(piece)
    theirs = tmp / f"music21-{layout}.musicxml"
    musicxml_text(piece_to_music21(piece, layout), theirs)
    assert notes_by_bar(ours) == notes_by_bar(theirs)
    assert read_as_printed(text) == pitches_in_bar_order(text)
    return text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_reads_back_as_its_notes(path, tmp_path):
    assert_written_right(compose(load_spec(path), seed=0).piece, tmp_path)


@pytest.mark.parametrize("name", TUNES)
def test_triplets_meter_changes_and_pickups_read_back_as_their_notes(name, tmp_path):
    piece = tune(name, tmp_path)
    text = assert_written_right(piece, tmp_path)
    if name.startswith("pickup"):
        bars = ET.fromstring(text).find("part").findall("measure")
        assert (bars[0].get("number"), bars[0].get("implicit")) == ("0", "yes")
        assert {b.get("implicit") for b in bars[1:]} == {"no"}
        lead = written_span(piece).start  # the silence before the pickup, left out
        assert lead == {"pickup-three-four": 2, "pickup-six-eight": Fraction(5, 2),
                        "pickup-three-two": 4}[name]


def test_two_staves_and_lyrics_read_back_as_their_notes(tmp_path):
    piece = sung(compose(load_spec(ROOT / "constraints" / "examples" / "chorale-melody.yaml")
                         ).piece)
    assert_written_right(piece, tmp_path)
    text = assert_written_right(piece, tmp_path, "satb-two-staves")
    upper = ET.fromstring(text).find("part")
    assert [n.findtext("lyric/text") for n in upper.iter("note")
            if n.find("lyric") is not None][:5] == ["Hal", "le", "lu", "jah", "Hal"]
    # A fermata over the staff for the upper voice, under it for the lower (stems down).
    fermatas = {(n.findtext("voice"), n.find("notations/fermata").get("type"))
                for n in upper.iter("note") if n.find("notations/fermata") is not None}
    assert fermatas == {("1", "upright"), ("2", "inverted")}


def test_the_meter_is_written_where_it_changes(tmp_path):
    text = score_musicxml(tune("meter-change", tmp_path))
    times = [(m.get("number"), m.findtext("attributes/time/beats"))
             for m in ET.fromstring(text).find("part").iter("measure")
             if m.find("attributes/time") is not None]
    assert times == [("1", "4"), ("3", "3")]


@pytest.mark.skipif(MSCORE is None, reason="MuseScore 3 (mscore3) is not installed")
@pytest.mark.parametrize("name, layout", [("six-eight-triplet", "satb"),
                                          ("pickup-six-eight", "satb-two-staves"),
                                          ("meter-change", "satb-two-staves")])
def test_musescore_opens_the_file_without_a_complaint(name, layout, tmp_path):
    path = _write(score_musicxml(tune(name, tmp_path), layout), tmp_path / f"{name}.musicxml")
    home = tmp_path / ".musescore-home"
    home.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(home),
           "HOME": str(home)}
    out = tmp_path / f"{name}.mscx"
    run = subprocess.run([MSCORE, "-o", str(out), str(path)], capture_output=True, text=True,
                         env=env, timeout=120)
    said = [line for line in (run.stdout + run.stderr).splitlines()
            if not line.startswith(("convert <", "\tto <", "... success!"))]
    assert run.returncode == 0 and said == [], said
    measures = ET.parse(out).getroot().find("Score/Staff").findall("Measure")
    assert len(measures) == (5 if name.startswith("pickup") else 4)
