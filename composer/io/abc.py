"""ABC as the standard reads it: an accidental holds to the end of its bar (music21
applies it to the one note in files that declare no ABC version, as Essen's do)."""

from __future__ import annotations

import re
from typing import Any


def carry_abc_accidentals(part: Any) -> None:
    """ABC writes an accidental once in a bar: it holds for the same letter and octave to
    the bar's end, and a note tied over the bar line keeps its pitch. music21 applies it
    to the one note (unless the file declares ABC 2 or later, and then across octaves)."""
    m21 = music21_module()
    held: Any = None  # the last note, for a tie over the bar line
    for bar in _abc_bars(part):
        written: dict[tuple[str, int | None], int] = {}  # (letter, octave): its alteration
        for el in bar:
            for n in el.notes if el.isChord else (el,):
                p, letter = n.pitch, (n.pitch.step, n.pitch.octave)
                if p.accidental is not None and p.accidental.displayStatus:  # written here
                    written[letter] = int(p.alter)
                elif n.tie is not None and n.tie.type in ("stop", "continue") and \
                        held is not None and (held.pitch.step, held.pitch.octave) == letter:
                    _alter(p, int(held.pitch.alter))
                else:
                    ks = n.getContextByClass(m21.key.KeySignature)
                    signature = int(ks.accidentalByStep(p.step).alter) \
                        if ks is not None and ks.accidentalByStep(p.step) else 0
                    _alter(p, written.get(letter, signature))
                held = n


def _abc_bars(part: Any) -> list[list[Any]]:
    """The notes of each bar. music21 makes no bars of a tune with fewer than two bar
    lines: its time signature counts them then."""
    m21 = music21_module()
    measures = part.getElementsByClass(m21.stream.Measure)
    if measures:
        return [list(m.recurse().notes) for m in measures]
    ts = part.recurse().getElementsByClass(m21.meter.TimeSignature).first()
    length = float(ts.barDuration.quarterLength) if ts is not None else float("inf")
    flat = part.flatten()
    bars: dict[int, list[Any]] = {}
    for el in flat.notes:
        bars.setdefault(int(float(flat.elementOffset(el)) // length), []).append(el)
    return [bars[k] for k in sorted(bars)]


def _alter(p: Any, alter: int) -> None:
    if int(p.alter) != alter:
        p.accidental = music21_module().pitch.Accidental(alter)
        p.accidental.displayStatus = False


# read left to right: a chord symbol or an annotation, a decoration written `!…!`, an
# inline field, or a fermata (`H`) on a note or a rest
_MISREAD = re.compile(r'"[^"\n]*"|![^!\n]*!|\[[A-Za-z]:[^\]\n]*\]|H(?=[.~]*[_=^]*[A-Ga-gz])')
_FIELD = re.compile(r"^[A-Za-z+]:")


def readable_abc(text: str) -> str:
    """ABC text with what music21 misreads taken out, so that no note is lost:

    - an annotation placed right of a note (`">"g2`, as O'Neill's tunes mark an
      accent) is text, but music21 reads its `>` as a broken rhythm and loses the
      note after it: The Old Cloak's `d^f ">"g2 dc` was read as `d^f dc`;
    - a fermata (`Hg2`, as 257 of the corpus's fiddle tunes mark a phrase's last note)
      music21 drops with its note: Good Health to Our Friends Far Away's
      `f>ed Hg2d` was read as `f>ed d`. It keeps no fermata either way.

    Field lines are kept as they are (a title may hold anything)."""
    def mended(found: re.Match[str]) -> str:
        token = found[0]
        return "" if token == "H" or token.startswith('">') else token

    return "".join(line if _FIELD.match(line) else _MISREAD.sub(mended, line)
                   for line in text.splitlines(keepends=True))


def music21_module() -> Any:
    import music21  # lazy: only where a score is read or written, so `rules` starts fast

    return music21


_VOICE = re.compile(r"^\s*(?:\[V:\s*(?P<inline>[^\]\s]+)[^\]]*\]|V:\s*(?P<field>\S+)(?P<rest>.*))")
_NAME = re.compile(r"""\b(?:name|nm)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))""")
CHOIR = {"S": "Soprano", "A": "Alto", "T": "Tenor", "B": "Bass"}


def abc_voices(text: str) -> list[tuple[str, str]] | None:
    """The first tune of an ABC text split by its voices (`V:` fields, or `[V:…]` at the
    start of a line): (the voice's name, the tune with that voice's music alone), in
    the order the voices first sound; None for a tune of fewer than two voices.

    music21 reads voices named otherwise than by number (V:S, V:tune) one after the
    other, as one line: a four-part exercise in ABC was graded as a single voice, and a
    tune with a second voice as one melody twice as long. Numbered voices it splits, but
    each stretch of a voice between the other's as a part of its own, and a voice
    declared in the header as an empty one: a fife duet in V:1 and V:2, four stretches
    each, was twelve parts, the first empty, and "held no notes". A voice's name is its
    `name=`, else its id (S, A, T and B read as Soprano, Alto, Tenor and Bass)."""
    tune = next((t for t in re.split(r"(?m)^(?=X:)", text) if t.startswith("X:")), text)
    lines = tune.splitlines()
    body_at = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), None)
    if body_at is None:
        return None
    names: dict[str, str] = {}
    music: dict[str, list[str]] = {}
    voice = ""
    for k, line in enumerate(lines):
        found = _VOICE.match(line)
        if found is not None:
            voice = found["inline"] or found["field"]
            named = _NAME.search(found["rest"] or line)
            if named is not None:
                names[voice] = named["quoted"] or named["bare"]
            line = line[found.end():] if found["inline"] else ""
        if k >= body_at and line.strip() and not line.lstrip().startswith("%"):
            music.setdefault(voice, []).append(line)
    if len(music) < 2:
        return None
    header = [line for line in lines[:body_at] if _VOICE.match(line) is None]
    return [(names.get(v) or CHOIR.get(v.upper(), v), "\n".join(header + body) + "\n")
            for v, body in music.items()]
