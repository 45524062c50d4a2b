"""The rehearsal file: a Piece written as a Standard MIDI File directly from its notes,
the same bytes for the same piece (music21 took a good part of a second to build and
write one).

Format 1: a first track with the tempo, the time signatures (a meter change where it
falls) and the key; then a track per voice, named for it, on a channel of its own with a
voice's sound, whatever the printed layout, for rehearsing a part. MIDI has no short
bar, so the silence before a pickup stays and the pickup is heard on its upbeat."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

from composer.io.musicxml import DIVISIONS, VOICE_PROGRAM
from composer.music import Piece

VELOCITY = 90
_END_OF_TRACK = b"\xff\x2f\x00"


def midi_bytes(piece: Piece) -> bytes:
    """The piece as a Standard MIDI File (format 1, a track per voice)."""
    finest = math.lcm(*(x.denominator for line in piece.lines for n in line
                        for x in (n.offset, n.duration)))
    # Ticks per quarter: every note and every bar's start exact (a bar of 3/8 starts on
    # an eighth); a value finer than MIDI's 15 bits can count is rounded to the tick.
    ticks = math.lcm(DIVISIONS, finest)
    if ticks > 0x7FFF:
        ticks = math.lcm(24, finest) if math.lcm(24, finest) <= 0x7FFF else DIVISIONS
    tracks = [_conductor(piece, ticks)]
    for k, (voice, line) in enumerate(zip(piece.voices, piece.lines, strict=True)):
        channel = k % 15 + (k % 15 >= 9)  # channel 10 is the drums'
        events = [(0, 0, _meta(0x03, voice.capitalize().encode("utf-8"))),
                  (0, 0, bytes([0xC0 | channel, VOICE_PROGRAM - 1]))]
        for note in line:
            if note.pitch is None:
                continue
            on, off = _tick(note.offset, ticks), _tick(note.offset + note.duration, ticks)
            # At one moment a note ends before the next begins (a repeated pitch).
            events.append((on, 1, bytes([0x90 | channel, note.pitch.midi, VELOCITY])))
            events.append((off, 0, bytes([0x80 | channel, note.pitch.midi, 0])))
        tracks.append(_track(events))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), ticks)
    return header + b"".join(tracks)


def _conductor(piece: Piece, ticks: int) -> bytes:
    meter, key = piece.meter, piece.key
    events = [(0, 0, _meta(0x03, (piece.title or "Partimento").encode("utf-8"))),
              (0, 0, _meta(0x51, round(60_000_000 / piece.tempo).to_bytes(3, "big"))),
              (0, 0, _meta(0x59, struct.pack(">bB", key.sharps, key.mode == "minor")))]
    for bar, m in ((1, meter.first), *meter.changes):
        at = _tick(meter.bar_start(bar), ticks)
        events.append((at, 0, _meta(0x58, bytes([m.numerator, int(math.log2(m.denominator)),
                                                 24, 8]))))
    return _track(events)


def _tick(quarters: Fraction, ticks: int) -> int:
    return round(quarters * ticks)


def _meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + _number(len(data)) + data


def _track(events: list[tuple[int, int, bytes]]) -> bytes:
    """A track chunk: the events in time order, each after its delta time."""
    body, now = [], 0
    for at, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body.append(_number(at - now) + data)
        now = at
    body.append(b"\x00" + _END_OF_TRACK)
    data = b"".join(body)
    return b"MTrk" + struct.pack(">I", len(data)) + data


def _number(value: int) -> bytes:
    """A MIDI variable-length quantity: seven bits a byte, the last without the top bit."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
