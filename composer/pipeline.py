"""Composing: spec → plan → domains → Markov-constrained sampling → piece.

Every hard rule holds by construction: the vertical rules shape each slot's domain,
the horizontal and melodic rules decide which neighbouring voicings may follow one
another, and the sampler only ever chooses among sequences that can be completed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.errors import UnsatisfiableError
from composer.grading.checker import Violation
from composer.music import Note, Piece, Pitch
from composer.planning.melody_fit import heard_as_planned
from composer.planning.planner import (
    HarmonyChain,
    Plan,
    harmony_chain,
    make_plan,
    melody_at,
    no_close,
)
from composer.rules import Context
from composer.sample.scorer import Scorer, SlotInfo
from composer.solve.explain import given_line_conflict
from composer.solve.given import BY_CHORD_RULES, composing_rules, melody_warnings
from composer.solve.solver import (
    PairVerdicts,
    SlotProblem,
    Solver,
    pair_matrix,
    vertical_filter,
    voice_ranges,
    voice_spacing,
    voicing_frame,
)
from composer.spec.load import Spec
from composer.spec.rulesets import RuleUse
from composer.surface.choose import Surface, choose_surface
from composer.texture import Frame

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class Composition:
    spec: Spec
    plan: Plan
    voicings: tuple[tuple[Pitch, ...], ...]  # per slot
    piece: Piece
    surface: Surface | None = None  # the figure of each voice on each slot
    # Where the given melody itself breaks a rule of its own line (composer/given.py).
    warnings: tuple[Violation, ...] = ()


def _fixed(spec: Spec, offset: Fraction, ctx: Context,
           by_voice: dict[tuple[Fraction, int], Pitch] | None = None) -> tuple[Pitch | None, ...]:
    """Per voice, the note given at this onset (by the melody or a `fixed` rule, given
    as `_fixed_by_voice` where it is asked at every slot)."""
    fixed: list[Pitch | None] = [None] * len(ctx.voices)
    if spec.melody is not None and (note := spec.melody.at(offset)) is not None:
        fixed[ctx.voices.index(spec.melody.voice)] = note.pitch
    for start, pitches in (_fixed_by_voice(spec, ctx) if by_voice is None else by_voice).items():
        if start[0] == offset:
            fixed[start[1]] = pitches
    return tuple(fixed)


def _inner_notes(spec: Spec, ctx: Context, offset: Fraction, duration: Fraction
                 ) -> tuple[tuple[int, Pitch], ...]:
    """(voice, pitch) of each melody note struck inside the slot after its first moment."""
    if spec.melody is None:
        return ()
    voice = ctx.voices.index(spec.melody.voice)
    return tuple((voice, n.pitch) for n in spec.melody.struck_within(offset, duration)
                 if n.pitch is not None)


def _fixed_by_voice(spec: Spec, ctx: Context) -> dict[tuple[Fraction, int], Pitch]:
    out = {}
    for use in spec.hard:
        p = use.params
        voice = ctx.index(p.get("voice") or "")
        if use.rule.id == "fixed" and voice is not None:
            offset = (spec.meter.bar_start(p["bar"]) + Fraction(p["beat"] - 1).limit_denominator(16)
                      * spec.meter.in_bar(p["bar"]).beat_length)
            out[(offset, voice)] = p["pitch"]
    return out


MAX_VALUES_PER_SLOT = 64  # the most likely (chord, voicing) values a slot offers
MIN_VOICINGS_PER_CHORD = 4  # and of every chord allowed there, at least this many
INVERTED_APPROACH = float(np.log(0.1))  # a cadence's first chord off its root (V6–I)
LENIENCE = 3  # the most times a melody's demands are eased after a conflict


@dataclass(frozen=True, eq=False)
class _Block:
    """The candidates of one slot: for each allowed numeral, its voicings."""

    numerals: tuple[int, ...]
    problems: tuple[SlotProblem, ...]
    picks: tuple[np.ndarray, ...]  # per numeral: indices into the domain's voicings
    starts: tuple[int, ...]  # where each numeral's voicings begin in the slot's values
    owner: np.ndarray  # per value: which of the numerals it voices

    def numeral_of_values(self) -> np.ndarray:
        return np.asarray(self.numerals)[self.owner]


def _offer(owner: np.ndarray, scores: np.ndarray, cap: int) -> np.ndarray:
    """Which of a slot's values (grouped by chord, `owner`) to offer: the `cap` most
    likely, with at least a few voicings of every chord allowed there, so that the
    harmony keeps all its choices. A mask."""
    order = np.lexsort((-scores, owner))  # each chord's most likely first, ties in order
    first = np.searchsorted(owner, owner)  # where each chord's values begin
    taken = np.zeros(len(scores), bool)
    taken[order[np.arange(len(order)) - first[order] < MIN_VOICINGS_PER_CHORD]] = True
    room = max(cap - int(taken.sum()), 0)
    rest = np.flatnonzero(~taken)
    taken[rest[np.argsort(-scores[rest], kind="stable")[:room]]] = True
    return taken


@dataclass(frozen=True, eq=False)
class _Candidates:
    """The chain over (chord, voicing) values of a run of slots, ready for the sampler."""

    blocks: tuple[_Block, ...]
    frames: tuple[Frame, ...]  # per slot: every offered voicing
    unary: tuple[np.ndarray, ...]
    pair: tuple[np.ndarray, ...]


def candidates(spec: Spec, chain: HarmonyChain, scorer: Scorer | None,
               slots: range | None = None, cap: int | None = MAX_VALUES_PER_SLOT,
               progress: Progress | None = None, memo: dict | None = None) -> _Candidates:
    """Each slot's (chord, voicing) values and the scores between neighbours. Without a
    scorer every allowed value weighs the same (enough to ask whether any piece exists);
    `cap` bounds the values each slot offers (None: all of them). `memo` shares
    domains and verdicts between calls with the same rules (as an explanation makes)."""
    ctx = Context(spec.voices, spec.key, spec.meter)
    memo = {} if memo is None else memo
    rules_key = tuple(sorted(id(u) for u in spec.rules))
    solver = memo.setdefault(("solver", rules_key), Solver(spec.rules, ctx))
    ranges, spacing = voice_ranges(spec.rules, ctx), voice_spacing(spec.rules, ctx)
    infos = _slot_infos(spec, chain)
    slots = slots if slots is not None else range(len(chain.times))
    inside = memo.setdefault(("within", rules_key), {})
    problems_seen: dict[tuple, SlotProblem] = memo.setdefault(("problems", rules_key), {})
    posed, inners = [], []  # per slot: (numeral, problem) of each chord allowed there
    by_voice = _fixed_by_voice(spec, ctx)
    for t in slots:
        _, offset, duration, _ = chain.times[t]
        inner = _inner_notes(spec, ctx, offset, duration)
        if inner:  # and the note that follows them on the next beat
            inner += (melody_at(spec, offset + duration),)
        inners.append(inner)
        fixed = _fixed(spec, offset, ctx, by_voice)
        here = []
        for i in np.flatnonzero(np.isfinite(chain.unary[t])).tolist():
            # One object per distinct problem, so that looking it up is an identity test.
            if (problem := problems_seen.get((chain.chords[i], fixed))) is None:
                problem = problems_seen[(chain.chords[i], fixed)] = SlotProblem(
                    chain.chords[i], spec.key, fixed, ranges, spacing)
            here.append((i, problem))
        posed.append(here)
    solver.prepare([pr for slot in posed for _, pr in slot])
    # Every domain of the run in one frame, so that a slot's values are one gather.
    distinct = list(dict.fromkeys(pr for slot in posed for _, pr in slot))
    pool_frames = [solver.domain(pr).frame for pr in distinct]
    pool = Frame.concat([f for f in pool_frames if len(f)] or pool_frames)
    pool_base = dict(zip(distinct, np.cumsum([0] + [len(f) for f in pool_frames]).tolist(),
                         strict=False))
    verdicts = memo.setdefault(("pairs", rules_key), PairVerdicts(spec.rules, ctx))
    blocks, unary, frames, tails, names = [], [], [], [], []
    for k, t in enumerate(slots):
        if not posed[k]:  # no chord may stand here at all (the grammar, the cadences)
            raise _empty_slot(spec, chain, t, solver, ranges)
        cadence_slot = chain.times[t][3]
        penultimate = t + 1 < len(chain.times) and chain.times[t + 1][3]
        inner = inners[k]
        numerals = np.array([i for i, _ in posed[k]], np.int64)
        doms = [solver.domain(pr) for _, pr in posed[k]]
        sizes = np.array([len(d.frame) for d in doms], np.int64)
        u = np.concatenate([(scorer.unary(d.frame, infos[t]) if scorer else 0.0) - d.penalty
                            for d in doms] or [np.zeros(0)]) + np.repeat(
            chain.unary[t][numerals], sizes)
        if inner:  # the melody's quicker notes sound against the held voicing
            for _, pr in posed[k]:
                if (pr, inner) not in inside:
                    inside[(pr, inner)] = solver.within(solver.domain(pr).frame, inner[:-1],
                                                        inner[-1])
            ok, soft = (np.concatenate([inside[(pr, inner)][j] for _, pr in posed[k]])
                        for j in (0, 1))
            u = np.where(ok, u - soft, -np.inf)
        starts = np.cumsum(sizes) - sizes
        owner = np.repeat(np.arange(len(doms)), sizes)  # which chord each value voices
        local = np.arange(len(u)) - starts[owner]  # and which voicing of its domain
        if spec.melody is not None:  # what the checker will hear under the melody
            rows = np.asarray([pool_base[pr] for _, pr in posed[k]])[owner] + local
            _, offset, length, _ = chain.times[t]
            u = np.where(heard_as_planned(spec, offset, length,
                                          [chain.chords[numerals[o]] for o in owner],
                                          pool.midi[rows], pool.diatonic[rows]), u, -np.inf)
        if cadence_slot or penultimate:  # a cadence's last chord stands on its root,
            bass = pool.midi[np.asarray([pool_base[pr] for _, pr in posed[k]])[owner] + local,
                             -1].astype(np.int64) % 12  # its first one rather does
            roots = np.array([chain.chords[i].root.pc for i in numerals], np.int64)
            u = np.where(bass == roots[owner], u,
                         -np.inf if cadence_slot else u + INVERTED_APPROACH)
        allowed = np.isfinite(u)
        owner, local, score = owner[allowed], local[allowed], u[allowed]
        present = np.bincount(owner, minlength=len(doms)) > 0  # chords left a voicing
        if not present.any():
            raise _empty_slot(spec, chain, t, solver, ranges)
        owner = (np.cumsum(present) - 1)[owner]
        problems = [pr for (_, pr), here in zip(posed[k], present, strict=True) if here]
        numerals = numerals[present].tolist()
        if cap is not None:
            offered = _offer(owner, score, cap)
            owner, local, score = owner[offered], local[offered], score[offered]
        split = np.searchsorted(owner, np.arange(len(numerals)))
        blocks.append(_Block(tuple(numerals), tuple(problems),
                             tuple(np.split(local, split[1:])), tuple(split.tolist()), owner))
        unary.append(score)
        frames.append(pool.take(np.asarray([pool_base[pr] for pr in problems])[owner] + local))
        # Voice leading to the next slot starts from the slot's last moment: judged
        # afresh from its frame when every voicing is offered, else by its name.
        if cap is None:
            tails.append(Frame.concat([inside[(pr, inner)][2].take(keep) for pr, keep
                                       in zip(problems, blocks[-1].picks, strict=True)])
                         if inner else frames[-1])
        else:  # each voicing's name, and its last moment's where they differ
            at = np.asarray([verdicts.base((pr, ()), solver.domain(pr).frame)
                             for pr in problems])
            names.append(at[owner] + local)
            if inner:
                at = np.asarray([verdicts.base((pr, inner), inside[(pr, inner)][2])
                                 for pr in problems])
            names.append(at[owner] + local)
    # The rules' verdict on a pair of voicings does not depend on where the pair stands,
    # so it is judged once per pair of voicings (per pair of offered sets, where every
    # voicing is offered); the scorer's weight may depend on it.
    cache = memo.setdefault(("block pairs", rules_key), {})
    ends = list(slots)[:-1]
    harmonies = [chain.pair[t][np.ix_(blocks[k].numeral_of_values(),
                                      blocks[k + 1].numeral_of_values())]
                 for k, t in enumerate(ends)] if cap is not None else []
    # Few values: every pair not judged before, in one call.
    judged = verdicts.judge([(names[2 * k + 1], names[2 * k + 2], np.isfinite(h))
                             for k, h in enumerate(harmonies)])
    pair = []
    for k, t in enumerate(ends):
        m = (scorer.transition(frames[k], frames[k + 1], infos[t + 1]).astype(np.float32)
             if scorer else np.zeros((len(unary[k]), len(unary[k + 1])), np.float32))
        if cap is not None:
            ok, penalty = judged[k]
            m += np.where(ok, harmonies[k] - penalty, -np.inf).astype(np.float32)
        else:
            _judge_blocks(m, blocks[k], blocks[k + 1], chain.pair[t], tails[k], frames[k + 1],
                          inners[k], spec.rules, ctx, cache)
        pair.append(m)
        if progress:
            progress("voicing", k + 1, len(blocks) - 1)
    return _Candidates(tuple(blocks), tuple(frames), tuple(unary), tuple(pair))


def _judge_blocks(m: np.ndarray, a: _Block, b: _Block, harmonies: np.ndarray, tail: Frame,
                  frame: Frame, inner: tuple, uses: tuple[RuleUse, ...], ctx: Context,
                  cache: dict) -> None:
    """Add to m the verdicts between every voicing of two slots, one chord pair at a time
    (all of them are too many for one call), remembered per pair of offered sets."""
    for i, pa, ka, sa in zip(a.numerals, a.problems, a.picks, a.starts, strict=True):
        for i2, pb, kb, sb in zip(b.numerals, b.problems, b.picks, b.starts, strict=True):
            rows, cols = slice(sa, sa + len(ka)), slice(sb, sb + len(kb))
            harmony = harmonies[i, i2]
            if not np.isfinite(harmony):
                m[rows, cols] = -np.inf
                continue
            key = (pa, pb, ka.tobytes(), kb.tobytes(), inner)
            if key not in cache:  # only the offered voicings, not the whole domains
                ok, penalty = pair_matrix(tail.take(np.arange(sa, sa + len(ka))),
                                          frame.take(np.arange(sb, sb + len(kb))), uses, ctx)
                cache[key] = np.where(ok, -penalty, -np.inf).astype(np.float32)
            m[rows, cols] += cache[key] + harmony


def compose(spec: Spec, scorer: Scorer | None = None, progress: Progress | None = None
            ) -> Composition:
    """One chain over (chord, voicing) values, so that harmony and voice leading are
    sampled together and no choice of chord can leave the voices stuck. A given melody
    is the user's (composer/given.py): it is first harmonized strictly, each of its notes
    on the beat a chord tone and its leading tones and sevenths resolved; only where that
    cannot be are its accented dissonances treated, its resolutions weighed, and what no
    chord can hold let go (and reported)."""
    if scorer is None:  # the shipped model (torch is imported only here, when composing)
        from composer.neural.scorer import default_scorer

        scorer = default_scorer()
    if spec.melody is not None:
        try:
            return _compose(spec, composing_rules(spec, weigh=False), scorer, progress,
                            strict=True)
        except UnsatisfiableError:
            pass  # the melody asks for more than the strict harmony gives
    spread, loose = False, ()
    for _ in range(LENIENCE):
        try:
            return _compose(spec, composing_rules(spec, spread=spread), scorer, progress,
                            loose=loose)
        except UnsatisfiableError as exc:
            # The melody leaps too far for its neighbour to follow, or the chords that
            # treat its notes (or its notes alone) leave the voices no way there: weigh
            # the spacing from it, let those notes go; else the conflict is the spec's.
            wider = "spacing" in exc.conflicts and not spread
            freed = tuple(x for x in exc.places if x not in loose) \
                if BY_CHORD_RULES & set(exc.conflicts) or not exc.conflicts else ()
            if spec.melody is None or not (wider or freed):
                raise
            spread, loose = spread or wider, loose + freed
    return _compose(spec, composing_rules(spec, spread=spread), scorer, progress, loose=loose)


def _compose(asked: Spec, rules: tuple[RuleUse, ...], scorer: Scorer,
             progress: Progress | None, strict: bool = False,
             loose: tuple[Fraction, ...] = ()) -> Composition:
    """Compose under these rules; `strict` gives up at once where the lenient way might
    still find a piece (it neither explains nor lets the melody's demands go); `loose`:
    where the melody's notes need not fit the chords (composer/melody_fit.py)."""
    from composer.sample.copying import check_given_line, copy_guards
    from composer.sample.form import check_given_climax, form_of, sample_form
    from composer.sample.sampler import NoSolution

    spec = replace(asked, rules=rules)
    rng = np.random.default_rng(spec.seed)
    ctx = Context(spec.voices, spec.key, spec.meter)
    chain = harmony_chain(spec, _fixed_notes(spec, ctx), strict=strict, loose=loose)
    if not strict and (close := no_close(spec, chain, _fixed_notes(spec, ctx))) is not None:
        raise close
    check_given_line(spec)
    check_given_climax(spec)
    if (conflict := given_line_conflict(spec)) is not None:
        raise conflict
    form = form_of(spec, chain)  # repeated sections and single climaxes (composer/form.py)
    cands = candidates(spec, chain, scorer, progress=progress)
    try:
        choice = sample_form(spec, form, cands, rng, copy_guards(spec, cands.frames))
    except NoSolution as exc:
        from composer.solve.explain import explain

        # Either the rules truly conflict near the break (then say which), or only the
        # most likely voicings failed to connect: then offer every voicing.
        conflict = None if strict else explain(spec, exc.slot)
        if conflict is not None:
            raise conflict from None
        try:
            cands = candidates(spec, chain, scorer, cap=None)
            choice = sample_form(spec, form, cands, rng, copy_guards(spec, cands.frames))
        except NoSolution as again:
            if strict:
                raise
            raise explain(spec, again.slot, whole=True) from None
    blocks, frames = cands.blocks, cands.frames
    numerals, voicings = [], []
    for block, value in zip(blocks, choice, strict=True):
        k = max(j for j, s in enumerate(block.starts) if s <= value)
        numerals.append(block.numerals[k])
        voicings.append(tuple(frames[len(voicings)].pitch(value, v)
                              for v in range(len(ctx.voices))))
    the_plan = form.annotate(make_plan(spec, chain, numerals))
    # The third level: figures within each beat, on the chosen voicings.
    surface = choose_surface(spec, the_plan, voicings, rng) if spec.surface == "figured" \
        else None
    piece = build_piece(spec, the_plan, tuple(voicings), surface)  # type: ignore[arg-type]
    return Composition(asked, the_plan, tuple(voicings),  # type: ignore[arg-type]
                       piece, surface, melody_warnings(asked, piece, rules))


def _slot_infos(spec: Spec, chain: HarmonyChain) -> list[SlotInfo]:
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t, (ph, *_) in enumerate(chain.times):
        first.setdefault(ph, t)
        last[ph] = t
    out = []
    for t, (ph, offset, _, cadence_slot) in enumerate(chain.times):
        out.append(SlotInfo(spec.key, spec.meter.position(offset).beat,
                            spec.meter.at(offset).beats_per_bar, t - first[ph], last[ph] - t,
                            cadence_slot, chain.phrases[ph].cadence))
    return out


def _fixed_notes(spec: Spec, ctx: Context) -> dict[Fraction, list[Pitch]]:
    out: dict[Fraction, list[Pitch]] = {}
    for (offset, _), pitch in _fixed_by_voice(spec, ctx).items():
        out.setdefault(offset, []).append(pitch)
    return out


def build_piece(spec: Spec, the_plan: Plan, voicings: tuple[tuple[Pitch, ...], ...],
                surface: Surface | None = None) -> Piece:
    """The written notes: the melody as given, the other voices' block chords or, with a
    surface, their figures."""
    lines = []
    for v, voice in enumerate(spec.voices):
        if spec.melody is not None and spec.melody.voice == voice:
            fermatas = {s.offset for s in the_plan.slots if s.fermata}
            notes = tuple(Note(n.offset, n.duration, n.pitch,
                               n.pitch is not None and (n.fermata or n.offset in fermatas),
                               n.lyric) for n in spec.melody.notes)
            end = spec.meter.bar_start(the_plan.bars + 1)
            last = notes[-1].offset + notes[-1].duration if notes else Fraction(0)
            if last < end:
                notes += (Note(last, end - last, None),)
        else:
            figured = surface.lines[v] if surface is not None else None
            notes = _with_rests(figured or tuple(Note(s.offset, s.duration,
                                                      voicings[s.index][v], s.fermata)
                                                 for s in the_plan.slots))
        lines.append(notes)
    harmony = tuple((s.offset, s.numeral) for s in the_plan.slots)
    return Piece(spec.title, spec.key, spec.meter, spec.tempo, spec.voices, tuple(lines),
                 harmony)


def _with_rests(notes: tuple[Note, ...]) -> tuple[Note, ...]:
    """Rests where the slots leave time empty: before a pickup, under the melody's rests."""
    out: list[Note] = []
    at = Fraction(0)
    for note in notes:
        if note.offset > at:
            out.append(Note(at, note.offset - at, None))
        out.append(note)
        at = note.offset + note.duration
    return tuple(out)


def _where(spec: Spec, offset: Fraction) -> str:
    where = spec.meter.position(offset)
    return f"bar {where.bar} beat {where.beat:g}"


def _empty_slot(spec: Spec, chain: HarmonyChain, t: int, solver: Solver, ranges
                ) -> UnsatisfiableError:
    """Name the hard rules that, each on its own, leave a slot no voicing for any chord
    allowed there, and the given notes they conflict with, each with its place (the
    melody's quicker notes in the slot too, where only they are in the way)."""
    _, offset, duration, _ = chain.times[t]
    fixed = _fixed(spec, offset, solver.ctx)
    inner = _inner_notes(spec, solver.ctx, offset, duration)
    then = melody_at(spec, offset + duration) if inner else None
    culprits: dict[str, RuleUse] = {}
    late = False  # whether a culprit stands against the notes inside the slot
    frames = [voicing_frame(p) for p in
              (SlotProblem(chain.chords[i], spec.key, fixed, ranges)
               for i in np.flatnonzero(np.isfinite(chain.unary[t])))]
    frames = [f for f in frames if len(f)]
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
            given.append(f"{where} note {pitch} ({voice}) at {_where(spec, when)}")
    notes = f" with {', '.join(given)}" if given else ""
    if culprits:
        rules = " and ".join(f"{_origin(u)}rule {u.describe()}" for u in culprits.values())
        return UnsatisfiableError(f"{rules} conflicts{notes}",
                                  tuple(u.rule.id for u in culprits.values()))
    if not frames:
        return UnsatisfiableError(
            f"{spec.source}: no chord of the {spec.key.mode} harmony grammar that may stand at"
            f" {_where(spec, offset)} contains{notes.replace(' with', '', 1)} as spelled"
            " (chords in grammars/)")
    return UnsatisfiableError(
        f"{spec.source}: no chord the grammar allows at {_where(spec, offset)}{notes} has a"
        " voicing that satisfies the hard rules (ranges, spacing, doubling, completeness)"
    )


def _origin(use: RuleUse) -> str:
    o = use.origin
    return f"{o.file}:{o.line}: " if o is not None and o.line is not None else ""


def _broken_chain(spec: Spec, chain: HarmonyChain, t: int) -> UnsatisfiableError:
    offset = chain.times[min(t, len(chain.times) - 1)][1]
    return UnsatisfiableError(
        f"{spec.source}: no progression and voicing reaches {_where(spec, offset)} without"
        " breaking a hard rule (harmony grammar, cadences, voice leading)"
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
                   "chord": s.chord.name, "cadence": s.cadence, "why": s.why,
                   "voicing": [p.name for p in comp.voicings[s.index]],
                   **({"figures": dict(zip(spec.voices, comp.surface.figures[s.index],
                                           strict=True))} if comp.surface else {})}
                  for s in comp.plan.slots],
        **({"warnings": [w.to_json() for w in comp.warnings]} if comp.warnings else {}),
        **({"melody_transposed": spec.melody.transposed.words()}
           if spec.melody and spec.melody.transposed else {}),
    }
