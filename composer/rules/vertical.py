"""Rules about one slice at a time: which notes, how far apart, how the chord is built."""

from __future__ import annotations

import numpy as np

from composer.music import Pitch, interval_words
from composer.rules.base import Context, Finding, Param, Params, VerticalRule, pitch_at
from composer.texture import Frame

# Standard choral ranges, as the textbooks give them.
STANDARD_RANGES: dict[str, tuple[str, str]] = {
    "soprano": ("C4", "A5"),
    "alto": ("G3", "D5"),
    "tenor": ("C3", "G4"),
    "bass": ("E2", "C4"),
}

ROLE_NAMES = {1: "root", 2: "third", 3: "fifth", 4: "seventh"}


def chord_label(f: Frame, row: int) -> str:
    """'the chord on D (root, third, fifth: D F# A)' from the frame's role table."""
    tones = [pc for role in (1, 2, 3, 4) for pc in np.flatnonzero(f.roles[row] == role)]
    names = " ".join(_PC_NAMES[pc] for pc in tones)
    return f"the chord {names}" if names else "no recognisable chord"


_PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


class ChordTones(VerticalRule):
    id = "chord-tones"
    summary = "Every note struck on a beat belongs to the chord of that beat."
    explanation = (
        "The harmony of each beat is a chord; a note struck on the beat that is not one of"
        " its tones blurs the harmony. Dissonances belong between the beats or, held over"
        " from the previous chord, as prepared suspensions."
    )
    example = "In a C major chord on beat 1, an alto D4 struck on the beat is not a chord tone."
    harmonic_only = True

    def test(self, f: Frame, ctx: Context, p: Params) -> np.ndarray:
        known = np.asarray(f.roles.any(axis=1))[:, None]
        pcs = np.where(f.sounding, f.midi % 12, 0)
        in_chord = np.take_along_axis(f.roles, pcs.astype(np.int64), axis=1) > 0
        return known & f.sounding & f.attacks & ~in_chord

    def message(self, f, row, target, ctx, p) -> str:
        v = target[0]
        return f"{ctx.voices[v]} {pitch_at(f, row, v)} is not a tone of {chord_label(f, row)}"


class VoiceRange(VerticalRule):
    id = "voice-range"
    summary = "Each voice stays within its range."
    explanation = (
        "Notes outside a voice's comfortable range strain the singer and thin or muddy the"
        " sound; the standard ranges are soprano C4–A5 (the chorale melodies reach A5, G5"
        " is the usual top), alto G3–D5, tenor C3–G4 and bass E2–C4."
    )
    params = (
        Param("voice", "voice", None, "the voice; every voice with a standard range if absent"),
        Param("low", "pitch", None, "lowest allowed pitch (the standard one if absent)"),
        Param("high", "pitch", None, "highest allowed pitch (the standard one if absent)"),
    )
    example = "A soprano B5 is above the soprano's range C4–A5."
    keyed_by = "voice"

    def ranges(self, ctx: Context, p: Params) -> list[tuple[int, Pitch, Pitch]]:
        out = []
        for i, name in enumerate(ctx.voices):
            if p.get("voice") not in (None, name):
                continue
            low, high = STANDARD_RANGES.get(name, (None, None))
            low, high = p.get("low") or low, p.get("high") or high
            if low is not None and high is not None:
                out.append((i, _as_pitch(low), _as_pitch(high)))
        return out

    def targets(self, ctx, p):
        return [(i,) for i, _, _ in self.ranges(ctx, p)]

    def test(self, f, ctx, p):
        ranges = self.ranges(ctx, p)
        cols = [i for i, _, _ in ranges]
        low = np.array([lo.midi for _, lo, _ in ranges])
        high = np.array([hi.midi for _, _, hi in ranges])
        m = f.midi[:, cols]
        return (m != -1) & ((m < low) | (m > high))

    def message(self, f, row, target, ctx, p):
        v = target[0]
        i, low, high = next(r for r in self.ranges(ctx, p) if r[0] == v)
        pitch = pitch_at(f, row, v)
        side = "above" if pitch.midi > high.midi else "below"
        return f"{ctx.voices[v]} {pitch} is {side} its range {low}–{high}"


def _as_pitch(value: str | Pitch) -> Pitch:
    return value if isinstance(value, Pitch) else Pitch.parse(value)


