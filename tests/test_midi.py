"""The MIDI file written straight from the piece: read back by music21 it holds the
piece's notes voice by voice at their times (the silence before a pickup kept), the same
notes music21's own MIDI file of the piece holds, with the piece's tempo, meters, key and
a voice's sound."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import pytest
from music21 import converter
from score_support import EXAMPLES, TUNES, tune

from composer import compose
from composer.io.midi import midi_bytes
from composer.io.write import piece_to_music21
from composer.music import Piece
from composer.spec.load import load_spec


def heard(path: Path) -> list[list[tuple[Fraction, Fraction, int]]]:
    """Each track's notes as music21 hears the file, unquantized and a note held over a
    barline joined again: (onset, length, MIDI)."""
    score = converter.parse(str(path), quantizePost=False)
    return [[(Fraction(n.offset).limit_denominator(10080),
              Fraction(n.quarterLength).limit_denominator(10080), int(n.pitch.ps))
             for n in part.stripTies().flatten().notes] for part in score.parts]


def of_piece(piece: Piece) -> list[list[tuple[Fraction, Fraction, int]]]:
    return [[(n.offset, n.duration, n.pitch.midi) for n in line if n.pitch is not None]
            for line in piece.lines]


def assert_heard_right(piece: Piece, tmp: Path) -> Path:
    data = midi_bytes(piece)
    assert midi_bytes(piece) == data  # the same bytes every time
    assert data[:14] == b"MThd" + struct.pack(">IHHH", 6, 1, len(piece.voices) + 1, 10080)
    ours = tmp / "ours.mid"
    ours.write_bytes(data)
    assert heard(ours) == of_piece(piece)
    theirs = Path(piece_to_music21(piece, pickup_bar=False).write("midi", fp=str(tmp / "m.mid")))
    assert heard(ours) == heard(theirs)
    return ours


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_is_heard_as_its_notes(path, tmp_path):
    piece = compose(load_spec(path), seed=0).piece
    score = converter.parse(str(assert_heard_right(piece, tmp_path)), quantizePost=False)
    programs = [{i.midiProgram for i in p.getInstruments(recurse=True)} - {None}
                for p in score.parts]
    assert programs == [{53}] * len(piece.voices)  # "Voice Oohs", counted from 0
    assert [p.partName for p in score.parts] == [v.capitalize() for v in piece.voices]
    assert score.metronomeMarkBoundaries()[0][2].number == piece.tempo
    keys = score.parts[0].recurse().getElementsByClass("KeySignature")
    assert keys[0].sharps == piece.key.sharps
    assert score.parts[0].recurse().getElementsByClass("TimeSignature")[0].ratioString \
        == f"{piece.meter.numerator}/{piece.meter.denominator}"


@pytest.mark.parametrize("name", TUNES)
def test_triplets_meter_changes_and_pickups_are_heard_as_their_notes(name, tmp_path):
    piece = tune(name, tmp_path)
    score = converter.parse(str(assert_heard_right(piece, tmp_path)), quantizePost=False)
    meters = [(Fraction(m.getOffsetBySite(score.parts[0].flatten())), m.ratioString)
              for m in score.parts[0].flatten().getElementsByClass("TimeSignature")]
    expected = [(Fraction(0), f"{piece.meter.numerator}/{piece.meter.denominator}")]
    expected += [(piece.meter.bar_start(bar), f"{m.numerator}/{m.denominator}")
                 for bar, m in piece.meter.changes]
    assert meters == expected
    if name == "meter-change":
        assert meters == [(0, "4/4"), (8, "3/4")]
    if name.startswith("pickup"):  # MIDI has no short bar: the pickup on its upbeat
        first = min(n.offset for n in piece.lines[0] if n.pitch is not None)
        assert heard(tmp_path / "ours.mid")[0][0][0] == first > 0
