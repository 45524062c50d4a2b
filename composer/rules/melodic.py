"""Rules about one voice's line: its leaps, its tendency tones, its dissonances.

A line's events are its struck notes, plus a held note at each new beat (where a
suspension turns dissonant); see `Texture.segments`.
"""

from __future__ import annotations

import numpy as np

from composer.music import STEP_PC, interval_name, interval_words
from composer.rules.base import Context, MelodicRule, Param, Params, mod, pitch_at
from composer.texture import Frame


def _col(f: Frame, x: np.ndarray | None = None) -> np.ndarray:
    return (f.midi if x is None else x)[:, 0].astype(np.int32)


def _moves(a: Frame, b: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sounding-to-sounding moves: mask, semitones, steps (signed, upward positive)."""
    am, bm = _col(a), _col(b)
    ok = (am != -1) & (bm != -1)
    return ok, bm - am, _col(b, b.diatonic) - _col(a, a.diatonic)


def _move_words(a: Frame, b: Frame, row: int) -> str:
    pa, pb = pitch_at(a, row, 0), pitch_at(b, row, 0)
    return f"{interval_words(pb.diatonic - pa.diatonic, pb.midi - pa.midi)} ({pa}–{pb})"


def _chord_tone(f: Frame, role: int | None = None) -> np.ndarray:
    m = _col(f)
    pcs = np.where(m != -1, mod(m, 12), 0)
    r = f.roles[np.arange(len(f)), pcs]
    known = f.roles.any(axis=1)
    return (m != -1) & known & ((r > 0) if role is None else (r == role))


class MaxLeap(MelodicRule):
    id = "max-leap"
    summary = "No voice leaps further than an octave."
    explanation = (
        "A voice sings: leaps wider than an octave are hard to sing in tune and break the"
        " line into two."
    )
    params = (Param("semitones", "int", 12, "the widest leap allowed, in semitones"),
              Param("voice", "voice", None, "only this voice (every voice if absent)"))
    example = "A bass leap from G2 to A3 (a ninth) is too wide."
    keyed_by = "voice"

    def applies(self, voice, ctx, p):
        return p.get("voice") in (None, ctx.voices[voice])

    def test(self, frames, ctx, p):
        ok, semis, _ = _moves(*frames)
        return ok & (np.abs(semis) > p["semitones"])

    def message(self, frames, row, ctx, p):
        return f"{ctx.voices[frames[0].columns[0]]} leaps a {_move_words(*frames, row)}"


class NoAugmentedMelodic(MelodicRule):
    id = "no-augmented-melodic"
    summary = "No voice moves by an augmented interval."
    explanation = (
        "Augmented seconds and fourths are awkward to sing and sound foreign to the key; in"
        " minor, avoid the step from the sixth to the raised seventh degree."
    )
    example = "Alto F4 to G#4 in A minor is an augmented second."

    def test(self, frames, ctx, p):
        ok, semis, steps = _moves(*frames)
        a = np.abs(steps)
        base = _MAJOR_SEMITONES.take(a)  # the major or perfect interval of that many steps
        # A chromatic semitone (C to C#) is how a line should move, so unisons are exempt.
        return ok & (a > 0) & (np.abs(semis) - base >= 1)

    def message(self, frames, row, ctx, p):
        return f"{ctx.voices[frames[0].columns[0]]} moves by an {_move_words(*frames, row)}"


_MAJOR_SEMITONES = np.array([STEP_PC[k % 7] + 12 * (k // 7) for k in range(256)])


def _voices_param(voice: int, ctx: Context, p: Params) -> bool:
    return p.get("voices", "outer") == "all" or voice in ctx.outer


class LeadingToneResolves(MelodicRule):
    id = "leading-tone-resolves"
    summary = "The leading tone of a dominant chord rises to the tonic when the chord resolves."
    explanation = (
        "The leading tone lies a semitone below the tonic and pulls towards it; when the"
        " dominant moves to its tonic (or to the submediant in a deceptive cadence) the"
        " leading tone must rise. In an inner voice it may fall to the fifth of the tonic"
        " chord, so by default only the outer voices are held to it."
    )
    params = (Param("voices", "choices", "outer", "which voices must resolve it",
                    ("outer", "all")),)
    example = "V to I in C major with the soprano B4 going down to G4."
    report_at = 0

    def applies(self, voice, ctx, p):
        return _voices_param(voice, ctx, p)

    def test(self, frames, ctx, p):
        a, b = frames
        ok, semis, _ = _moves(a, b)
        lt = a.leading.astype(np.int32)
        rows = np.flatnonzero(ok & (lt >= 0) & (mod(_col(a), 12) == lt) & (semis != 0)
                              & (semis != 1))  # leading tones that do not rise (few)
        goal = (lt[rows] + 1) % 12
        broot = b.root[rows].astype(np.int32)
        goal_in_b = b.roles[rows, goal] > 0
        resolves = (broot == goal) | ((broot == (goal + 9) % 12) & goal_in_b)  # or deceptive
        out = np.zeros(len(a), bool)
        out[rows] = resolves & (a.root[rows] != b.root[rows])
        return out

    def message(self, frames, row, ctx, p):
        a, b = frames
        pa = pitch_at(a, row, 0)
        return (f"leading tone {pa} in the {ctx.voices[a.columns[0]]} does not rise to the"
                f" tonic; it moves to {pitch_at(b, row, 0)}")


class SeventhResolvesDown(MelodicRule):
    id = "seventh-resolves-down"
    summary = "The seventh of a chord resolves down by step."
    explanation = (
        "A chordal seventh is a dissonance against the root; it is released by falling a"
        " step into the next chord. Held over, it resolves when it next moves."
    )
    example = "In G7 to C, the soprano F5 must go to E5."
    report_at = 0

    def test(self, frames, ctx, p):
        a, b = frames
        ok, semis, steps = _moves(a, b)
        step_down = (steps == -1) & ((semis == -1) | (semis == -2))
        rows = np.flatnonzero(ok & (semis != 0) & ~step_down)  # (few: look at these only)
        rows = rows[a.roles[rows, a.midi[rows, 0].astype(np.int64) % 12] == 4]  # sevenths
        out = np.zeros(len(a), bool)
        out[rows] = (a.roles[rows] != b.roles[rows]).any(axis=1)  # and the chord changes
        return out

    def message(self, frames, row, ctx, p):
        a, b = frames
        return (f"seventh {pitch_at(a, row, 0)} in the {ctx.voices[a.columns[0]]} moves to"
                f" {pitch_at(b, row, 0)} instead of falling a step")


class DissonanceTreatment(MelodicRule):
    id = "dissonance-treatment"
    summary = "Every non-chord tone is a passing tone, neighbour, suspension, anticipation,"
    summary += " appoggiatura or escape tone."
    explanation = (
        "A note outside the chord must be explained by the line around it: approached and"
        " left by step (passing and neighbour tones), prepared and resolved down by step"
        " (suspensions), repeated into the next chord (anticipations), or one leap balanced"
        " by a step the other way (appoggiatura, escape tone)."
    )
    example = "Over a C major chord, an alto D4 reached by leap from A3 and left by leap to G4."
    window = 3

    def _kinds(self, frames):
        a, b, c = frames
        nct = ~_chord_tone(b) & (_col(b) != -1) & b.roles.any(axis=1)
        bm = _col(b)
        am, cm = _col(a), _col(c)
        da = _col(b, b.diatonic) - _col(a, a.diatonic)
        dc = _col(c, c.diatonic) - _col(b, b.diatonic)
        has_a, has_c = am != -1, cm != -1
        step_in = has_a & (np.abs(da) == 1)
        step_out = has_c & (np.abs(dc) == 1)
        held = has_a & (am == bm)
        resolution = step_out & ((dc < 0) | (cm - bm == 1))  # down, or up a semitone
        suspension = held & resolution
        passing = step_in & step_out & (np.sign(da) == np.sign(dc))
        neighbour = step_in & step_out & (np.sign(da) != np.sign(dc))
        anticipation = has_c & (cm == bm) & _chord_tone(c)
        appoggiatura = has_a & (np.abs(da) > 1) & step_out & (np.sign(da) != np.sign(dc))
        escape = step_in & has_c & (np.abs(dc) > 1) & (np.sign(da) != np.sign(dc))
        ok = suspension | passing | neighbour | anticipation | appoggiatura | escape
        return nct, ok, held

    def test(self, frames, ctx, p):
        nct, ok, _ = self._kinds(frames)
        return nct & ~ok

    def message(self, frames, row, ctx, p):
        a, b, c = frames
        _, _, held = self._kinds(frames)
        pb = pitch_at(b, row, 0)
        voice = ctx.voices[b.columns[0]]
        pa, pc = a.pitch(row, 0), c.pitch(row, 0)
        if held[row]:
            where = f"moves to {pc}" if pc else "is not followed by a note"
            return (f"suspended {pb} in the {voice} does not resolve down by step: it {where}")
        came = f"from {pa}" if pa else "with no preparation"
        went = f"to {pc}" if pc else "to a rest"
        return f"non-chord tone {pb} in the {voice} is approached {came} and left {went}"


class RepeatedNotes(MelodicRule):
    id = "repeated-notes"
    summary = "A voice repeats a note at most once in a row."
    explanation = (
        "In strict counterpoint a line that keeps repeating a note stops moving and loses"
        " its shape."
    )
    params = (Param("max", "int", 1, "how many repetitions in a row are allowed"),)
    example = "C4 C4 C4 repeats C4 twice."
    window = 3

    def test(self, frames, ctx, p):
        ms = [_col(f) for f in frames]
        same = (ms[0] == ms[1]) & (ms[1] == ms[2]) & (ms[0] != -1)
        if p["max"] >= 2:
            return np.zeros(len(frames[0]), bool)
        if p["max"] <= 0:
            return (ms[1] == ms[2]) & (ms[1] != -1)
        return same

    def message(self, frames, row, ctx, p):
        pitch = pitch_at(frames[1], row, 0)
        return f"{ctx.voices[frames[0].columns[0]]} repeats {pitch} more than {p['max']} time(s)"


class LeapRecovery(MelodicRule):
    id = "leap-recovery"
    summary = "After a large leap the line turns back the other way."
    explanation = (
        "A leap wider than a third opens a gap the ear wants filled: follow it with motion in"
        " the opposite direction, best by step."
    )
    params = (Param("semitones", "int", 5, "leaps wider than this must be recovered"),)
    example = "C4 up to A4 (a sixth) then on up to B4."
    window = 3

    def test(self, frames, ctx, p):
        a, b, c = frames
        ok1, s1, _ = _moves(a, b)
        ok2, s2, _ = _moves(b, c)
        return ok1 & ok2 & (np.abs(s1) > p["semitones"]) & (np.sign(s1) == np.sign(s2))

    def message(self, frames, row, ctx, p):
        a, b, c = frames
        return (f"{ctx.voices[a.columns[0]]} leaps a {_move_words(a, b, row)} and goes on"
                f" the same way to {pitch_at(c, row, 0)}")


def leap_name(a: Frame, b: Frame, row: int) -> str:
    pa, pb = pitch_at(a, row, 0), pitch_at(b, row, 0)
    return interval_name(pb.diatonic - pa.diatonic, pb.midi - pa.midi)


MELODIC_RULES = (MaxLeap(), NoAugmentedMelodic(), LeadingToneResolves(), SeventhResolvesDown(),
                 DissonanceTreatment(), RepeatedNotes(), LeapRecovery())
