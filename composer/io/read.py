"""music21 at the edge: scores in (MusicXML, MIDI, ABC) as a Texture (scores out are
composer.io.write).

Everything music21 does for us happens here, once per file; the rules never see a
music21 object. `Origin` remembers which music21 note each voice event came from so
that an annotated copy can colour exactly the offending notes.
"""

from __future__ import annotations

import bisect
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ScoreError
from composer.grading.harmony import find_key, identify_chord, slot_notes
from composer.io.abc import abc_voices, carry_abc_accidentals, music21_module, readable_abc
from composer.io.chord_parts import chord_voices
from composer.io.events import (
    EPS,
    Event,
    Measure,
    beat_lengths,
    has_fermata,
    pitch_from_music21,
)
from composer.music import Key, Meter, Position
from composer.texture import Slice, Texture, Voicing

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi", ".abc", ".krn")
@dataclass(frozen=True, eq=False)
class Origin:
    """The music21 score a Texture was read from, with each voice's events."""

    score: Any
    events: tuple[tuple[Event, ...], ...]


def parse_score(path: Path | str) -> Any:
    """Parse a score file with music21, turning every failure into one clear ScoreError.

    music21's own warnings about a doubtful file are silenced: the checker reports what
    matters, and the command line promises one line on stderr for bad input.
    """

    path = Path(path)
    if not path.exists():
        raise ScoreError(f"{path}: no such file")
    if not path.is_file():
        raise ScoreError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise ScoreError(f"{path}: not a score file (accepted: {', '.join(SCORE_SUFFIXES)})")
    kind = {".mxl": "compressed MusicXML", ".mid": "MIDI", ".midi": "MIDI", ".abc": "ABC",
            ".krn": "Humdrum"}.get(suffix, "MusicXML")
    if path.stat().st_size == 0:
        raise ScoreError(f"{path}: the file is empty, not {kind}")
    m21 = music21_module()
    text = path.read_text(encoding="latin-1") if kind == "ABC" else None
    readable = readable_abc(text) if text is not None else None
    voices = abc_voices(readable) if readable is not None else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if voices is None and text is not None:
                parsed = abc_parsed(path, text)
            elif voices is None:
                parsed = m21.converter.parse(str(path), forceSource=True)
            else:  # a part per voice (music21 would read them one after the other)
                parsed = m21.stream.Score([abc_part(m21, name, text) for name, text in voices])
    except Exception as exc:  # music21 raises many kinds for a corrupt file
        why = parse_failure(exc, kind)
        raise ScoreError(f"{path}: not a valid {kind} file{why}") from None
    if isinstance(parsed, m21.stream.Opus):
        if not parsed.scores:
            raise ScoreError(f"{path}: the file holds no score")
        parsed = parsed.scores[0]
    if isinstance(parsed, m21.stream.Part):
        parsed = m21.stream.Score([parsed])
    if not isinstance(parsed, m21.stream.Score) or not parsed.parts:
        raise ScoreError(f"{path}: the {kind} file holds no parts of music")
    if kind == "ABC":
        for part in parsed.parts:
            carry_abc_accidentals(part)
    return parsed


def abc_parsed(path: Path, text: str, number: int | None = None) -> Any:
    """music21's reading of an ABC file (of tune X:number in it, where given): from the
    file itself, or from its text where music21 would misread that (`readable_abc`)."""
    m21 = music21_module()
    which = {} if number is None else {"number": number}
    readable = readable_abc(text)
    if readable == text:
        return m21.converter.parse(str(path), forceSource=True, **which)
    return m21.converter.parseData(readable, format="abc", **which)


def abc_part(m21: Any, name: str, text: str) -> Any:
    """One voice of an ABC tune (`abc_voices`) as a part named after it."""
    parsed = m21.converter.parseData(text, format="abc")
    part = parsed.parts[0] if hasattr(parsed, "parts") and parsed.parts else parsed
    part.partName = name
    return part


def parse_failure(exc: Exception, kind: str) -> str:
    """Why music21 could not parse a file, as ' (reason)': the first sentence of its
    message, without the parser's dump of tokens or bytes ('' where the message is of
    music21's insides); for ABC, what a tune it cannot time lacks."""
    text = str(exc).strip()
    if isinstance(exc, TypeError | AttributeError) or not text:
        return ""
    reason = re.split(r"\. |, got:|\n", text)[0][:120]
    if kind == "ABC" and "default note length" in reason:
        reason += "; a tune needs an L: field (unit note length) or an M: field (meter)"
    return f" ({reason})"


def score_lines(score: Any) -> list[Any]:
    """The score's monophonic lines, top first: parts, or the voices inside a part."""
    return [line for part in score.parts for line in part_lines(part)]


def part_lines(part: Any) -> list[Any]:
    """A part's monophonic lines: the part, or the voices written inside it."""
    if part.recurse().getElementsByClass(music21_module().stream.Voice).first() is not None:
        return list(part.voicesToParts().parts)
    return [part]


