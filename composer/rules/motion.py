"""Rules about how two voices move together from one slice to the next."""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import numpy as np

from composer.rules.base import Context, HorizontalRule, Param, Params, between, mod
from composer.texture import Frame

# Perfect interval classes as (steps mod 7, semitones mod 12).
FIFTH, OCTAVE = (4, 7), (0, 0)


def _pair_arrays(a: Frame, b: Frame, pairs: list[tuple[int, int]]):
    up, lo = [i for i, _ in pairs], [j for _, j in pairs]

    def take(x: np.ndarray, cols: list[int]) -> np.ndarray:
        return x[:, cols]  # int16 holds every sum and difference the rules take

    return (take(a.midi, up), take(a.midi, lo), take(b.midi, up), take(b.midi, lo),
            take(a.diatonic, up), take(a.diatonic, lo), take(b.diatonic, up),
            take(b.diatonic, lo))


@lru_cache(maxsize=4)
def _parallel_arrays(a: Frame, b: Frame, pairs: tuple[tuple[int, int], ...]
                     ) -> tuple[np.ndarray, ...]:
    """What the parallel rules ask of the same two frames, worked out once: the pairs'
    interval classes before and after, whether both voices move to new notes, which are
    unisons, and which move in contrary directions (frames are compared by identity, and
    only read)."""
    ah, al, bh, bl, dah, dal, dbh, dbl = _pair_arrays(a, b, list(pairs))
    moving = (ah != -1) & (al != -1) & (bh != -1) & (bl != -1) & (ah != bh) & (al != bl)
    moving &= (mod(ah, 12) != mod(bh, 12)) | (mod(al, 12) != mod(bl, 12))  # not re-voiced
    return (moving, mod(np.abs(ah - al), 12), mod(np.abs(dah - dal), 7),
            mod(np.abs(bh - bl), 12), mod(np.abs(dbh - dbl), 7), ah == al, bh == bl,
            np.sign(bh - ah) != np.sign(bl - al))


def perfect(semis: np.ndarray, steps: np.ndarray, kind: tuple[int, int]) -> np.ndarray:
    """Is the (non-negative) interval a perfect fifth or octave class, by spelling?"""
    return (mod(steps, 7) == kind[0]) & (mod(semis, 12) == kind[1])


def _consecutive(a: Frame, b: Frame, targets: list[tuple[int, int]], kind: tuple[int, int],
                 unison: bool | None, contrary: bool) -> np.ndarray:
    """Two voices a perfect interval apart both move, in the same direction (or in
    contrary directions), and land on the same perfect interval again (compound forms
    count). unison True: unisons only; False: octaves only (not unisons)."""
    moving, semis_a, steps_a, semis_b, steps_b, unison_a, unison_b, opposite = \
        _parallel_arrays(a, b, tuple(targets))  # interval classes: semitones % 12, steps % 7
    steps, semis = kind
    first = (steps_a == steps) & (semis_a == semis)
    second = (steps_b == steps) & (semis_b == semis)
    if unison is True:
        first &= unison_a
        second &= unison_b
    elif unison is False:
        first &= ~unison_a
        second &= ~unison_b
    return moving & first & second & (opposite if contrary else ~opposite)


class _Parallel(HorizontalRule):
    """Two voices a perfect interval apart both move in the same direction and land on
    the same perfect interval again (compound forms count)."""

    kind: ClassVar[tuple[int, int]]
    unison: ClassVar[bool | None]  # True: unisons only, False: octaves only (not unisons)

    def test(self, a, b, ctx, p):
        return _consecutive(a, b, self.targets(ctx, p), self.kind, self.unison, False)

    def message(self, a, b, row, target, ctx, p):
        i, j = target
        return f"{between(a, row, i, j)} moves to {between(b, row, i, j)} in parallel"


_PARALLEL_WHY = (
    " Both voices move in the same direction; the same interval merely re-voiced an"
    " octave higher or lower does not count. By contrary motion (antiparallel) the"
    " consecutive fifths and octaves are no-contrary-octaves' concern."
)

_OCTAVE_NOT_UNISON = (
    " A unison and an octave are different intervals here: a unison moving to an octave,"
    " or an octave to a unison, is counted neither as parallel octaves nor as unisons."
)


class NoParallelFifths(_Parallel):
    id = "no-parallel-fifths"
    kind, unison = FIFTH, None
    summary = "No two voices move in parallel perfect fifths (or twelfths)."
    explanation = (
        "Parallel fifths between two voices make them sound as one and weaken the"
        " independence of the parts." + _PARALLEL_WHY
    )
    example = "Soprano D5→E5 over bass G3→A3: fifth to fifth."


