"""Domains: every voicing of a slot's chord that the vertical and unary rules allow.

python-constraint enumerates the voicings of a chord from per-voice domains (chord tones
within each voice's range, or the one given note) with the voices kept in order; the
hard vertical rules of the spec then filter the whole batch in one vectorised call — the
very `test` the checker runs on a score, so no rule is written twice. The result is a
`Frame` of candidates per slot, and the pairwise compatibility of neighbouring slots is
judged the same way with the horizontal and melodic rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
from constraint import BacktrackingSolver, FunctionConstraint, Problem

from composer.music import STEP_PC, Chord, Key, Pitch
from composer.rules import Context, HorizontalRule, MelodicRule, VerticalRule
from composer.rules.vertical import STANDARD_RANGES
from composer.spec.rulesets import RuleUse
from composer.texture import REST, Frame, chord_arrays

PAIRS_PER_CALL = 1 << 15  # pairs judged in one call when all the voicings of two slots meet
DENSE_PAIRS = 1 << 22  # the most pairs of a run's distinct voicings marked in one table


@dataclass(frozen=True)
class SlotProblem:
    """What decides a slot's domain; equal problems share one enumeration."""

    chord: Chord
    key: Key
    fixed: tuple[Pitch | None, ...]  # per voice: a given note, or None
    ranges: tuple[tuple[int, int], ...]  # per voice: lowest and highest MIDI note
    spacing: tuple[int, ...] | None = None  # per adjacent pair: the widest span allowed

    def __hash__(self) -> int:  # asked for at every slot, so worked out once
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.chord, self.key, self.fixed, self.ranges, self.spacing))


def voice_ranges(uses: Sequence[RuleUse], ctx: Context) -> tuple[tuple[int, int], ...]:
    """Each voice's range from the spec's voice-range rules (standard ones otherwise)."""
    ranges = {v: (Pitch.parse(lo).midi, Pitch.parse(hi).midi)
              for v, (lo, hi) in STANDARD_RANGES.items()}
    for use in uses:
        if use.rule.id == "voice-range" and use.severity == "error":
            for i, low, high in use.rule.ranges(ctx, use.params):  # type: ignore[attr-defined]
                ranges[ctx.voices[i]] = (low.midi, high.midi)
    return tuple(ranges.get(v, (36, 84)) for v in ctx.voices)


def voice_spacing(uses: Sequence[RuleUse], ctx: Context) -> tuple[int, ...] | None:
    """The widest span each pair of adjacent voices may take under the spec's hard
    spacing rules (None: no such rule), so that the enumeration leaves those voicings
    out rather than the filter after it."""
    limits = None
    for use in uses:
        if use.rule.id == "spacing" and use.severity == "error":
            rule: Any = use.rule  # a Spacing rule
            mine = tuple(int(w) if use.judges(ctx.voices[v:v + 2]) else 1 << 10
                         for v, w in enumerate(rule.limits(ctx, use.params)))
            limits = mine if limits is None else tuple(map(min, limits, mine))
    return limits


@lru_cache(maxsize=1024)
def _tone_pitches(chord: Chord, low: int, high: int) -> tuple[Pitch, ...]:
    out = []
    for tone in chord.tones:
        for octave in range(0, 9):
            midi = 12 * (octave + 1) + STEP_PC[tone.step] + tone.alter
            if low <= midi <= high:
                out.append(Pitch(midi, 7 * octave + tone.step))
    return tuple(sorted(out))


def enumerate_voicings(problem: SlotProblem) -> tuple[np.ndarray, np.ndarray]:
    """All voicings within the domains, voices in order: (MIDI [K, V], diatonic [K, V]),
    in order of pitch voice by voice. python-constraint enumerates the voices left free
    (`free_voicings`, shared by every slot that poses the same chord: a given bass or
    melody changes from slot to slot, the chord's choices for the other voices do not);
    the given notes join them, and the order and spacing against them is checked, here."""
    n = len(problem.ranges)
    free = tuple(v for v in range(n) if problem.fixed[v] is None)
    part, spelled = free_voicings(problem.chord, problem.ranges, problem.spacing, free)
    midi = np.empty((len(part), n), np.int16)
    diatonic = np.empty_like(midi)
    midi[:, free], diatonic[:, free] = part, spelled
    for v, given in enumerate(problem.fixed):
        if given is not None:
            midi[:, v], diatonic[:, v] = given.midi, given.diatonic
    keep = np.ones(len(midi), bool)
    for v in range(n - 1):
        if v not in free or v + 1 not in free:  # the pairs python-constraint did not see
            span = midi[:, v].astype(np.int32) - midi[:, v + 1]
            wide = problem.spacing[v] if problem.spacing is not None else np.inf
            keep &= (span >= 0) & (span <= wide)
    return midi[keep], diatonic[keep]  # still in order: the given columns are constant


