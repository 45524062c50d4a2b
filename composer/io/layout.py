"""How a piece is laid out on paper, whoever writes it (the MusicXML and MIDI writers, the
music21 score, the studio's preview): the staves and their clefs, the stretch of the
piece written out (a pickup as a short bar 0, the last bar its complement), and the
syllables of the lyrics. Defined once here so that every file shows the same music."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from composer.errors import PartimentoError
from composer.music import Note, Piece

LAYOUTS = ("satb", "satb-two-staves")


@dataclass(frozen=True)
class Staff:
    """One printed staff: its name as a reader shows it, its clef, and the voices on it
    (two share a staff with stems up and down)."""

    name: str
    abbreviation: str
    clef: str
    voices: tuple[str, ...]


CLEFS = {"soprano": "treble", "alto": "treble", "tenor": "treble8vb", "bass": "bass"}
# Each clef as MusicXML writes it: its sign, the line it sits on, octaves it transposes.
CLEF_SIGNS = {"treble": ("G", 2, 0), "treble8vb": ("G", 2, -1), "bass": ("F", 4, 0)}
_STAVES = {
    "satb": tuple(Staff(v.capitalize(), v[0].upper() + ".", CLEFS[v], (v,)) for v in CLEFS),
    "satb-two-staves": (Staff("Soprano Alto", "S. A.", "treble", ("soprano", "alto")),
                        Staff("Tenor Bass", "T. B.", "bass", ("tenor", "bass"))),
}


def staves_for(voices: tuple[str, ...], layout: str) -> tuple[Staff, ...]:
    if layout not in _STAVES:
        raise PartimentoError(f"unknown layout '{layout}' (accepted: {', '.join(LAYOUTS)})")
    staves = _STAVES[layout]
    if tuple(v for s in staves for v in s.voices) == voices:
        return staves
    if layout != "satb":
        raise PartimentoError(f"the layout {layout} writes the voices soprano, alto, tenor,"
                              f" bass; this piece has {', '.join(voices)}")
    return tuple(Staff(v.capitalize(), v[:1].upper() + ".", CLEFS.get(v, "treble"), (v,))
                 for v in voices)


@dataclass(frozen=True)
class Span:
    """The stretch of the piece written out, and how short its first and last bars are:
    the silence before a pickup is left out, and the last bar is cut to its complement
    where nothing sounds in the rest of it (a hymnal's bars)."""

    start: Fraction  # after the silence before a pickup: what bar 0 lacks at its start
    end: Fraction
    last_padding: Fraction = Fraction(0)  # what the last bar lacks at its end


def piece_end(piece: Piece) -> Fraction:
    return max(n.offset + n.duration for line in piece.lines for n in line)


def written_span(piece: Piece) -> Span:
    end = piece_end(piece)
    lead = min(_rest_before(line) for line in piece.lines)
    if not 0 < lead < piece.meter.first.bar_length:
        return Span(Fraction(0), end)
    pickup = piece.meter.first.bar_length - lead
    sound_end = max(n.offset + n.duration for line in piece.lines for n in line
                    if n.pitch is not None)
    at = piece.meter.position(sound_end)
    bar = at.bar - 1 if at.beat == 1 else at.bar  # the bar the music ends in
    bar_end = piece.meter.bar_start(bar) + piece.meter.in_bar(bar).bar_length
    if sound_end <= bar_end - pickup and pickup < piece.meter.in_bar(bar).bar_length:
        return Span(lead, bar_end - pickup, pickup)
    return Span(lead, bar_end)


def _rest_before(line: tuple[Note, ...]) -> Fraction:
    sounding = [n.offset for n in line if n.pitch is not None]
    return min(sounding) if sounding else Fraction(0)


def syllables(lyrics: list[str | None]) -> list[tuple[str, str] | None]:
    """Each syllable's text and MusicXML syllabic: a trailing '-' says the word goes on
    ('Hal-', 'le-', 'lu-', 'jah' is begin, middle, middle, end); a note without one is
    a melisma on the syllable before."""
    out: list[tuple[str, str] | None] = []
    within = False  # inside a word
    for lyric in lyrics:
        if lyric is None or not lyric.strip():
            out.append(None)
            continue
        goes_on = lyric.rstrip().endswith("-")
        text = lyric.strip().removesuffix("-")
        syllabic = ("middle" if within else "begin") if goes_on else \
            ("end" if within else "single")
        out.append((text, syllabic))
        within = goes_on
    return out
