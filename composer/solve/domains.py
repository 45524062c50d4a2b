"""Domains: every voicing of a slot's chord that the vertical and unary rules allow.

python-constraint enumerates the voicings of a chord from per-voice domains (chord tones
within each voice's range, or the one given note) with the voices kept in order; the
hard vertical rules of the spec then filter the whole batch in one vectorised call — the
very `test` the checker runs on a score, so no rule is written twice. The result is a
`Frame` of candidates per slot, and the pairwise compatibility of neighbouring slots is
judged the same way with the horizontal and melodic rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
from constraint import BacktrackingSolver, FunctionConstraint, Problem

from composer.chords import Chord
from composer.music import STEP_PC, Key, Pitch
from composer.planning.melody_fit import forget_heard
from composer.rules import Context, MelodicRule, VerticalRule
from composer.rules.vertical import STANDARD_RANGES
from composer.solve.pairs import step_rules
from composer.spec.rulesets import RuleUse
from composer.texture import REST, Frame, chord_arrays


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
            wide = spacing[v] if spacing is not None else 1 << 10
            solver.addConstraint(FunctionConstraint(_within(wide)), (v, v + 1))
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


def _within(wide: int) -> Callable[[int, int], bool]:
    """Two neighbouring voices in order, at most `wide` semitones apart."""
    def ok(hi: int, lo: int) -> bool:
        return 0 <= hi - lo <= wide

    return ok


@lru_cache(maxsize=4096)
def voicing_frame(problem: SlotProblem) -> Frame:
    """Every voicing of the problem as a frame (a pure function of the problem, so pieces
    composed in one process share it; the frame is only read)."""
    return _frame(*enumerate_voicings(problem), problem.chord, problem.key)


def forget_enumerations() -> None:
    """Empty the process's memo of enumerated voicings (and of the chords heard in
    them), as a new process starts (to time a first call)."""
    forget_heard()
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

    def __init__(self, uses: Sequence[RuleUse], ctx: Context,
                 domains: dict[SlotProblem, Domain] | None = None) -> None:
        """`domains`: where the domains are kept, shared by solvers of the same vertical
        rules (only they decide a domain)."""
        self.uses = tuple(uses)
        self.ctx = ctx
        self._cache: dict[SlotProblem, Domain] = {} if domains is None else domains

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

    def within_each(self, frames: Sequence[Frame], notes: Sequence[tuple[int, Pitch]],
                    then: Pitch | None = None) -> list[tuple[np.ndarray, np.ndarray, Frame]]:
        """`within` of each frame, judged in one batch (every verdict is of one voicing
        alone, so batching changes none; a slot's chords are a call per rule otherwise)."""
        if not frames:
            return []
        ok, penalty, last = self.within(Frame.concat([f for f in frames if len(f)]
                                                     or list(frames[:1])), notes, then)
        out, start = [], 0
        for f in frames:
            part = slice(start, start + len(f))
            out.append((ok[part], penalty[part], last.take(part)))
            start += len(f)
        return out

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


