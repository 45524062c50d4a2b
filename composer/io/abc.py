"""ABC as the standard reads it: an accidental holds to the end of its bar (music21
applies it to the one note in files that declare no ABC version, as Essen's do)."""

from __future__ import annotations

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


def music21_module() -> Any:
    import music21  # lazy: only where a score is read or written, so `rules` starts fast

    return music21