def line_events(line: Any) -> tuple[Event, ...]:
    flat = line.flatten()
    out: list[Event] = []
    for el in flat.notesAndRests:
        dur = float(el.quarterLength)
        if dur <= 0:  # grace notes take no time
            continue
        off = float(flat.elementOffset(el))
        tie = getattr(el, "tie", None)
        if tie is not None and tie.type in ("continue", "stop") and out and out[-1].pitch:
            last = out[-1]
            out[-1] = Event(last.offset, off + dur - last.offset, last.pitch,
                            last.fermata or has_fermata(el), last.source)
            continue
        pitch = None if el.isRest else pitch_from_music21(top_of(el))  # a chord: its top
        if out and out[-1].offset + out[-1].duration > off + EPS:  # overlapping: cut
            last = out[-1]
            out[-1] = Event(last.offset, off - last.offset, last.pitch, last.fermata, last.source)
            if out[-1].duration <= EPS:
                out.pop()
        out.append(Event(off, dur, pitch, has_fermata(el), el))
    return tuple(out)


def top_of(el: Any) -> Any:
    """A note's music21 pitch, or a chord's highest (a file lists a chord's notes in its
    own order, not by height)."""
    return max(el.pitches, key=lambda p: p.ps)


def lyric_of(el: Any) -> str | None:
    """The note's syllable (its first verse), a continuing one with its hyphen: 'Hal-',
    'le-', 'lu-', 'jah'."""
    lyric = el.lyrics[0] if el.lyrics else None
    if lyric is None or not lyric.text:
        return None
    return lyric.text + ("-" if lyric.syllabic in ("begin", "middle") else "")


