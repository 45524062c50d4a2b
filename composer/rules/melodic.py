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


# The kinds of treated dissonance, in the order a label is chosen when several fit.
NCT_KINDS = ("suspension", "passing", "neighbour", "appoggiatura", "escape", "cambiata",
             "anticipation", "repetition")


def _step(diatonic: np.ndarray, semitones: np.ndarray) -> np.ndarray:
    """A move by step: to the next letter a semitone or tone away, or a chromatic
    semitone on the same letter (C to C#, as a chromatic passing tone moves)."""
    d, s = np.abs(diatonic), np.abs(semitones)
    return ((d == 1) & (s >= 1) & (s <= 2)) | ((d == 0) & (s == 1))


def _direction(diatonic: np.ndarray, semitones: np.ndarray) -> np.ndarray:
    return np.where(diatonic != 0, np.sign(diatonic), np.sign(semitones))


class DissonanceTreatment(MelodicRule):
    id = "dissonance-treatment"
    summary = "Every non-chord tone is a passing tone, neighbour, suspension, anticipation,"
    summary += " appoggiatura, escape tone or cambiata."
    explanation = (
        "A note outside the chord must be explained by the line around it: approached and"
        " left by step (passing and neighbour tones, diatonic or chromatic), prepared and"
        " resolved down by step (suspensions), repeated into the next chord (anticipations),"
        " or one leap balanced by a step the other way (appoggiatura, escape tone), or"
        " reached by step down and left by a third down (cambiata). A note struck again"
        " at once is judged where it is struck last."
    )
    example = "Over a C major chord, an alto D4 reached by leap from A3 and left by leap to G4."
    window = 3

    def kinds(self, frames: tuple[Frame, ...]) -> tuple[np.ndarray, dict[str, np.ndarray],
                                                         np.ndarray]:
        """(non-chord tone [n], each kind's fit [n] by name, held over [n]) of the middle
        event of each window."""
        a, b, c = frames
        nct = ~_chord_tone(b) & (_col(b) != -1) & b.roles.any(axis=1)
        am, bm, cm = _col(a), _col(b), _col(c)
        da = _col(b, b.diatonic) - _col(a, a.diatonic)
        dc = _col(c, c.diatonic) - _col(b, b.diatonic)
        has_a, has_c = am != -1, cm != -1
        step_in = has_a & _step(da, bm - am)
        step_out = has_c & _step(dc, cm - bm)
        way_in, way_out = _direction(da, bm - am), _direction(dc, cm - bm)
        held = has_a & (am == bm)
        resolution = step_out & ((way_out < 0) | (cm - bm == 1))  # down, or up a semitone
        leap_in, leap_out = has_a & ~step_in & ~held, has_c & ~step_out & (cm != bm)
        fits = {
            "suspension": held & resolution,
            "passing": step_in & step_out & (way_in == way_out),
            "neighbour": step_in & step_out & (way_in != way_out),
            "appoggiatura": leap_in & step_out & (way_in != way_out),
            "escape": step_in & leap_out & (way_in != way_out),
            "cambiata": step_in & (way_in < 0) & has_c & (dc == -2),
            "anticipation": has_c & (cm == bm) & _chord_tone(c),
            # struck again at once: answered for where it is struck last
            "repetition": has_c & (cm == bm) & ~_chord_tone(c),
        }
        return nct, fits, held

    def test(self, frames, ctx, p):
        nct, fits, _ = self.kinds(frames)
        return nct & ~np.logical_or.reduce(list(fits.values()))

    def message(self, frames, row, ctx, p):
        a, b, c = frames
        _, _, held = self.kinds(frames)
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
