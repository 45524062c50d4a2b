"""Composing: spec → plan → domains → Markov-constrained sampling → piece.

Every hard rule holds by construction: the vertical rules shape each slot's domain,
the horizontal and melodic rules decide which neighbouring voicings may follow one
another, and the sampler only ever chooses among sequences that can be completed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from composer.errors import UnsatisfiableError
from composer.music import Note, Piece, Pitch
from composer.planner import Plan, Slot, plan
from composer.rules import Context, VerticalRule
from composer.rules.structure import CADENCES
from composer.rulesets import RuleUse
from composer.scorer import Scorer, StatisticalScorer
from composer.solver import (
    Domain,
    SlotProblem,
    Solver,
    candidate_frame,
    enumerate_voicings,
    voice_ranges,
)
from composer.spec import Spec

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class Composition:
    spec: Spec
    plan: Plan
    voicings: tuple[tuple[Pitch, ...], ...]  # per slot
    piece: Piece


def _fixed(spec: Spec, slot: Slot, ctx: Context) -> tuple[Pitch | None, ...]:
    fixed: list[Pitch | None] = [None] * len(ctx.voices)
    if spec.melody is not None and slot.melody is not None:
        fixed[ctx.voices.index(spec.melody.voice)] = slot.melody
    for use in spec.hard:
        p = use.params
        if use.rule.id == "fixed" and (p["bar"], float(p["beat"])) == (slot.position.bar,
                                                                      slot.position.beat):
            voice = ctx.index(p["voice"])
            if voice is not None:
                fixed[voice] = p["pitch"]
    return tuple(fixed)


def _cadence_mask(slot: Slot, nxt: Slot | None, domain: Domain) -> np.ndarray:
    """Cadence chords, and the dominant before them, stand on their root."""
    f = domain.frame
    if slot.cadence in CADENCES or (nxt is not None and nxt.cadence in ("authentic",)):
        bass = f.midi[:, -1].astype(np.int64) % 12
        return bass == slot.chord.root.pc
    return np.ones(len(f), bool)


def compose(spec: Spec, scorer: Scorer | None = None, progress: Progress | None = None
            ) -> Composition:
    rng = np.random.default_rng(spec.seed)
    the_plan = plan(spec, rng)
    ctx = Context(spec.voices, spec.key, spec.meter)
    solver = Solver(spec.rules, ctx)
    scorer = scorer or StatisticalScorer.from_corpus(spec.voices)
    ranges = voice_ranges(spec.rules, ctx)
    slots = the_plan.slots
    problems = [SlotProblem(s.chord, s.key, _fixed(spec, s, ctx), ranges) for s in slots]
    domains = [solver.domain(p) for p in problems]
    unary = []
    for t, (slot, dom) in enumerate(zip(slots, domains, strict=True)):
        nxt = slots[t + 1] if t + 1 < len(slots) else None
        u = scorer.unary(dom.frame) - dom.penalty
        u = np.where(_cadence_mask(slot, nxt, dom), u, -np.inf)
        if not np.isfinite(u).any():
            raise _empty_domain(spec, slot, problems[t], solver)
        unary.append(u)
    pair: list[np.ndarray] = []
    cache: dict[tuple[SlotProblem, SlotProblem], np.ndarray] = {}
    for t in range(len(slots) - 1):
        key = (problems[t], problems[t + 1])
        if key not in cache:
            ok, penalty = solver.pairs(domains[t].frame, domains[t + 1].frame)
            score = scorer.transition(domains[t].frame, domains[t + 1].frame) - penalty
            cache[key] = np.where(ok, score, -np.inf)
        pair.append(cache[key])
        if progress:
            progress("voicing", t + 1, len(slots) - 1)
    from composer.sampler import NoSolution, sample

    try:
        choice = sample(unary, pair, rng, temperature=spec.temperature)
    except NoSolution as exc:
        raise _broken_chain(spec, slots, exc.slot) from None
    voicings = tuple(tuple(domains[t].frame.pitch(i, v) for v in range(len(ctx.voices)))
                     for t, i in enumerate(choice))
    return Composition(spec, the_plan, voicings,  # type: ignore[arg-type]
                       build_piece(spec, the_plan, voicings))  # type: ignore[arg-type]


def build_piece(spec: Spec, the_plan: Plan, voicings: tuple[tuple[Pitch, ...], ...]) -> Piece:
    lines = []
    for v, voice in enumerate(spec.voices):
        if spec.melody is not None and spec.melody.voice == voice:
            fermatas = {s.offset for s in the_plan.slots if s.fermata}
            notes = tuple(Note(n.offset, n.duration, n.pitch, n.offset in fermatas)
                          for n in spec.melody.notes)
            end = the_plan.bars * spec.meter.bar_length
            last = notes[-1].offset + notes[-1].duration if notes else Fraction(0)
            if last < end:
                notes += (Note(last, end - last, None),)
        else:
            notes = tuple(Note(s.offset, s.duration, voicings[s.index][v], s.fermata)
                          for s in the_plan.slots)
        lines.append(notes)
    harmony = tuple((s.offset, s.numeral) for s in the_plan.slots)
    return Piece(spec.title, spec.key, spec.meter, spec.tempo, spec.voices, tuple(lines),
                 harmony)


def _where(slot: Slot) -> str:
    return f"bar {slot.position.bar} beat {slot.position.beat:g}"


def _empty_domain(spec: Spec, slot: Slot, problem: SlotProblem, solver: Solver
                  ) -> UnsatisfiableError:
    """Name the hard rules that, each on its own, leave this slot no voicing, and the
    given notes they conflict with, each with its place in the spec."""
    frame = candidate_frame(enumerate_voicings(problem), problem.chord, problem.key)
    culprits = []
    for use in spec.hard:
        rule = use.rule
        if isinstance(rule, VerticalRule) and len(frame) and \
                rule.test(frame, solver.ctx, use.params).any(axis=1).all():
            culprits.append(use)
    given = []
    for voice, pitch in zip(spec.voices, problem.fixed, strict=True):
        if pitch is None:
            continue
        origin = spec.melody.origin if spec.melody and spec.melody.voice == voice else None
        where = f"{origin.file}:{origin.line}: melody" if origin else "given"
        given.append(f"{where} note {pitch} ({voice}) at {_where(slot)}")
    if culprits:
        rules = " and ".join(f"{_origin(u)}rule {u.describe()}" for u in culprits)
        notes = " with " + ", ".join(given) if given else ""
        return UnsatisfiableError(f"{rules} conflicts{notes}",
                                  tuple(u.rule.id for u in culprits))
    notes = f" with {', '.join(given)}" if given else ""
    return UnsatisfiableError(
        f"{spec.source}: no voicing of {slot.numeral} ({slot.chord.name}) at {_where(slot)}"
        f"{notes} satisfies the hard rules (ranges, spacing, doubling, completeness)"
    )


def _origin(use: RuleUse) -> str:
    o = use.origin
    return f"{o.file}:{o.line}: " if o is not None and o.line is not None else ""


def _broken_chain(spec: Spec, slots: tuple[Slot, ...], t: int) -> UnsatisfiableError:
    slot = slots[min(t, len(slots) - 1)]
    return UnsatisfiableError(
        f"{spec.source}: the voices cannot move into {_where(slot)} ({slot.numeral}) without"
        " breaking a hard voice-leading rule"
    )


def document(comp: Composition) -> dict:
    """Everything `revise` needs: the spec as written, the plan, the voicings, the seed."""
    spec = comp.spec
    return {
        "format": "partimento-piece",
        "version": 1,
        "spec": {"file": spec.source, "yaml": spec.text},
        "seed": spec.seed,
        "key": str(spec.key),
        "meter": str(spec.meter),
        "voices": list(spec.voices),
        "phrases": [{"section": p.section, "first_bar": p.first_bar, "bars": p.bars,
                     "cadence": p.cadence, "reason": p.reason} for p in comp.plan.phrases],
        "slots": [{"bar": s.position.bar, "beat": s.position.beat, "offset": str(s.offset),
                   "duration": str(s.duration), "phrase": s.phrase, "numeral": s.numeral,
                   "chord": s.chord.name, "cadence": s.cadence,
                   "voicing": [p.name for p in comp.voicings[s.index]]}
                  for s in comp.plan.slots],
    }