class Spacing(VerticalRule):
    id = "spacing"
    summary = "Adjacent upper voices stay within an octave; tenor and bass within a twelfth."
    explanation = (
        "Wide gaps between the upper voices make the chord fall apart into separate"
        " layers; the bass may lie further below, where wide intervals sound well."
    )
    params = (
        Param("upper", "int", 12, "largest interval in semitones between adjacent upper voices"),
        Param("lower", "int", 19, "largest interval in semitones between the two lowest voices"),
    )
    example = "Soprano E5 over alto C4 is a tenth apart, more than an octave."
    harmonic_only = True

    def targets(self, ctx, p):
        return ctx.pairs(adjacent=True)

    def limits(self, ctx: Context, p: Params) -> np.ndarray:
        n = len(ctx.voices) - 1
        return np.array([p["lower"] if i == n - 1 else p["upper"] for i in range(n)])

    def test(self, f, ctx, p):
        hi, lo = f.midi[:, :-1].astype(int), f.midi[:, 1:].astype(int)
        both = (hi != -1) & (lo != -1)
        return both & (hi - lo > self.limits(ctx, p))

    def message(self, f, row, target, ctx, p):
        i, j = target
        hi, lo = pitch_at(f, row, i), pitch_at(f, row, j)
        limit = self.limits(ctx, p)[i]
        return (f"a"
                f" {interval_words(hi.diatonic - lo.diatonic, hi.midi - lo.midi)} apart"
                f" ({hi}/{lo}); at most {limit} semitones allowed")


class NoVoiceCrossing(VerticalRule):
    id = "no-voice-crossing"
    summary = "A lower voice never sounds above a higher one."
    explanation = (
        "When voices cross, the ear follows the higher note and loses each part's line;"
        " keep every voice below the one written above it."
    )
    example = "An alto E5 above a soprano D5 crosses the soprano."

    def targets(self, ctx, p):
        return ctx.pairs()

    def test(self, f, ctx, p):
        pairs = ctx.pairs()
        hi = f.midi[:, [i for i, _ in pairs]]
        lo = f.midi[:, [j for _, j in pairs]]
        return (hi != -1) & (lo != -1) & (hi < lo)

    def message(self, f, row, target, ctx, p):
        i, j = target
        return (f"{ctx.voices[j]} {pitch_at(f, row, j)} crosses above"
                f" {ctx.voices[i]} {pitch_at(f, row, i)}")


class CompleteChord(VerticalRule):
    id = "complete-chord"
    summary = "Every chord has its root and third (and its seventh, if it is a seventh chord)."
    explanation = (
        "The third says whether a chord is major or minor, and the root names it; without"
        " them the harmony is hollow or ambiguous. Only the fifth may be left out, with the"
        " root doubled instead. A tone may arrive within the beat, as the resolution of a"
        " suspension does."
    )
    params = (Param("fifth", "bool", False, "require the fifth too"),)
    example = "G3 D4 G4 G5 has no third: the chord sounds empty."
    harmonic_only = True

    def targets(self, ctx, p):
        return [tuple(range(len(ctx.voices)))]

    def _missing(self, f: Frame, p: Params, present: np.ndarray | None = None) -> np.ndarray:
        """bool [rows, 4]: root, third, fifth, seventh absent though the chord has it.
        `present` (bool [rows, 12]) is what sounds in each row's harmonic slot; by default
        what sounds in the row itself."""
        if present is None:
            present = _sounding_pcs(f)
        missing = np.zeros((len(f), 4), bool)
        for role in (1, 2, 3, 4):
            has = (f.roles == role).any(axis=1)
            missing[:, role - 1] = has & ~(present & (f.roles == role)).any(axis=1)
        if not p.get("fifth"):
            missing[:, 2] = False
        return missing

    def test(self, f, ctx, p):
        return self._missing(f, p).any(axis=1)[:, None]

    def findings(self, texture, ctx, p):
        # Judge each beat by everything that sounds in it, not only at its onset: in a
        # 4-3 suspension the third arrives with the resolution.
        f = texture.frame
        starts = np.flatnonzero(f.harmonic)
        if not len(starts):
            return
        present = np.logical_or.reduceat(_sounding_pcs(f), starts, axis=0)
        beats = f.take(starts)
        missing = self._missing(beats, p, present)
        target = self.targets(ctx, p)[0]
        for r in np.flatnonzero(missing.any(axis=1)):
            yield Finding((int(beats.rows[r]),), target, _incomplete(beats, int(r), missing[r]))

    def message(self, f, row, target, ctx, p):
        return _incomplete(f, row, self._missing(f, p)[row])


