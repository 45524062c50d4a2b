"""The candidates of a run of slots: each slot's (chord, voicing) values, scored, and the
verdicts between neighbours — the chain the sampler draws from.

For every chord the harmony chain allows at a slot, the solver's domain of voicings
(composer/solve/domains.py) is offered, with the melody's quicker notes judged against
the held voicing and the chord heard as planned under its dissonances; the horizontal
and melodic rules judge each pair of neighbouring voicings once (composer/solve/pairs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from composer.errors import UnsatisfiableError
from composer.music import Pitch
from composer.planning.chain import HarmonyChain
from composer.planning.keys import key_of
from composer.planning.melody_chords import melody_chord_weights
from composer.planning.melody_fit import heard_as_planned
from composer.planning.phrases import melody_at
from composer.rules import Context
from composer.sample.lines import closing_log_prior, progression_weights
from composer.sample.sampler import NoSolution
from composer.sample.scorer import Scorer, SlotInfo
from composer.solve.connect import broken_at, group_of
from composer.solve.domains import (
    SlotProblem,
    Solver,
    voice_ranges,
    voice_spacing,
)
from composer.solve.judged import judged_under
from composer.solve.no_voicing import no_voicing
from composer.spec.values import Spec
from composer.texture import REST, Frame, leading_tone_of

Progress = Callable[[str, int, int], None]


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
    places: dict[tuple[int, float], Fraction] = {}  # a revision keeps hundreds of notes
    for use in spec.hard:
        p = use.params
        if use.rule.id != "fixed" or (voice := ctx.index(p.get("voice") or "")) is None:
            continue
        if (offset := places.get((p["bar"], p["beat"]))) is None:
            offset = places[(p["bar"], p["beat"])] = spec.meter.bar_start(p["bar"]) + Fraction(
                p["beat"] - 1).limit_denominator(16) * spec.meter.in_bar(p["bar"]).beat_length
        out[(offset, voice)] = p["pitch"]
    return out


MAX_VALUES_PER_SLOT = 64  # the most likely (chord, voicing) values a slot offers

MIN_VOICINGS_PER_CHORD = 4  # and of every chord allowed there, at least this many


INVERTED_APPROACH = float(np.log(0.1))  # a cadence's first chord off its root (V6–I)


@dataclass(frozen=True, eq=False)
class Block:
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
class Candidates:
    """The chain over (chord, voicing) values of a run of slots, ready for the sampler."""

    blocks: tuple[Block, ...]
    frames: tuple[Frame, ...]  # per slot: every offered voicing
    unary: tuple[np.ndarray, ...]
    pair: tuple[np.ndarray, ...]


def candidates(spec: Spec, chain: HarmonyChain, scorer: Scorer | None,
               slots: range | None = None, cap: int | None = MAX_VALUES_PER_SLOT,
               progress: Progress | None = None, memo: dict | None = None,
               connected: bool = False, connect_only: bool = False) -> Candidates:
    """Each slot's (chord, voicing) values and the scores between neighbours. Without a
    scorer every allowed value weighs the same (enough to ask whether any piece exists);
    `cap` bounds the values each slot offers (None: all of them). `memo` shares
    what the melody hears between calls on the same spec (the domains and verdicts are
    shared by rules and key, `composer.solve.judged`);
    `connected`: every voicing offered, first make sure some sequence passes the rules
    (else NoSolution, before the scores of every pair are made); `connect_only`: that,
    and return, no pair scored (`pair` empty: all an explanation asks is whether one
    exists)."""
    ctx = Context(spec.voices, spec.key, spec.meter)
    # The chorales' progressions as the grammar counts them, mended for what this scorer
    # favours (composer/sample/lines.py)
    moves = progression_weights(scorer, chain.grammar)
    progressions = chain.pair if moves is None else tuple(p + moves for p in chain.pair)
    # and the chords Bach sets under a given melody's notes (composer/planning/melody_chords.py)
    under = melody_chord_weights(spec, chain.times, chain.chords, scorer)
    memo = {} if memo is None else memo
    shared = judged_under(spec.rules, ctx)
    solver = shared.solver
    ranges, spacing = voice_ranges(spec.rules, ctx), voice_spacing(spec.rules, ctx)
    infos = _slot_infos(spec, chain) if scorer is not None else []  # (only a scorer reads them)
    # A soprano the chain composes closes as the chorales' do (composer/sample/lines.py).
    composed_top = spec.voices.index("soprano") if "soprano" in spec.voices and (
        spec.melody is None or spec.melody.voice != "soprano") else None
    slots = slots if slots is not None else range(len(chain.times))
    inside, problems_seen = shared.within, shared.problems
    posed, inners = [], []  # per slot: (numeral, problem) of each chord allowed there
    by_voice = _fixed_by_voice(spec, ctx)
    for t in slots:
        _, offset, duration, _ = chain.times[t]
        inner: tuple = _inner_notes(spec, ctx, offset, duration)
        if inner:  # and the note that follows them on the next beat
            inner += (melody_at(spec, offset + duration),)
        inners.append(inner)
        fixed = _fixed(spec, offset, ctx, by_voice)
        phrase_key = key_of(spec.key, chain.phrases[chain.times[t][0]].key)  # the phrase's key
        here = []
        for i in np.flatnonzero(np.isfinite(chain.unary[t])).tolist():
            # A chord's leading tone as the phrase's key hears it, unless the home key
            # hears one (as the checker does): a modulation adds leading tones, never
            # frees one.
            heard = spec.key if leading_tone_of(chain.chords[i], spec.key) != REST else phrase_key
            # One object per distinct problem, so that looking it up is an identity test.
            if (problem := problems_seen.get((chain.chords[i], fixed, heard))) is None:
                problem = problems_seen[(chain.chords[i], fixed, heard)] = SlotProblem(
                    chain.chords[i], heard, fixed, ranges, spacing)
            here.append((i, problem))
        posed.append(here)
    solver.prepare([pr for slot in posed for _, pr in slot])
    # Every domain of the run in one frame, so that a slot's values are one gather.
    distinct = list(dict.fromkeys(pr for slot in posed for _, pr in slot))
    pool_frames = [solver.domain(pr).frame for pr in distinct]
    pool = Frame.concat([f for f in pool_frames if len(f)] or pool_frames)
    pool_base = dict(zip(distinct, np.cumsum([0] + [len(f) for f in pool_frames]).tolist(),
                         strict=False))
    verdicts = shared.verdicts
    # per slot's problems: heard as planned (the melody's, so this piece's own; the
    # voicings of its problems are the vertical rules')
    heard = memo.setdefault(("heard", shared.vertical), {})
    blocks, unary, frames, names = [], [], [], []
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
                            for d in doms] or [np.zeros(0)]) + np.repeat(chain.unary[t][
                                numerals] + (under[t][numerals] if under else 0.0), sizes)
        if inner:  # the melody's quicker notes sound against the held voicing
            fresh = list(dict.fromkeys(pr for _, pr in posed[k] if (pr, inner) not in inside))
            for pr, held in zip(fresh, solver.within_each(
                    [solver.domain(pr).frame for pr in fresh], inner[:-1], inner[-1]),
                    strict=True):
                inside[(pr, inner)] = held
            ok, soft = (np.concatenate([inside[(pr, inner)][j] for _, pr in posed[k]])
                        for j in (0, 1))
            u = np.where(ok, u - soft, -np.inf)
        starts = np.cumsum(sizes) - sizes
        owner = np.repeat(np.arange(len(doms)), sizes)  # which chord each value voices
        local = np.arange(len(u)) - starts[owner]  # and which voicing of its domain
        rows = np.asarray([pool_base[pr] for _, pr in posed[k]])[owner] + local  # in pool
        if spec.melody is not None:  # what the checker will hear under the melody
            _, offset, length, _ = chain.times[t]
            asked = (offset, length, tuple(pr for _, pr in posed[k]))
            if asked not in heard:
                heard[asked] = heard_as_planned(spec, offset, length,
                                                [pr.chord for _, pr in posed[k]], owner,
                                                pool.midi[rows], pool.diatonic[rows])
            u = np.where(heard[asked], u, -np.inf)
        u = np.where(np.concatenate([shared.sounds_foreign_tones(pr) for _, pr in posed[k]]),
                     u, -np.inf)
        if cadence_slot or penultimate:  # a cadence's last chord stands on its root,
            bass = pool.midi[rows, -1].astype(np.int64) % 12  # its first one rather does
            roots = np.array([chain.chords[i].root.pc for i in numerals], np.int64)
            u = np.where(bass == roots[owner], u,
                         -np.inf if cadence_slot else u + INVERTED_APPROACH)
        if t == len(chain.times) - 1 and composed_top is not None:  # the piece's last note
            u = u + closing_log_prior(spec.key, pool.midi[rows, composed_top])
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
        blocks.append(Block(tuple(numerals), tuple(problems),
                             tuple(np.split(local, split[1:])), tuple(split.tolist()), owner))
        unary.append(score)
        frames.append(pool.take(np.asarray([pool_base[pr] for pr in problems])[owner] + local))
        # Voice leading to the next slot starts from the slot's last moment: each
        # voicing's name, and its last moment's where they differ.
        at = np.asarray([verdicts.base((pr, ()), solver.domain(pr).frame) for pr in problems])
        names.append(at[owner] + local)
        if inner:
            at = np.asarray([verdicts.base((pr, inner), inside[(pr, inner)][2])
                             for pr in problems])
        names.append(at[owner] + local)
    # The rules' verdict on a pair of voicings does not depend on where the pair stands,
    # so it is judged once per pair of voicings, by their names; the scorer's weight may
    # depend on it.
    ends = list(slots)[:-1]

    def harmony(k: int) -> np.ndarray:
        return progressions[ends[k]][np.ix_(blocks[k].numeral_of_values(),
                                           blocks[k + 1].numeral_of_values())]

    def move(k: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return names[2 * k + 1], names[2 * k + 2], np.isfinite(h)

    def chords(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.isfinite(progressions[ends[k]]), blocks[k].numeral_of_values(),
                blocks[k + 1].numeral_of_values())

    if (connected or connect_only) and cap is None and len(ends) and \
            (broken := broken_at(names, unary, chords, verdicts)) is not None:
        raise NoSolution(slots[broken], "no voicings connect the chords from here on")
    if connect_only and cap is None:
        return Candidates(tuple(blocks), tuple(frames), tuple(unary), ())
    # Every pair not judged before in one call: with few values, of the whole run; with
    # every voicing, of the next few pairs of slots (a table of their names' pairs).
    harmonies: dict[int, np.ndarray] = {}
    judged: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    pair = []
    for k, t in enumerate(ends):
        if k not in judged:
            group = range(k, len(ends)) if cap is not None else group_of(names, k, len(ends))
            harmonies = {j: harmony(j) for j in group}
            judged = dict(zip(group, verdicts.judge([move(j, harmonies[j]) for j in group]),
                              strict=True))
        m = (scorer.transition(frames[k], frames[k + 1], infos[t + 1]).astype(np.float32)
             if scorer else np.zeros((len(unary[k]), len(unary[k + 1])), np.float32))
        ok, penalty = judged[k]
        if cap is not None:
            m += np.where(ok, harmonies[k] - penalty, -np.inf).astype(np.float32)
        else:
            m += np.where(ok, -penalty, -np.inf).astype(np.float32) + harmonies[k]
        pair.append(m)
        if progress:
            progress("voicing", k + 1, len(blocks) - 1)
    return Candidates(tuple(blocks), tuple(frames), tuple(unary), tuple(pair))


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


def fixed_notes(spec: Spec, ctx: Context) -> dict[Fraction, list[Pitch]]:
    out: dict[Fraction, list[Pitch]] = {}
    for (offset, _), pitch in _fixed_by_voice(spec, ctx).items():
        out.setdefault(offset, []).append(pitch)
    return out


def _empty_slot(spec: Spec, chain: HarmonyChain, t: int, solver: Solver,
                ranges: tuple[tuple[int, int], ...]
                ) -> UnsatisfiableError:
    """Why slot t has no voicing (composer/solve/no_voicing.py)."""
    _, offset, duration, _ = chain.times[t]
    return no_voicing(spec, chain, t, solver, ranges, _fixed(spec, offset, solver.ctx),
                      _inner_notes(spec, solver.ctx, offset, duration))
