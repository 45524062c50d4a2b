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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ScoreError
from composer.grading.harmony import find_key, identify_chord, slot_notes
from composer.io.abc import carry_abc_accidentals, music21_module
from composer.music import Key, Meter, Pitch, Position, format_beat
from composer.texture import Slice, Texture, Voicing

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi", ".abc", ".krn")
EPS = 1e-6


@dataclass(frozen=True)
class Event:
    """One note or rest of one voice, ties already merged."""

    offset: float
    duration: float
    pitch: Pitch | None
    fermata: bool
    source: Any  # the music21 element (first of a tie chain)


@dataclass(frozen=True)
class Measure:
    offset: float
    number: int
    padding: float  # quarter notes missing from the start of a pickup bar
    meter: Meter | None = None  # a time signature that begins here


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = m21.converter.parse(str(path), forceSource=True)
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


def pitch_from_music21(p: Any) -> Pitch:
    return Pitch(int(round(p.ps)), 7 * int(p.implicitOctave) + "CDEFGAB".index(p.step))


def has_fermata(el: Any) -> bool:
    return any(isinstance(e, music21_module().expressions.Fermata) for e in el.expressions)


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
    beats = _beats(measures, meter)
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


def _beats(measures: list[Measure], meter: Meter) -> list[float]:
    """The beat of each bar, as its time signature counts."""
    beats, beat = [], float(meter.beat_length)
    for m in measures:
        beat = float(m.meter.beat_length) if m.meter is not None else beat
        beats.append(beat)
    return beats


# A part holding its voices as chords ---------------------------------------------------

@dataclass(frozen=True)
class _Sound:
    """One note of a part, ties merged: a chord gives one for each of its notes."""

    offset: float
    end: float
    pitch: Pitch
    fermata: bool
    source: Any  # the music21 note or chord


# A moment: its offset, its duration and the sounds heard through it, top first.
_Moment = tuple[float, float, list[int]]


def chord_voices(part: Any, measures: list[Measure], meter: Meter, where: str
                 ) -> list[tuple[Event, ...]] | None:
    """A part that holds its voices as chords (a piano MIDI track of four voices, a grand
    staff's track of two), read as those voices top first; None for any other part.

    Notation software exports exercises so, and no line of such a part is a voice: its
    chords' top notes would be graded as an exercise of one voice. A part is one where
    it holds chords and at least half its sounding moments hold more than one note (the
    voices music21 makes in a MIDI track, of notes that end apart, are not the
    exercise's). It has as many voices as most of its moments hold notes, told apart by
    height at each moment; each keeps its own notes' rhythm (a note held while others
    move stays one note). A moment one note short is read as a unison (`_voicings`)
    where the chords beside it tell which; any other moment is a ScoreError naming its
    bar and beat.
    """
    flat = part.flatten()
    if not any(el.isChord for el in flat.notes):
        return None
    sounds = _sounds(flat)
    rests = [(float(flat.elementOffset(r)), float(r.quarterLength))  # silences, bar by bar
             for r in flat.getElementsByClass("Rest")]
    edges = sorted({round(x, 6) for s in sounds for x in (s.offset, s.end)}
                   | {round(x, 6) for o, d in rests for x in (o, o + d)})
    start = np.array([s.offset for s in sounds])
    end = np.array([s.end for s in sounds])
    depth = np.array([-s.pitch.midi for s in sounds])
    moments: list[_Moment] = []
    for a, b in zip(edges, edges[1:], strict=False):
        on = np.flatnonzero((start <= a + EPS) & (end > a + EPS))
        moments.append((a, b - a, [int(i) for i in on[np.argsort(depth[on], kind="stable")]]))
    counts = [len(on) for _, _, on in moments if on]
    if not counts or 2 * sum(c > 1 for c in counts) < len(counts):
        return None
    n = max({c for c in counts if c > 1}, key=lambda c: (counts.count(c), c))

    def refuse(k: int, why: str) -> ScoreError:
        t, held = moments[k][0], len(moments[k][2])
        mi = max(bisect.bisect_right([m.offset for m in measures], t + EPS) - 1, 0)
        m, beat = measures[mi], _beats(measures, meter)[mi]
        into = (t - m.offset + m.padding) / beat
        place = f"bar {m.number} beat {format_beat(round(1 + into, 4))}"
        return ScoreError(
            f"{where}: its voices are written as chords in one part, and {place} holds"
            f" {held} note{'s' * (held != 1)} where the part's other chords hold {n}{why}:"
            f" write every chord with one note per voice ({n}, a unison as two notes), or"
            " each voice as a part of its own, to have them graded")

    voicings = _voicings(moments, n, sounds, refuse)
    lines = []
    for v in range(n):
        line: list[Event] = []
        held = -1  # the sound the voice's last event is
        for (t, dur, _), voicing in zip(moments, voicings, strict=True):
            i = voicing[v] if voicing else -1
            if line and i >= 0 and i == held:  # the same note, held on
                last = line[-1]
                line[-1] = Event(last.offset, t + dur - last.offset, last.pitch, last.fermata,
                                 last.source)
            elif i >= 0:
                s = sounds[i]
                line.append(Event(t, dur, s.pitch, s.fermata and s.offset > t - EPS, s.source))
            else:
                line.append(Event(t, dur, None, False, None))
            held = i
        lines.append(tuple(line))
    return lines