def _sounding_pcs(f: Frame) -> np.ndarray:
    """bool [rows, 12]: the pitch classes sounding in each row."""
    present = np.zeros((len(f), 12), bool)
    rows = np.repeat(np.arange(len(f)), f.midi.shape[1])
    m = f.midi.reshape(-1)
    ok = m != -1
    present[rows[ok], (m[ok] % 12)] = True
    return present


def _incomplete(f: Frame, row: int, missing: np.ndarray) -> str:
    gone = [ROLE_NAMES[r + 1] for r in np.flatnonzero(missing).tolist()]
    return f"{chord_label(f, row)} has no {' and no '.join(gone)}"


class NoDoubledLeadingTone(VerticalRule):
    id = "no-doubled-leading-tone"
    summary = "The leading tone of a dominant chord is never doubled."
    explanation = (
        "The leading tone must rise to the tonic; doubled, either both voices rise and form"
        " parallel octaves, or one fails to resolve."
    )
    example = "In V (A C# E) in D major, C#4 in the tenor and C#5 in the soprano double it."
    harmonic_only = True

    def targets(self, ctx, p):
        return [tuple(range(len(ctx.voices)))]

    def _doubled(self, f: Frame) -> np.ndarray:
        return f.sounding & (f.midi % 12 == f.leading[:, None]) & (f.leading[:, None] >= 0)

    def test(self, f, ctx, p):
        return (self._doubled(f).sum(axis=1) > 1)[:, None]

    def findings(self, texture, ctx, p):
        # Name the voices that double it, not the whole chord.
        f = texture.frame.take(np.flatnonzero(texture.frame.harmonic))
        doubled = self._doubled(f)
        for r in np.flatnonzero(doubled.sum(axis=1) > 1):
            cols = tuple(int(c) for c in np.flatnonzero(doubled[r]))
            yield Finding((int(f.rows[r]),), cols, self.message(f, int(r), cols, ctx, p))

    def message(self, f, row, target, ctx, p):
        cols = np.flatnonzero(self._doubled(f)[row])
        who = " and ".join(f"{ctx.voices[c]} {pitch_at(f, row, c)}" for c in cols)
        return f"the leading tone is doubled: {who}"


CONSONANT_SEMITONES = frozenset({0, 3, 4, 7, 8, 9})


class ConsonantIntervals(VerticalRule):
    id = "consonant-intervals"
    summary = "Every interval between two voices is a consonance."
    explanation = (
        "In first-species counterpoint every note is consonant with the other voice: unisons,"
        " thirds, fifths, sixths and octaves (and their compounds). Seconds, sevenths,"
        " tritones and the fourth are dissonant."
    )
    example = "D4 against E3 makes a seventh, a dissonance."

    def targets(self, ctx, p):
        return ctx.pairs()

    def test(self, f, ctx, p):
        pairs = ctx.pairs()
        hi = f.midi[:, [i for i, _ in pairs]].astype(int)
        lo = f.midi[:, [j for _, j in pairs]].astype(int)
        dhi = f.diatonic[:, [i for i, _ in pairs]].astype(int)
        dlo = f.diatonic[:, [j for _, j in pairs]].astype(int)
        semis, steps = np.abs(hi - lo) % 12, np.abs(dhi - dlo) % 7
        consonant = np.isin(semis, list(CONSONANT_SEMITONES)) & np.isin(steps, [0, 2, 4, 5])
        return (hi != -1) & (lo != -1) & ~consonant

    def message(self, f, row, target, ctx, p):
        i, j = target
        hi, lo = pitch_at(f, row, i), pitch_at(f, row, j)
        words = interval_words(hi.diatonic - lo.diatonic, hi.midi - lo.midi)
        return f"a {words} ({hi}/{lo}) is a dissonance"


VERTICAL_RULES = (ChordTones(), VoiceRange(), Spacing(), NoVoiceCrossing(), CompleteChord(),
                  NoDoubledLeadingTone(), ConsonantIntervals())