class NoParallelOctaves(_Parallel):
    id = "no-parallel-octaves"
    kind, unison = OCTAVE, False
    summary = "No two voices move in parallel octaves (or double octaves)."
    explanation = (
        "Voices in parallel octaves merge into one doubled line, so the texture loses a"
        " part." + _PARALLEL_WHY + _OCTAVE_NOT_UNISON
    )
    example = "Tenor C4→D4 over bass C3→D3: octave to octave."


class NoParallelUnisons(_Parallel):
    id = "no-parallel-unisons"
    kind, unison = OCTAVE, True
    summary = "No two voices move together in unison."
    explanation = (
        "Two voices moving in unison sing the same line; for that stretch the four parts"
        " become three." + _PARALLEL_WHY + _OCTAVE_NOT_UNISON + " Only a unison that moves"
        " to a unison counts; octaves and double octaves are no-parallel-octaves' concern."
    )
    example = "Alto and tenor both G4→A4."


class _Hidden(HorizontalRule):
    """Outer voices reaching a perfect interval by similar motion with a leap on top."""

    kind: ClassVar[tuple[int, int]]
    params = (Param("step", "bool", True,
                    "allow it when the upper voice moves by step (the usual textbook rule)"),)

    def targets(self, ctx, p):
        return [ctx.outer]

    def test(self, a, b, ctx, p):
        ah, al, bh, bl, dah, dal, dbh, dbl = _pair_arrays(a, b, self.targets(ctx, p))
        sounding = (ah != -1) & (al != -1) & (bh != -1) & (bl != -1)
        up, down = (bh > ah) & (bl > al), (bh < ah) & (bl < al)
        into = perfect(np.abs(bh - bl), np.abs(dbh - dbl), self.kind)
        before = perfect(np.abs(ah - al), np.abs(dah - dal), self.kind)
        bad = sounding & (up | down) & into & ~before
        if p.get("step", True):
            bad &= np.abs(dbh - dah) > 1
        return bad

    def message(self, a, b, row, target, ctx, p):
        i, j = target
        return (f"{between(a, row, i, j)} moves to {between(b, row, i, j)} in similar motion"
                f" with a leap in the {ctx.voices[i]}")


_HIDDEN_WHY = (
    " In four parts this applies to the outer voices, and is allowed when the upper voice"
    " moves by step."
)


class NoHiddenFifthsOuter(_Hidden):
    id = "no-hidden-fifths-outer"
    kind = FIFTH
    summary = "The outer voices do not leap into a perfect fifth in similar motion."
    explanation = (
        "Approaching a perfect fifth in similar motion lets the ear fill in the parallel"
        " fifths it implies; between the outer voices, the most exposed pair, it is heard"
        " as a fault." + _HIDDEN_WHY
    )
    example = "Soprano C5→A5 over bass F3→D4: similar motion into a fifth with a leap on top."


class NoHiddenOctavesOuter(_Hidden):
    id = "no-hidden-octaves-outer"
    kind = OCTAVE
    summary = "The outer voices do not leap into an octave in similar motion."
    explanation = (
        "Approaching an octave in similar motion implies parallel octaves; between the"
        " outer voices it empties the texture." + _HIDDEN_WHY
    )
    example = "Soprano E5→C6 over bass G3→C4: similar motion into an octave with a leap on top."


class NoVoiceOverlap(HorizontalRule):
    id = "no-voice-overlap"
    summary = "No voice moves beyond the note its neighbour has just left."
    explanation = (
        "When a voice moves above the previous note of the voice above (or below that of the"
        " voice below), the ear connects the wrong notes and the parts seem to cross."
    )
    example = "Alto A4 then soprano G4 while the alto moves on: the soprano dips below A4."

    def targets(self, ctx: Context, p: Params):
        return ctx.pairs(adjacent=True)

    def test(self, a, b, ctx, p):
        ah, al, bh, bl, *_ = _pair_arrays(a, b, self.targets(ctx, p))
        sounding = (ah != -1) & (al != -1) & (bh != -1) & (bl != -1)
        moved = (ah != bh) | (al != bl)
        crossing = (bh < bl) | (ah < al)  # reported as voice crossing instead
        unison = ah == al  # voices leaving a shared note do not overlap
        return sounding & moved & ~crossing & ~unison & ((bh < al) | (bl > ah))

    def message(self, a, b, row, target, ctx, p):
        i, j = target
        ah, al, bh, bl = (a.pitch(row, i), a.pitch(row, j), b.pitch(row, i), b.pitch(row, j))
        assert ah and al and bh and bl
        if bh.midi < al.midi:
            return (f"{ctx.voices[i]} moves to {bh}, below the {ctx.voices[j]}'s previous"
                    f" note {al}")
        return f"{ctx.voices[j]} moves to {bl}, above the {ctx.voices[i]}'s previous note {ah}"