@lru_cache(maxsize=4096)
def free_voicings(chord: Chord, ranges: tuple[tuple[int, int], ...],
                  spacing: tuple[int, ...] | None, free: tuple[int, ...]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(MIDI, diatonic) [K, len(free)]: every way the free voices can take tones of the
    chord within their ranges, neighbours in order and within the spacing, found by
    python-constraint with getSolutionIter (sorted voice by voice). Plain backtracking:
    with domains this small, forward checking costs more than it saves."""
    if not free:
        return np.zeros((1, 0), np.int16), np.zeros((1, 0), np.int16)  # the given notes
    tones = [_tone_pitches(chord, *ranges[v]) for v in free]
    if not all(tones):
        return np.zeros((0, len(free)), np.int16), np.zeros((0, len(free)), np.int16)
    solver = Problem(BacktrackingSolver(forwardcheck=False))
    for v, domain in zip(free, tones, strict=True):
        solver.addVariable(v, [p.midi for p in domain])
    for v in free:
        if v + 1 in free:  # pruning only: the crossing and spacing rules filter afterwards
            wide = spacing[v] if spacing is not None else None
            solver.addConstraint(FunctionConstraint(
                (lambda hi, lo: hi >= lo) if wide is None else
                (lambda hi, lo, wide=wide: 0 <= hi - lo <= wide)), (v, v + 1))
    voice = itemgetter(*free)
    midi = np.array([voice(s) for s in solver.getSolutionIter()], np.int16).reshape(
        -1, len(free))
    midi = midi[np.lexsort(midi.T[::-1])]
    # A voice's MIDI numbers name its pitches (a chord spells each pitch class once).
    diatonic = np.empty_like(midi)
    for c, domain in enumerate(tones):
        spelled = np.zeros(128, np.int16)
        spelled[[p.midi for p in domain]] = [p.diatonic for p in domain]
        diatonic[:, c] = spelled[midi[:, c]]
    return midi, diatonic


@lru_cache(maxsize=4096)
def voicing_frame(problem: SlotProblem) -> Frame:
    """Every voicing of the problem as a frame (a pure function of the problem, so pieces
    composed in one process share it; the frame is only read)."""
    return _frame(*enumerate_voicings(problem), problem.chord, problem.key)


def forget_enumerations() -> None:
    """Empty the process's memo of enumerated voicings, as a new process starts (to time
    a first call)."""
    voicing_frame.cache_clear()
    free_voicings.cache_clear()
    _tone_pitches.cache_clear()


def candidate_frame(voicings: Sequence[tuple[Pitch, ...]], chord: Chord, key: Key) -> Frame:
    k, n = len(voicings), len(voicings[0]) if voicings else 0
    midi = np.array([[p.midi for p in v] for v in voicings], np.int16).reshape(k, n)
    diatonic = np.array([[p.diatonic for p in v] for v in voicings], np.int16).reshape(k, n)
    return _frame(midi, diatonic, chord, key)


def _frame(midi: np.ndarray, diatonic: np.ndarray, chord: Chord, key: Key) -> Frame:
    k, n = midi.shape
    roles, leading, root = chord_arrays([chord], [key])
    return Frame(midi, diatonic, np.ones((k, n), bool), np.repeat(roles, k, 0),
                 np.repeat(leading, k), np.repeat(root, k), tuple(range(n)),
                 np.zeros(k, np.int32), np.ones(k, bool))


@dataclass(frozen=True, eq=False)
class Domain:
    frame: Frame  # the allowed voicings
    penalty: np.ndarray  # float [K]: summed weights of the soft vertical rules broken


def vertical_filter(frame: Frame, uses: Sequence[RuleUse], ctx: Context) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """(keep mask, soft penalty) of a batch of voicings under the vertical rules."""
    keep = np.ones(len(frame), bool)
    penalty = np.zeros(len(frame))
    for use in uses:
        rule = use.rule
        if not isinstance(rule, VerticalRule) or not len(frame):
            continue
        broken = rule.test(frame, ctx, use.params)
        if broken.size == 0:
            continue
        if use.exempt:
            judged = [use.judges(ctx.voices[v] for v in target)
                      for target in rule.targets(ctx, use.params)]
            broken = broken & np.array(judged, bool)[None, :]
        if rule.harmonic_only:  # a note struck within the beat is judged as the checker does
            broken = broken & frame.harmonic[:, None]
        if use.severity == "error":
            keep &= ~broken.any(axis=1)
        else:
            penalty += use.weight * broken.sum(axis=1)
    return keep, penalty


class Solver:
    """The domains of one composition: enumerations are shared between slots that pose
    the same problem (the same chord, given notes and ranges), which most slots do."""

    def __init__(self, uses: Sequence[RuleUse], ctx: Context) -> None:
        self.uses = tuple(uses)
        self.ctx = ctx
        self._cache: dict[SlotProblem, Domain] = {}

    def domain(self, problem: SlotProblem) -> Domain:
        if problem not in self._cache:
            self.prepare((problem,))
        return self._cache[problem]

    def prepare(self, problems: Sequence[SlotProblem]) -> None:
        """Work out the domains of all these problems not seen before in one call of each
        vertical rule (the rules judge every voicing on its own, so batching changes no
        verdict; a piece poses some fifty problems, each a call per rule otherwise)."""
        new = list(dict.fromkeys(p for p in problems if p not in self._cache))
        if not new:
            return
        frames = [voicing_frame(p) for p in new]
        batch = Frame.concat([f for f in frames if len(f)] or frames[:1])
        keep, penalty = vertical_filter(batch, self.uses, self.ctx)
        start = 0
        for problem, frame in zip(new, frames, strict=True):
            rows = start + np.flatnonzero(keep[start:start + len(frame)])
            self._cache[problem] = Domain(frame.take(rows - start), penalty[rows])
            start += len(frame)

    def within(self, frame: Frame, notes: Sequence[tuple[int, Pitch]],
               then: Pitch | None = None) -> tuple[np.ndarray, np.ndarray, Frame]:
        """(allowed [K], soft penalty [K], the last moment) of each voicing held while
        the given notes (voice, pitch) are struck one after another inside its slot, as
        a melody's quicker notes are: the checker judges every such moment, and each
        note's treatment as a dissonance between the notes around it (`then`: the
        voice's note on the next beat, a tone of the chord there; None: a rest)."""
        ok, penalty = np.ones(len(frame), bool), np.zeros(len(frame))
        moments = [frame]
        for voice, pitch in notes:
            before, after = moments[-1], struck_within(moments[-1], voice, pitch)
            keep, soft = vertical_filter(after, self.uses, self.ctx)
            step, soft_step = step_rules(before, after, self.uses, self.ctx, [voice])
            ok &= keep & step
            penalty += soft + soft_step
            moments.append(after)
        if notes:
            voice = notes[0][0]
            nxt = struck_within(moments[-1], voice, then)
            if then is not None:  # the next beat's note belongs to its own chord
                roles = nxt.roles.copy()
                roles[:, then.pc] = np.maximum(roles[:, then.pc], 1)
                nxt = replace(nxt, roles=roles)
            line = [m.take(slice(None), [voice]) for m in (*moments, nxt)]
            for use in self.uses:
                rule = use.rule
                if not (isinstance(rule, MelodicRule) and rule.window == 3
                        and rule.applies(voice, self.ctx, use.params)
                        and use.judges((self.ctx.voices[voice],))):
                    continue
                broken = np.zeros(len(frame), int)
                for k in range(1, len(line) - 1):
                    broken += rule.test(tuple(line[k - 1:k + 2]), self.ctx, use.params)
                if use.severity == "error":
                    ok &= broken == 0
                else:
                    penalty += use.weight * broken
        return ok, penalty, moments[-1]