def _measures(score: Any, meter: Meter) -> list[Measure]:
    m21 = music21_module()
    part = score.parts[0]
    out: list[Measure] = []
    for m in part.getElementsByClass(m21.stream.Measure):
        number = m.number if isinstance(m.number, int) else len(out) + 1
        ts = m.timeSignature
        out.append(Measure(float(m.offset), number, float(m.paddingLeft or 0.0),
                           Meter(ts.numerator, ts.denominator) if ts is not None else None))
    if not out:  # no bars written: count them from the meter
        end = float(score.highestTime)
        length = float(meter.bar_length)
        out = [Measure(i * length, i + 1, 0.0) for i in range(int(end // length) + 1)]
    return out


def score_meter(score: Any) -> tuple[Meter, list[Measure]]:
    """The score's meter, with its changes by bar counted from 1 (a pickup bar is bar 1),
    and its bars."""
    ts = _first(score, music21_module().meter.TimeSignature)
    meter = Meter(ts.numerator, ts.denominator) if ts is not None else Meter(4, 4)
    measures = _measures(score, meter)
    return meter.with_changes([(k + 1, m.meter) for k, m in enumerate(measures)
                               if k > 0 and m.meter is not None]), measures


def _first(score: Any, cls: Any) -> Any:
    return score.recurse().getElementsByClass(cls).first()


def read_score(path: Path | str, voices: tuple[str, ...] | None = None) -> tuple[Texture, Origin]:
    """Read a score file into a Texture, naming its lines from the part names or,
    failing that, from `voices` in order from the top."""
    score = parse_score(path)
    return texture_from_music21(score, voices, source=str(path))


def texture_from_music21(
    score: Any, voices: tuple[str, ...] | None = None, source: str = "score",
    split_chords: bool = False,
) -> tuple[Texture, Origin]:
    """The score as a Texture. With `split_chords` (grading), a part that holds its
    voices as chords is read as those voices (`chord_voices`) instead of as its chords'
    top notes, or refused where it cannot be."""
    m21 = music21_module()
    meter, measures = score_meter(score)
    lines: list[tuple[Any, tuple[Event, ...]]] = []
    for k, part in enumerate(score.parts):
        where = f"{source}: part {k + 1}" if len(score.parts) > 1 else source
        split = chord_voices(part, measures, meter, where) if split_chords else None
        if split is not None:  # lines of no name of their own: the part's is all of theirs
            lines += [(None, ev) for ev in split]
        else:
            lines += [(line, line_events(line)) for line in part_lines(part)]
    lines = [(line, ev) for line, ev in lines if any(e.pitch for e in ev)]
    if not lines:
        raise ScoreError(f"{source}: the score has no notes")
    lines, names = _choose_voices(lines, voices)
    events = tuple(ev for _, ev in lines)

    ks = _first(score, m21.key.KeySignature)
    weights = np.zeros(12)
    for line in events:
        for ev in line:
            if ev.pitch:
                weights[ev.pitch.pc] += ev.duration
    last_bass = next((ev.pitch.pc for ev in reversed(events[-1]) if ev.pitch), None)
    stated = ks.mode if isinstance(ks, m21.key.Key) else None  # <mode> in MusicXML
    key = find_key(weights, ks.sharps if ks is not None else None, last_bass, stated)
    slices = build_slices(events, measures, meter, key)
    title = (score.metadata.title if score.metadata and score.metadata.title else "") or ""
    return Texture(names, key, meter, slices, title), Origin(score, events)


_CHOIR = ("soprano", "alto", "tenor", "bass")


def _choir_name(line: Any) -> str:
    """'soprano' for a part named 'Soprano', 'Soprano Oboe 1 Violin1' or 'Soprano 2'."""
    words = (line.partName or "").strip().lower().split() if line is not None else []
    return words[0] if words and words[0] in _CHOIR else ""


def _choose_voices(
    lines: list[tuple[Any, tuple[Event, ...]]], voices: tuple[str, ...] | None
) -> tuple[list[tuple[Any, tuple[Event, ...]]], tuple[str, ...]]:
    """The lines to grade and their names. A score whose parts name all four choir
    voices is graded on those four (instrumental doublings and continuo are left out);
    otherwise every line counts, named from the rule set's voices or by number."""
    named = [(_choir_name(line), (line, ev)) for line, ev in lines]
    found = {name: pair for name, pair in reversed(named) if name}
    if len(found) == 4:
        return [found[name] for name in _CHOIR], _CHOIR
    count = len(lines)
    names = [name for name, _ in named]
    if all(names) and len(set(names)) == count:
        return lines, tuple(names)
    if voices and len(voices) == count:
        return lines, voices
    if count == 4:
        return lines, _CHOIR
    return lines, tuple(f"voice {i + 1}" for i in range(count))


def build_slices(
    events: tuple[tuple[Event, ...], ...], measures: list[Measure], meter: Meter, key: Key
) -> tuple[Slice, ...]:
    """Cut the voices at every onset, place each slice in its bar and beat, and hear
    the chord of each harmonic slot (one per beat)."""
    onsets = sorted({round(ev.offset, 6) for line in events for ev in line})
    end = max(ev.offset + ev.duration for line in events for ev in line)
    starts = [[ev.offset for ev in line] for line in events]
    m_offsets = [m.offset for m in measures]
    beats = beat_lengths(measures, meter)
    raw = []
    entries: dict[tuple[int, int], int] = {}  # per beat: the silences within it so far
    for i, t in enumerate(onsets):
        pitches, attacks, fermata = [], [], False
        for line, st in zip(events, starts, strict=True):
            k = bisect.bisect_right(st, t + EPS) - 1
            ev = line[k] if k >= 0 and line[k].offset + line[k].duration > t + EPS else None
            pitches.append(ev.pitch if ev else None)
            attacks.append(bool(ev and abs(ev.offset - t) < EPS))
            fermata |= bool(ev and ev.fermata and abs(ev.offset - t) < EPS)
        mi = max(bisect.bisect_right(m_offsets, t + EPS) - 1, 0)
        m, beat = measures[mi], beats[mi]
        into = t - m.offset + m.padding
        beat_of = (mi, int(into // beat + EPS))
        # The beat's harmony begins where music enters, and again after every silence.
        silent = all(p is None for p in pitches)
        entries[beat_of] = entries.get(beat_of, 0) + int(silent)
        slot: tuple = (*beat_of, entries[beat_of], silent)
        nxt = onsets[i + 1] if i + 1 < len(onsets) else end
        raw.append((t, nxt - t, Position(m.number, round(1 + into / beat, 4)),
                    tuple(pitches), tuple(attacks), fermata, slot))
    chords = _slot_chords(raw, key)
    out = []
    previous_slot = None
    for (t, dur, pos, voicing, struck, fermata, slot) in raw:
        out.append(Slice(t, dur, pos, Voicing(voicing), struck, key, chords[slot],
                         harmonic=slot != previous_slot, fermata=fermata))
        previous_slot = slot
    return tuple(out)


def texture_from_piece(piece: Any) -> Texture:
    """A composed Piece as the checker would read it back from its score, without the
    trip through a file (the key is the piece's own)."""
    events = tuple(tuple(Event(float(n.offset), float(n.duration), n.pitch, n.fermata, None)
                         for n in line) for line in piece.lines)
    end = max(n.offset + n.duration for line in piece.lines for n in line)
    meter, measures, bar = piece.meter, [], 1
    while meter.bar_start(bar) < end:
        changed = next((m for b, m in meter.changes if b == bar), None)
        measures.append(Measure(float(meter.bar_start(bar)), bar, 0.0, changed))
        bar += 1
    slices = build_slices(events, measures, meter.first, piece.key)
    return Texture(tuple(piece.voices), piece.key, meter, slices, piece.title or "")


def _slot_chords(raw: list[tuple], key: Key) -> dict:
    slots: dict[Any, list[tuple]] = {}
    for row in raw:
        slots.setdefault(row[-1], []).append(row)
    return {slot: identify_chord(*slot_notes([(r[1], r[3], r[4]) for r in rows]), key)
            for slot, rows in slots.items()}