def _voice_classes(midi_a: np.ndarray, steps_a: np.ndarray, midi_b: np.ndarray,
                   steps_b: np.ndarray) -> tuple[np.ndarray, ...]:
    """One voice of each pair before and after: its notes, their pitch classes and their
    step classes (each worked out once for both voices' roles in `_inflected`)."""
    return (midi_a, mod(midi_a, 12), mod(steps_a, 7), midi_b, mod(midi_b, 12),
            mod(steps_b, 7))


def _inflected(x: tuple[np.ndarray, ...], y: tuple[np.ndarray, ...]) -> np.ndarray:
    """Voice x's note before, its chromatic inflection in voice y after (F, then F#),
    where neither voice carries the chromatic step itself; x, y: `_voice_classes`."""
    xa, pc_xa, step_xa, xb, pc_xb, step_xb = x
    ya, _, step_ya, yb, pc_yb, step_yb = y
    sounding = (xa != -1) & (yb != -1)
    split = (step_xa == step_yb) & (pc_xa != pc_yb)
    y_steps = (ya != -1) & (step_ya == step_yb)  # y itself moves F→F#
    x_steps = (xb != -1) & (step_xb == step_yb) & (pc_xb == pc_yb)
    return sounding & split & ~y_steps & ~x_steps


class NoCrossRelation(HorizontalRule):
    id = "no-cross-relation"
    severity = "warning"
    composing = "error"
    melody_weighs = True
    summary = "A note and its chromatic inflection are not split between two voices."
    explanation = (
        "A cross relation (false relation) sounds a note in one voice and its chromatic"
        " alteration in another voice in the next chord, F against F#: the two spellings"
        " contradict each other across the parts. The inflection belongs in the voice that"
        " had the note (F moving to F#). The composer avoids it; in a score (Bach's"
        " included) it is reported as a warning."
    )
    example = "Alto F4 in one chord, bass F#3 in the next while the alto leaves F."

    def test(self, a, b, ctx, p):
        ah, al, bh, bl, dah, dal, dbh, dbl = _pair_arrays(a, b, self.targets(ctx, p))
        upper, lower = _voice_classes(ah, dah, bh, dbh), _voice_classes(al, dal, bl, dbl)
        return _inflected(upper, lower) | _inflected(lower, upper)

    def message(self, a, b, row, target, ctx, p):
        i, j = target

        def notes(v: int) -> tuple[np.ndarray, ...]:
            return tuple(np.asarray([x[row, v]]) for x in (a.midi, a.diatonic, b.midi,
                                                            b.diatonic))

        x, y = (i, j) if _inflected(_voice_classes(*notes(i)), _voice_classes(*notes(j))
                                    ).any() else (j, i)
        return f"{ctx.voices[x]} {a.pitch(row, x)} then {ctx.voices[y]} {b.pitch(row, y)}"


class NoContraryOctaves(HorizontalRule):
    id = "no-contrary-octaves"
    severity = "warning"
    composing = "error"
    summary = "No two voices move by contrary motion from a perfect fifth or octave to another."
    explanation = (
        "Consecutive fifths and octaves by contrary motion (a fifth to a twelfth, an octave"
        " to a double octave, the voices moving apart or together) keep the two voices'"
        " interval perfect as parallels do, only disguised. The chorales write them more"
        " often than parallels (the 371 in music21's corpus: 60 fifths and 7 octaves by"
        " contrary motion, 39 and 15 in similar motion), mostly fifths in the inner voices."
        " Both voices"
        " move; the same interval re-voiced does not count, nor does a unison moving to an"
        " octave. The composer avoids them; in a score they are reported as a warning."
        " no-parallel-fifths and no-parallel-octaves judge the same intervals in similar"
        " motion."
    )
    example = "Tenor D4→A4 over bass G3→D3: a fifth to a twelfth, in contrary motion."

    def test(self, a, b, ctx, p):
        targets = self.targets(ctx, p)
        return (_consecutive(a, b, targets, FIFTH, None, True)
                | _consecutive(a, b, targets, OCTAVE, False, True))

    def message(self, a, b, row, target, ctx, p):
        i, j = target
        return f"{between(a, row, i, j)} moves to {between(b, row, i, j)} in contrary motion"


MOTION_RULES = (NoParallelFifths(), NoParallelOctaves(), NoParallelUnisons(),
                NoContraryOctaves(),
                NoHiddenFifthsOuter(), NoHiddenOctavesOuter(), NoVoiceOverlap(),
                NoCrossRelation())
