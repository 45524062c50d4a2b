"""Which chords may stand under a given melody: those of which each of its notes is a
chord tone or a properly treated non-chord tone.

The spec's `dissonance-treatment` rule judges the melody's line against every chord the
grammar may place in each slot, as the checker would judge it in the finished score; a
note struck or held on the beat (accented) that is not a chord tone must besides resolve
by step to a tone of the chord that sounds when it moves — an appoggiatura, an accented
passing or neighbour note, a suspension — where `chord-tones` would otherwise forbid it.
The result is a mask over each slot's numerals and, where the melody's next note falls in
the next slot, over each pair of neighbouring numerals: data for the harmony chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from composer.chords import Chord
from composer.grading.chord_batch import CODES, chord_code, identify_chords
from composer.grading.harmony import ONSET_WEIGHT, identify_chord, pc_code
from composer.music import STEP_PC, Key, Pitch, PitchClass
from composer.rules.melodic import DissonanceTreatment
from composer.spec.values import Melody, Spec
from composer.texture import REST, Frame, chord_arrays

# Bach sounds the melody's note on the beat as a chord tone far more often than not: an
# accented dissonance (appoggiatura, suspension) weighs this much log-probability.
ACCENTED = float(np.log(0.02))
Times = Sequence[tuple[int, Fraction, Fraction, bool]]  # phrase, offset, length, cadence


@dataclass(frozen=True, eq=False)
class MelodyFit:
    unary: tuple[np.ndarray, ...]  # per slot: float [numerals], a log-weight, −inf: unfit
    pair: tuple[np.ndarray | None, ...]  # per transition: bool [numerals, numerals], or None


@dataclass(frozen=True)
class _Event:
    pitch: Pitch | None  # None: a rest
    accented: bool  # struck or held at the slot's onset


FIT_RULES = frozenset({"chord-tones", "dissonance-treatment"})  # the rules the fit reads


def melody_fit(spec: Spec, times: Times, chords: Sequence[Chord], accented: bool = True
               ) -> MelodyFit | None:
    """The chords each slot's melody notes allow, by the spec's hard `chord-tones` and
    `dissonance-treatment` rules (None without a melody or without those rules); without
    `accented`, each note on the beat must be a chord tone."""
    ids = {u.rule.id for u in spec.hard}
    if spec.melody is None or not ids & FIT_RULES:
        return None
    treated = "dissonance-treatment" in ids  # without it, every melody note is a chord tone
    roles = chord_arrays(list(chords), [spec.key] * len(chords))
    unary, pair = [], []
    judged = _judged(tuple(chords), spec.key, treated, accented)
    if len(judged) > JUDGED:
        judged.clear()
    holding: dict[Pitch | None, np.ndarray] = {}
    for t, (_, offset, length, _) in enumerate(times):
        events, before, after, heard = _events(spec.melody, offset, length)
        head = events[0].pitch if events and events[0].accented else None
        if head not in holding:  # per numeral: the note on the beat is one of its tones
            holding[head] = np.array([head is None or head.pitch_class in c.tones
                                      for c in chords])
        spelled = holding[head]
        inside_next = t + 1 < len(times) and after is not None and times[t + 1][1] <= after[1]
        key = (heard, before, after[0] if after else None, inside_next)
        if (last_ok := judged.get(key)) is None:
            last_ok = judged[key] = _judge(events, before, after, roles, spelled, treated,
                                           accented, inside_next)
        unary.append(np.where(last_ok.any(axis=1), np.where(spelled, 0.0, ACCENTED), -np.inf))
        pair.append(None if (last_ok == last_ok[:, :1]).all() else last_ok)
    return MelodyFit(tuple(unary), tuple(pair[:-1]))


def clashes(note: PitchClass, chord: Chord) -> bool:
    """A melody note against another alteration of itself in the chord (D over B D# F#,
    C over A C# E): a false relation within one chord, which no treatment of the note as
    a non-chord tone mends, and which no chord under a note let go may make either."""
    return any(t.step == note.step and t.alter != note.alter for t in chord.tones)


JUDGED = 2048  # the most slots' verdicts remembered per grammar, key and strictness


@lru_cache(maxsize=32)
def _judged(chords: tuple[Chord, ...], key: Key, treated: bool, accented: bool
            ) -> dict[tuple, np.ndarray]:
    """The verdicts on a slot's melody (its events, the notes around them) under these
    chords: a line's figures come back within a piece, in its stricter and looser
    tries, and in the next pieces in its key, so each is judged once (a pure function's
    memo; its arrays are only read)."""
    return {}


Events = tuple[list[_Event], Pitch | None, tuple[Pitch | None, Fraction] | None, tuple]


def _events(melody: Melody, offset: Fraction, length: Fraction) -> Events:
    """The melody's events in a slot (the note sounding at its onset, then each struck
    within it), the pitch before them, (pitch, offset) of the event after them, and the
    events as a key; remembered per melody (each of a piece's chains asks again)."""
    memo = melody.memo
    if (found := memo.get(("events", offset, length))) is None:
        found = memo[("events", offset, length)] = _find_events(melody, offset, length)
    return found


def _find_events(melody: Melody, offset: Fraction, length: Fraction) -> Events:
    head = melody.at(offset)
    events = [_Event(head.pitch, True)] if head is not None and head.pitch is not None else []
    if head is not None and head.offset < offset:  # held into the slot: it precedes itself
        before = head.pitch
    else:
        prior = melody.at(offset - Fraction(1, 64)) if offset > 0 else None
        before = prior.pitch if prior is not None else None
    events += [_Event(n.pitch, False) for n in melody.struck_within(offset, length)]
    end = offset + length
    nxt = melody.at(end)
    after = None if nxt is None else (nxt.pitch, end)
    return events, before, after, tuple((e.pitch, e.accented) for e in events)


def _frame(pitch: Pitch | None, n: int, roles: tuple[np.ndarray, ...]) -> Frame:
    """One voice's event, n times, as a one-column frame, each row with its chord's roles."""
    midi = np.full((n, 1), pitch.midi if pitch else REST, np.int16)
    diatonic = np.full((n, 1), pitch.diatonic if pitch else 0, np.int16)
    r, lead, root = roles
    return Frame(midi, diatonic, np.ones((n, 1), bool), r, lead, root, (0,),
                 np.arange(n, dtype=np.int32), np.zeros(n, bool))


def _judge(events: list[_Event], before: Pitch | None,
           after: tuple[Pitch | None, Fraction] | None, roles: tuple[np.ndarray, ...],
           spelled: np.ndarray, treated: bool, accented: bool, inside_next: bool
           ) -> np.ndarray:
    """bool [numerals, numerals]: the slot's melody fits numeral i here with numeral j in
    the next slot (the last event's next note sounds in the next slot's chord). A note on
    the beat is a chord tone only as spelled (`spelled`, per numeral): a D flat is not
    the third of an A major chord."""
    n = len(roles[0])
    ok = np.ones((n, n), bool)
    if not events:
        return ok
    rule = DissonanceTreatment()
    pitches = [before] + [e.pitch for e in events] + [after[0] if after else None]
    for k, event in enumerate(events, 1):
        if not (treated or event.accented):  # only the beat's note answers to chord-tones
            continue
        # Only the last event's next note may sound in the next slot's chord: the others
        # are judged once per chord here (row i), not per pair of chords.
        pair = k == len(events) and inside_next
        rows, here, there = n, roles, roles
        if pair:  # row i * m + j: chord i here, the j-th kind of chord next
            # The next chord is asked only whether it is a chord at all and whether the
            # next note is one of its tones: one row for each kind that occurs.
            follows = pitches[k + 1]
            after_pc = follows.midi % 12 if follows is not None else 0
            kind = 2 * roles[0].any(axis=1) + (roles[0][:, after_pc] > 0)
            _, pick, back = np.unique(kind, return_index=True, return_inverse=True)
            m = len(pick)
            rows, here = n * m, tuple(np.repeat(x, m, axis=0) for x in roles)
            there = tuple(np.tile(x[pick], (n,) + (1,) * (x.ndim - 1)) for x in roles)
        a = _frame(pitches[k - 1], rows, here)
        b = _frame(pitches[k], rows, here)
        c = _frame(pitches[k + 1], rows, there)
        nct, fits, _ = rule.kinds((a, b, c))
        if event.accented:
            nct = nct | (np.repeat(~spelled, m) if pair else ~spelled)
        fine = ~nct
        if treated:
            explained = np.logical_or.reduce(list(fits.values()))
            if event.accented and not accented:
                explained = np.zeros_like(explained)
            elif event.accented:  # on the beat it must fall or rise by step to a chord tone
                resolved = fits["suspension"] | fits["passing"] | fits["neighbour"] \
                    | fits["appoggiatura"]
                lands = c.roles[np.arange(rows), np.where(c.midi[:, 0] >= 0,
                                                          c.midi[:, 0] % 12, 0)] > 0
                explained = resolved & lands
            fine |= explained
        ok &= fine.reshape(n, m)[:, back.reshape(-1)] if pair else fine.reshape(n, 1)
    return ok


def heard_as_planned(spec: Spec, offset: Fraction, length: Fraction, chords: Sequence[Chord],
                     which: np.ndarray, midi: np.ndarray, diatonic: np.ndarray) -> np.ndarray:
    """bool [values]: whether the checker hears each value's own chord in its voicing
    with the melody's notes in the slot (value r's chord: `chords[which[r]]`). A melody
    note foreign to the chord can make another chord of the notes — B over D F# A is
    heard as a seventh chord on B — and then every voice is judged against that one;
    asked only where the melody has such a note, or the chord minor's raised sixth."""

    assert spec.melody is not None
    later = [(n, n.pitch) for n in spec.melody.struck_within(offset, length)
             if n.pitch is not None]
    stops = [n.offset for n, _ in later[1:]] + [offset + length] * bool(later)
    weights = [(p.pitch_class, 0.5 * float(min(stop, n.offset + n.duration) - n.offset)
                / float(length)) for (n, p), stop in zip(later, stops, strict=True)]
    melody = [p for p in [*(p for _, p in later), melody_at(spec.melody, offset)]
              if p is not None]
    out = np.ones(len(which), bool)
    classes = [p.pitch_class for p in melody]
    # per chord: every melody note is one of its tones (then it is heard as planned),
    # unless the chord holds minor's raised sixth: the checker hears that only where it
    # sounds (F# A E in E minor is the half-diminished ii7, not F# A C# E).
    sixth = (spec.key.tonic.pc + 9) % 12 if spec.key.mode == "minor" else None
    holds = np.array([all(pc in chord.tones for pc in classes) and sixth not in chord.pcs
                      for chord in chords], bool)
    asked = np.flatnonzero(~holds[which]) if len(chords) else np.zeros(0, np.int64)
    if not len(asked):
        return out
    # A value is heard by its chord, the spelled pitch classes of its voicing in the
    # order the checker reads a score's voices (top voice first: where two chords explain
    # the notes equally, the checker takes the one whose root it meets first) and its
    # lowest voice: the same few come back value after value, so each is judged once.
    m = midi[asked].astype(np.int64)
    d = diatonic[asked].astype(np.int64)
    step = d % 7
    alter = m - (12 * (d // 7 + 1) + np.asarray(STEP_PC)[step])
    sounding = m >= 0
    lowest = np.argmin(np.where(sounding, m * 4096 + (d + 2048), 1 << 40), axis=1)
    rows = np.column_stack([which[asked].astype(np.int64), np.where(sounding, step, -1),
                            np.where(sounding, alter, 0), lowest])
    # (each row as one number, digit by digit: np.unique of rows is far slower)
    low, span = rows.min(axis=0), rows.max(axis=0) - rows.min(axis=0) + 1
    code = np.zeros(len(rows), np.int64)
    for j in range(rows.shape[1]):
        code = code * span[j] + (rows[:, j] - low[j])
    distinct, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    out[asked] = _heard_rows(chords, which[asked[first]], step[first], alter[first],
                             sounding[first], lowest[first], weights, spec.key
                             )[inverse.reshape(-1)]
    return out


def _heard_rows(chords: Sequence[Chord], which: np.ndarray, step: np.ndarray,
                alter: np.ndarray, sounding: np.ndarray, lowest: np.ndarray,
                weights: list[tuple[PitchClass, float]], key: Key) -> np.ndarray:
    """bool [rows]: whether the checker hears each row's chord in its voicing (steps and
    alterations top voice first) with the melody's later notes, all rows in one
    `identify_chords` call (the very verdicts of `_heard`)."""
    n = len(which)
    later = np.array([pc_code(p) for p, _ in weights], np.int64)
    voices = np.where(sounding, 8 * step + alter + 3, -1)
    if (voices >= CODES - 1).any() or (later >= CODES - 1).any() or (later < 0).any() \
            or (sounding & (alter < -3)).any():
        return np.array([_heard(chords[w], tuple(PitchClass(s, a) if on else None
                                                 for s, a, on in zip(st, al, so, strict=True)),
                                tuple(weights), key, int(lo))
                         for w, st, al, so, lo in zip(which.tolist(), step.tolist(),
                                                      alter.tolist(), sounding, lowest.tolist(),
                                                      strict=True)], bool).reshape(n)
    codes = np.concatenate([voices, np.broadcast_to(later, (n, len(later)))], axis=1)
    onset = np.where(sounding, ONSET_WEIGHT, 0.0)
    w = np.concatenate([onset, np.broadcast_to(np.array([x for _, x in weights], float),
                                               (n, len(weights)))], axis=1)
    bass = voices[np.arange(n), lowest]
    root, quality = identify_chords(codes, w, bass, key)
    want_root, want_quality = np.array([chord_code(c) for c in chords], np.int64).reshape(-1, 2).T
    return (root == want_root[which]) & (quality == want_quality[which])


@lru_cache(maxsize=1 << 16)
def _heard(chord: Chord, classes: tuple[PitchClass | None, ...],
           weights: tuple[tuple[PitchClass, float], ...], key: Key, lowest: int) -> bool:
    """Whether the checker hears `chord` in a voicing's spelled pitch classes (top voice
    first, None where one rests; `lowest`: which voice sounds lowest) with the melody's
    later notes (`weights`); a pure function, so remembered for the process's life."""
    notes = [(pc, ONSET_WEIGHT) for pc in classes if pc is not None] + list(weights)
    return identify_chord(notes, classes[lowest], key) == chord


def forget_heard() -> None:
    """Empty the process's memo of chords heard in voicings, as a new process starts."""
    _heard.cache_clear()


def melody_at(melody: Melody, offset: Fraction) -> Pitch | None:
    note = melody.at(offset)
    return note.pitch if note is not None else None