def struck_within(frame: Frame, voice: int, pitch: Pitch | None) -> Frame:
    """The moment inside a slot when `voice` strikes `pitch` (None: rests) and the
    others hold."""
    midi, diatonic = frame.midi.copy(), frame.diatonic.copy()
    midi[:, voice] = pitch.midi if pitch is not None else REST
    diatonic[:, voice] = pitch.diatonic if pitch is not None else 0
    attacks = np.zeros_like(frame.attacks)
    attacks[:, voice] = True
    return replace(frame, midi=midi, diatonic=diatonic, attacks=attacks,
                   harmonic=np.zeros(len(frame), bool))


class PairVerdicts:
    """The pair rules' verdicts on neighbouring voicings, remembered by the voicings'
    names: a piece offers the same voicings of the same chords at slot after slot, so
    most pairs recur (a 16-bar chorale meets some 20 thousand distinct pairs among 350
    thousand). A voicing is named by its place in a domain (`base`)."""

    def __init__(self, uses: Sequence[RuleUse], ctx: Context) -> None:
        self.uses, self.ctx = tuple(uses), ctx
        self._base: dict[object, int] = {}
        self._frames: list[Frame] = []  # the named voicings, in the order of their names
        self._named: Frame | None = None  # the same in one frame, once it is asked for
        self._names = 0
        self._codes = np.zeros(0, np.int64)  # sorted pair codes
        self._ok = np.zeros(0, bool)
        self._penalty = np.zeros(0, np.float32)

    def base(self, key: object, frame: Frame) -> int:
        """The name of the first voicing of the domain `key` (its voicings: `frame`); row
        r of it is named base + r."""
        if key not in self._base:
            self._base[key] = self._names
            self._names += len(frame)
            self._frames.append(frame)
            self._named = None
        return self._base[key]

    def judge(self, moves: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
              ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each move (names of the voicings before [K1], names of those after [K2],
        wanted [K1, K2]): (compatible [K1, K2], soft penalty [K1, K2]) of each voicing
        before moving to each after, judged where wanted (elsewhere: compatible, no
        penalty). Every pair not judged before, over all the moves, is judged in one
        call of each rule."""
        # A run offers a few hundred distinct voicings: renamed 0..D-1 among themselves,
        # its pairs are places in a D × D table, and the distinct ones are found by
        # marking them there, without sorting every asking (a stable sort where D is
        # too large for a table).
        names = np.unique(np.concatenate([x for a, b, _ in moves for x in (a, b)] or [[]])
                          ).astype(np.int64)
        d = len(names)
        codes = [(np.searchsorted(names, a)[:, None] * d + np.searchsorted(names, b)[None, :]
                  ).ravel() for a, b, _ in moves]
        wants = [np.flatnonzero(w.ravel()) for *_, w in moves]
        asked = np.concatenate([c[w] for c, w in zip(codes, wants, strict=True)] or [[]]
                               ).astype(np.int64)
        if d * d <= DENSE_PAIRS:
            marked = np.zeros(d * d, bool)
            marked[asked] = True
            local = np.flatnonzero(marked)
            place = np.zeros(d * d, np.int32)
            place[local] = np.arange(len(local))
            back = place[asked]
        else:
            order = np.argsort(asked, kind="stable")
            ranked = asked[order]
            first = np.concatenate([[True], ranked[1:] != ranked[:-1]]) if len(asked) else \
                np.zeros(0, bool)
            local = ranked[first]
            back = np.empty(len(asked), np.int64)
            back[order] = np.cumsum(first) - 1
        # Each distinct pair once, by its names' codes (in order, as the names are).
        pairs = names[local // max(d, 1)] << 32 | names[local % max(d, 1)]
        pos, found = self._find(pairs)
        ok, penalty = np.ones(len(pairs), bool), np.zeros(len(pairs), np.float32)
        ok[found], penalty[found] = self._ok[pos[found]], self._penalty[pos[found]]
        if not found.all():
            if self._named is None:
                self._named = Frame.concat([f for f in self._frames if len(f)])
            fresh = pairs[~found]
            new_ok, new_penalty = self._judge(self._named.take(fresh >> 32),
                                              self._named.take(fresh & 0xFFFFFFFF))
            ok[~found], penalty[~found] = new_ok, new_penalty
            order = np.argsort(np.concatenate([self._codes, fresh]), kind="stable")
            self._codes = np.concatenate([self._codes, fresh])[order]
            self._ok = np.concatenate([self._ok, new_ok])[order]
            self._penalty = np.concatenate([self._penalty, new_penalty])[order]
        ok, penalty = ok[back], penalty[back]
        out, at = [], 0
        for (a, b, _), c, w in zip(moves, codes, wants, strict=True):
            ok_out = np.ones(len(c), bool)
            penalty_out = np.zeros(len(c), np.float32)
            ok_out[w], penalty_out[w] = ok[at:at + len(w)], penalty[at:at + len(w)]
            at += len(w)
            out.append((ok_out.reshape(len(a), len(b)), penalty_out.reshape(len(a), len(b))))
        return out

    def _judge(self, a: Frame, b: Frame) -> tuple[np.ndarray, np.ndarray]:
        ok, penalty = np.ones(len(a), bool), np.zeros(len(a), np.float32)
        for start in range(0, len(a), PAIRS_PER_CALL):  # a call's arrays stay in the cache
            part = slice(start, start + PAIRS_PER_CALL)
            ok[part], penalty[part] = step_rules(a.take(part), b.take(part), self.uses, self.ctx)
        return ok, penalty

    def _find(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(self._codes, codes), max(len(self._codes) - 1, 0))
        found = (self._codes[pos] == codes) if len(self._codes) else np.zeros(len(codes), bool)
        return pos, found


def pair_matrix(a: Frame, b: Frame, uses: Sequence[RuleUse], ctx: Context
                ) -> tuple[np.ndarray, np.ndarray]:
    """(compatible [K1, K2], soft penalty [K1, K2]) of every pair of neighbouring
    voicings under the horizontal and two-note melodic rules."""
    k1, k2 = len(a), len(b)
    ok, penalty = np.ones((k1, k2), bool), np.zeros((k1, k2))
    rows = max(1, PAIRS_PER_CALL // max(k2, 1))  # a call's arrays stay in the cache
    for start in range(0, k1, rows):
        n = min(rows, k1 - start)
        each = a.take(slice(start, start + n)).map_rows(lambda x: np.repeat(x, k2, axis=0))
        every = b.map_rows(lambda x, n=n: np.tile(x, (n,) + (1,) * (x.ndim - 1)))
        o, p = step_rules(each, every, uses, ctx)
        ok[start:start + n], penalty[start:start + n] = o.reshape(n, k2), p.reshape(n, k2)
    return ok, penalty


# The hard rules that forbid most moves between a chorale's voicings (some 40, 25 and 15
# in a hundred), judged first so that the other rules judge only the moves they allow.
PRUNE_FIRST = ("no-voice-overlap", "seventh-resolves-down", "max-leap")


def step_rules(a: Frame, b: Frame, uses: Sequence[RuleUse], ctx: Context,
               lines: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(compatible [K], soft penalty [K]) of row r of `a` moving to row r of `b`; the
    melodic rules judge the voices in `lines` (all by default: each strikes anew). The
    soft rules weigh only the moves the hard rules allow (elsewhere the penalty is 0)."""
    ok = np.ones(len(a), bool)
    penalty = np.zeros(len(a))
    rows = np.arange(len(a))  # which moves a and b hold now: those not yet forbidden
    voices: dict[int, tuple[Frame, Frame]] = {}  # each voice's line, cut once
    judged = [u for u in uses if isinstance(u.rule, HorizontalRule)
              or (isinstance(u.rule, MelodicRule) and u.rule.window == 2)]
    judged.sort(key=lambda u: (u.severity != "error", u.rule.id not in PRUNE_FIRST,
                               PRUNE_FIRST.index(u.rule.id) if u.rule.id in PRUNE_FIRST else 0))
    for use in judged:
        if use.severity != "error" and not ok[rows].all() or 4 * ok[rows].sum() < 3 * len(rows):
            keep = np.flatnonzero(ok[rows])  # leave out the moves already forbidden
            rows, a, b, voices = rows[keep], a.take(keep), b.take(keep), {}
        if not len(rows):
            break
        rule = use.rule
        if isinstance(rule, HorizontalRule):
            broken = rule.test(a, b, ctx, use.params).sum(axis=1)
        else:
            broken = np.zeros(len(a), int)
            for v in range(len(ctx.voices)) if lines is None else lines:
                if rule.applies(v, ctx, use.params) and use.judges((ctx.voices[v],)):
                    if v not in voices:
                        voices[v] = (a.take(slice(None), [v]), b.take(slice(None), [v]))
                    broken += rule.test(voices[v], ctx, use.params)
        if use.severity == "error":
            ok[rows[broken != 0]] = False
        else:
            penalty[rows] += use.weight * broken
    return ok, penalty
