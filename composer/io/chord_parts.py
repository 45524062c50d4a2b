"""A part that holds its voices as chords (a piano MIDI track of an exercise, a grand
staff's track of two voices), read as those voices for grading (`chord_voices`)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from composer.errors import ScoreError
from composer.io.events import (
    EPS,
    Event,
    Measure,
    beat_lengths,
    has_fermata,
    pitch_from_music21,
)
from composer.music import Meter, Pitch, format_beat


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
        m, beat = measures[mi], beat_lengths(measures, meter)[mi]
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
