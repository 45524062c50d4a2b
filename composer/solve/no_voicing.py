"""Why a slot of the chain has no voicing: the refusal's words, naming the rules to
blame, the ranges, the chords the grammar allows, or how the melody's notes would make
every voicing heard as another chord; and where its notes are, for the lenient way to
let go (composer/pipeline.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from composer.chords import Chord
from composer.errors import UnsatisfiableError
from composer.music import Pitch
from composer.planning.chain import HarmonyChain
from composer.planning.melody_fit import heard_as_planned
from composer.planning.phrases import bar_beat, melody_at
from composer.solve.domains import SlotProblem, Solver, vertical_filter, voicing_frame
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec
from composer.texture import Frame


def _melody_within(spec: Spec, offset: Fraction, duration: Fraction) -> tuple[Fraction, ...]:
    """Where the melody's notes sounding in the slot begin: what the lenient way may let
    go where no single rule is to blame."""
    if spec.melody is None:
        return ()
    sounding = (spec.melody.at(offset), *spec.melody.struck_within(offset, duration))
    return tuple(n.offset for n in sounding if n is not None and n.pitch is not None)


def no_voicing(spec: Spec, chain: HarmonyChain, t: int, solver: Solver,
               ranges: tuple[tuple[int, int], ...],
               fixed: tuple[Pitch | None, ...], inner: tuple[tuple[int, Pitch], ...]
               ) -> UnsatisfiableError:
    """Name the hard rules that, each on its own, leave slot t no voicing for any chord
    allowed there, and the given notes they conflict with, each with its place (the
    melody's quicker notes in the slot too, where only they are in the way); `fixed`:
    each voice's given note at the slot, `inner`: the melody's notes struck within it."""
    _, offset, duration, _ = chain.times[t]
    then = melody_at(spec, offset + duration) if inner else None
    culprits: dict[str, RuleUse] = {}
    late = False  # whether a culprit stands against the notes inside the slot
    allowed = [chain.chords[i] for i in np.flatnonzero(np.isfinite(chain.unary[t]))]
    voiced = [(c, f) for c in allowed
              if len(f := voicing_frame(SlotProblem(c, spec.key, fixed, ranges)))]
    frames = [f for _, f in voiced]
    for use in spec.hard if frames else ():  # no chord holds the given notes: no rule to blame
        alone = Solver((use,), solver.ctx)
        on_beat = [vertical_filter(f, (use,), solver.ctx)[0] for f in frames]
        if not any(k.any() for k in on_beat):
            culprits[use.describe()] = use
        elif inner and not any((k & alone.within(f, inner, then)[0]).any()
                               for f, k in zip(frames, on_beat, strict=True)):
            culprits[use.describe()] = use
            late = True
    given = []
    at = [(offset, pitch, voice) for voice, pitch in zip(spec.voices, fixed, strict=True)]
    if late and spec.melody is not None:
        at += [(n.offset, n.pitch, spec.melody.voice) for n in spec.melody.notes
               if offset < n.offset <= offset + duration and n.pitch is not None]
    for when, pitch, voice in at:
        if pitch is not None:
            origin = spec.melody.origin if spec.melody and spec.melody.voice == voice else None
            where = f"{origin.file}:{origin.line}: melody" if origin else "given"
            given.append(f"{where} note {pitch} ({voice}) at {bar_beat(spec.meter, when)}")
    notes = f" with {', '.join(given)}" if given else ""
    if culprits:
        rules = " and ".join(f"{u.place}rule {u.describe()}" for u in culprits.values())
        return UnsatisfiableError(f"{rules} conflicts{notes}",
                                  tuple(u.rule.id for u in culprits.values()))
    held = {p.pitch_class for p in fixed if p is not None}
    if not frames and any(held <= set(c.tones) for c in allowed):  # the ranges are in the way
        return UnsatisfiableError(
            f"{spec.source}: no voicing of a chord that may stand at {bar_beat(spec.meter, offset)}"
            f"{notes} keeps the other voices in their ranges, in order and spaced as the"
            " rules ask; " + (
                "move the melody where its voice sings (`transpose: fit` under `melody:`"
                " does) or widen the voices' ranges" if any(
                    spec.melody is not None and v == spec.melody.voice and p is not None
                    for v, p in zip(spec.voices, fixed, strict=True))
                else "move the fixed note where its voice sings, or widen the voices'"
                " ranges"))
    if not frames:
        return UnsatisfiableError(
            f"{spec.source}: no chord of the {spec.key.mode} harmony grammar that may stand at"
            f" {bar_beat(spec.meter, offset)} contains{notes.replace(' with', '', 1)} as spelled"
            " (chords in grammars/)")
    places = _melody_within(spec, offset, duration)
    if spec.melody is not None and _heard_otherwise(spec, solver, voiced, offset, duration,
                                                    inner, then):
        sung = " ".join(str(n.pitch) for n in spec.melody.notes
                        if n.offset in places and n.pitch is not None)
        numerals = ", ".join(dict.fromkeys(c.roman(spec.key) for c, _ in voiced))
        return UnsatisfiableError(
            f"{spec.source}: at {bar_beat(spec.meter, offset)} the rules leave voicings of"
            f" the chords the grammar allows there ({numerals}),"
            f" but with the melody's {sung} every one would be heard as another chord (a"
            " beat's harmony is heard from all its notes, the one struck on the beat most"
            " of all)", places=places)
    return UnsatisfiableError(
        f"{spec.source}: no chord the grammar allows at {bar_beat(spec.meter, offset)}{notes} has a"
        " voicing that satisfies the hard rules (ranges, spacing, doubling, completeness)",
        places=places)


def _heard_otherwise(spec: Spec, solver: Solver, voiced: list[tuple[Chord, Frame]],
                     offset: Fraction, duration: Fraction,
                     inner: tuple[tuple[int, Pitch], ...], then: Pitch | None) -> bool:
    """Whether every voicing the hard rules leave at a slot (of each chord allowed
    there, its voicings) would be heard, with the melody's notes, as another chord than
    its own: what composing asks of a chord under a melody (`heard_as_planned`)."""
    whole = Solver(spec.hard, solver.ctx)
    kept = []
    for chord, f in voiced:
        ok = vertical_filter(f, spec.hard, solver.ctx)[0]
        if inner:
            ok &= whole.within(f, inner, then)[0]
        if ok.any():
            kept.append((chord, f.take(np.flatnonzero(ok))))
    if not kept:
        return False
    pool = Frame.concat([f for _, f in kept])
    owner = np.concatenate([np.full(len(f), j) for j, (_, f) in enumerate(kept)])
    return not heard_as_planned(spec, offset, duration, [c for c, _ in kept], owner,
                                pool.midi, pool.diatonic).any()

