"""A melody given in a spec by file: the top line of a MusicXML, MIDI or ABC file, with its
fermatas, lyrics, meter and pickup (and, from MusicXML, a figured bass's figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.errors import ScoreError
from composer.io.abc import music21_module
from composer.io.figures import figures_by_offset
from composer.io.read import EPS, line_events, lyric_of, parse_score, score_lines, score_meter
from composer.music import Meter, Pitch

# offset, duration, pitch (None: a rest), fermata, lyric
MelodyEvent = tuple[Any, Any, "Pitch | None", bool, "str | None"]


def melody_from_file(path: Path) -> tuple[list[MelodyEvent], Meter]:
    """The top line of a MusicXML, MIDI or ABC file as a melody, with its fermatas (they
    end phrases) and its lyrics, and the file's meter. A pickup is preceded by a rest
    that fills its bar, so that the melody's strong beats fall on the piece's."""
    score, _, _, events = _line(path)
    return events, score_meter(score)[0]


def figured_melody_from_file(path: Path, lowest: bool = False
                             ) -> tuple[list[MelodyEvent], Meter, dict[float, str]]:
    """`melody_from_file` (`lowest`: the file's bottom line, for a given bass), and the
    figures a MusicXML file writes over the line's notes (its `<figured-bass>`, which
    music21 does not read), by offset, in the spec's shorthand
    (composer.planning.figured_bass): '#6/4', several under one note joined by '-'."""

    score, line, pad, events = _line(path, lowest)
    return events, score_meter(score)[0], figures_by_offset(path, score, line, pad)


def top_line(path: Path) -> Any:
    """The file's top line with notes, as music21 reads it (what `melody_from_file`
    takes the melody from). ScoreError where it holds no notes."""
    try:
        return _line(path)[1]
    except ValueError as exc:
        raise ScoreError(str(exc)) from None


def _line(path: Path, lowest: bool = False) -> tuple[Any, Any, float, list[MelodyEvent]]:
    """The parsed score, its top line with notes (`lowest`: its bottom one), the pickup's
    padding and the line's events (after a rest that fills the pickup's bar). The lines
    are compared by their notes' mean height: a MIDI file lists its tracks in any order,
    a bass track first as often as not."""
    try:
        score = parse_score(path)
    except ScoreError as exc:
        raise ValueError(str(exc)) from None
    found = highest_line(score_lines(score), lowest)
    if found is None:
        raise ValueError(f"{path.name} has no notes")
    line, events = found
    if not lowest and (sung := sung_line(line)) is not line:
        line, events = sung, line_events(sung)
    first = line.getElementsByClass(music21_module().stream.Measure).first()
    pad = float(first.paddingLeft) if first is not None else 0.0
    if pad <= EPS and path.suffix.lower() in (".mid", ".midi"):
        pad = midi_pickup(score_meter(score)[0], events)
    rest: list[MelodyEvent] = [(0.0, pad, None, False, None)] if pad > EPS else []
    return score, line, pad, rest + [(ev.offset + pad, ev.duration, ev.pitch, ev.fermata,
                                      lyric_of(ev.source)) for ev in events]


def midi_pickup(meter: Meter, events: Any) -> float:
    """The rest before a MIDI melody's pickup, in quarters. MIDI has no short bar: a file
    whose tune starts at once holds its pickup, if it has one, as its first bar, and its
    every strong beat would fall on a weak one (22 of 32 Essen tunes written as MIDI
    by music21). The pickup is the one under which the tune's long notes fall on its
    strong beats: each note's length weighs the strength of the beat it begins on
    (the bar's first beat most, then its middle, then the other beats, then what lies
    between them), and the rest before the first note that gives the most weight is
    taken, none where none gives more than starting at once. A file that rests before
    its first note (as Partimento writes one) or changes its meter is taken as it is."""
    sounding = [e for e in events if e.pitch is not None]
    if meter.changes or not sounding or sounding[0].offset > EPS:
        return 0.0
    bar, beat = float(meter.bar_length), float(meter.beat_length)
    beats, parts = meter.beats_per_bar, 3 if meter.compound else 2  # (a beat's division)

    def strength(at: float) -> float:
        into = at % bar
        if into < EPS or bar - into < EPS:
            return 3.0
        k = into / beat
        if abs(k - round(k)) > EPS:  # between the beats: on the beat's division, or off it
            return 0.5 if abs(parts * k - round(parts * k)) < EPS else 0.0
        return 2.0 if beats % 2 == 0 and round(k) == beats // 2 else 1.0

    def weight(pad: float) -> float:
        return sum(float(e.duration) * strength(float(e.offset) + pad) for e in sounding)

    pads = [k * beat / parts for k in range(beats * parts)]
    best = max(pads, key=lambda pad: (weight(pad), pad))  # (a tie: the shorter pickup)
    return best if weight(best) > weight(0.0) + EPS else 0.0


def highest_line(lines: Any, lowest: bool = False) -> tuple[Any, tuple] | None:
    """The line (and its events) whose notes lie highest on average, the tune
    (`lowest`: the lowest, a given bass); None where no line has notes. By height, not
    order: a MIDI file lists its tracks in any order, an ABC tune its voices too."""
    sounding = [(ln, ev) for ln, ev in ((ln, line_events(ln)) for ln in lines)
                if any(e.pitch for e in ev)]
    if not sounding:
        return None

    def height(events: tuple) -> float:
        heights = [e.pitch.midi for e in events if e.pitch is not None]
        return sum(heights) / len(heights)

    return (min if lowest else max)(sounding, key=lambda x: height(x[1]))


def sung_line(line: Any) -> Any:
    """A tune with first and second endings as it is sung: its repeats expanded, so that
    each ending follows its own pass (read as written, the first ending ran straight on
    into the second, a melody the tune never has). A tune without endings, or whose
    repeats music21 cannot expand, is taken as written; so is a given bass, whose
    figures are placed by the file's own offsets."""
    m21 = music21_module()
    if not line.spannerBundle.getByClass(m21.spanner.RepeatBracket):
        return line
    try:
        return line.expandRepeats()
    except Exception:  # music21 raises its own kinds for repeats it cannot follow
        return line