def _sounds(flat: Any) -> list[_Sound]:
    """Every note of a flattened part, a chord's one by one, tied notes as one."""
    out: list[_Sound] = []
    ending: dict[tuple[int, float], list[int]] = {}  # (MIDI number, end): notes in out
    for el in flat.notes:
        dur, off = float(el.quarterLength), float(flat.elementOffset(el))
        if dur <= 0:  # grace notes take no time
            continue
        for n in el.notes if el.isChord else (el,):
            pitch, tie = pitch_from_music21(n.pitch), n.tie or el.tie
            key, tied = (pitch.midi, round(off, 6)), tie is not None and tie.type != "start"
            if tied and ending.get(key):  # (two voices in unison may both tie on)
                k = ending[key].pop()
                out[k] = replace(out[k], end=off + dur,
                                 fermata=out[k].fermata or has_fermata(el))
            else:
                k = len(out)
                out.append(_Sound(off, off + dur, pitch, has_fermata(el), el))
            ending.setdefault((pitch.midi, round(off + dur, 6)), []).append(k)
    return out


UNISON_STEP = 7  # semitones: voices reach and leave a unison written once by a fifth at most


def _voicings(moments: list[_Moment], n: int, sounds: list[_Sound],
              refuse: Any) -> list[list[int] | None]:
    """Each moment's sounds, one per voice top first (None where all are silent).

    A moment of n sounds stands as it is. A run of moments one sound short is read one
    of two ways, whichever moves the voices least from the moments of n sounds on either
    side, when one does so alone:
    - two voices in unison written once: a sound heard through the run doubled, the two
      voices reaching and leaving it by UNISON_STEP at most;
    - a unison's note held on: where two notes of one pitch end as the run begins, one
      goes on through it. music21 ends every note of a pitch sounding at once at the
      first note-off of that pitch, so a MIDI track's voice that holds a unison note
      longer than the other arrives cut short.
    Anything else is `refuse(moment, why)`, a ScoreError: a moment of another count, or
    a run the chords beside it leave open (a rest in one voice reads as a unison).
    """
    midi = [s.pitch.midi for s in sounds]

    def motion(path: list[list[int] | None], voices: range | set[int]) -> list[int]:
        return [abs(midi[a[v]] - midi[b[v]]) for a, b in zip(path, path[1:], strict=False)
                if a is not None and b is not None for v in voices]

    out: list[list[int] | None] = [on or None for _, _, on in moments]
    k = 0
    while k < len(moments):
        if len(moments[k][2]) in (0, n):
            k += 1
            continue
        if len(moments[k][2]) != n - 1:
            raise refuse(k, "")
        j = k  # the run of moments one short: k..j
        while j + 1 < len(moments) and len(moments[j + 1][2]) == n - 1:
            j += 1
        run = [moments[m][2] for m in range(k, j + 1)]
        before = out[k - 1] if k > 0 and len(moments[k - 1][2]) == n else None
        after = out[j + 1] if j + 1 < len(moments) and len(moments[j + 1][2]) == n else None
        readings = []
        for s in sorted(set(run[0]).intersection(*run)):  # a sound heard through the run
            doubled = [on[:on.index(s) + 1] + on[on.index(s):] for on in run]
            path = [before, *doubled, after]
            shared = {v for on in doubled for v in (on.index(s), on.index(s) + 1)}
            if max(motion(path, shared), default=0) <= UNISON_STEP:
                readings.append((sum(motion(path, range(n))), doubled))
        ended = [i for i in before or () if abs(sounds[i].end - moments[k][0]) < EPS]
        twins = {midi[i]: i for i in ended if sum(midi[x] == midi[i] for x in ended) > 1}
        for s in twins.values():  # a pitch two voices leave at once, one perhaps not
            held = [sorted([*on, s], key=lambda i: -midi[i]) for on in run]
            v = held[0].index(s)
            if before is not None and midi[before[v]] == midi[s]:
                held = [[before[v] if i == s else i for i in on] for on in held]
                readings.append((sum(motion([before, *held, after], range(n))), held))
        readings.sort(key=lambda r: r[0])
        if (before is None and after is None or not readings
                or len(readings) > 1 and readings[0][0] == readings[1][0]):
            raise refuse(k, " (the chords beside it do not tell which two voices meet in"
                            " unison there, or which holds on)")
        out[k:j + 1] = readings[0][1]
        k = j + 1
    return out


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




