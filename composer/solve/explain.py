"""Why a spec cannot be composed: a minimal set of its hard rules and given notes that
cannot all hold together, each named with its place in the YAML.

QuickXplain (Junker, AAAI 2004) finds a minimal conflicting subset with few consistency
checks. A check asks whether any piece exists at all (no scorer; the likeliest few values
of each slot first, every voicing only when those fail) over a window of slots around the
place where composing broke: if the window alone has no solution, neither has the piece,
so the conflict found there is a true one, and a window keeps each check short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.errors import UnsatisfiableError
from composer.planning.chain import HarmonyChain, harmony_chain
from composer.planning.melody_fit import FIT_RULES
from composer.planning.phrases import bar_beat
from composer.rules import Context
from composer.rules.base import MelodicRule
from composer.sample.sampler import Chain, NoSolution, solvable
from composer.solve.candidates import MAX_VALUES_PER_SLOT, candidates, fixed_notes
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec
from composer.texture import REST, Frame, chord_arrays

WINDOWS = (1, 2, 4, 8, 16, 32)  # slots before the break that a check looks at, widening


@dataclass(frozen=True)
class _Item:
    """One thing the spec asks for: a hard rule, or one given melody note."""

    use: RuleUse | None = None
    note: int | None = None  # index into the melody's notes


def explain(spec: Spec, slot: int, whole: bool = False, full: HarmonyChain | None = None,
            notes_wanted: Callable[[tuple[str, ...]], bool] | None = None
            ) -> UnsatisfiableError | None:
    """Which rules and notes conflict near `slot`, where composing broke; None when no
    window around it is itself impossible (only the voicings offered failed to connect),
    unless `whole`: then the whole piece is the window. `full`: the spec's chain as
    `harmony_chain` makes it with its defaults, where the caller has it. `notes_wanted`:
    whether the caller reads the notes of a conflict of these rules (the search for them
    is most of an explanation's time, and a caller that answers the conflict by easing a
    rule reads only the rules); by default it does."""

    ctx = Context(spec.voices, spec.key, spec.meter)
    full = full if full is not None else harmony_chain(spec, fixed_notes(spec, ctx))
    n = len(full.times)
    every = [_Item(use=u) for u in spec.hard]
    memo: dict = {}
    window = None
    for width in (n,) if whole else WINDOWS:
        lo, hi = max(0, slot - width), min(n, slot + 1)
        if not _consistent(spec, full, range(lo, hi), every + _notes(spec, full, lo, hi), memo):
            window = range(lo, hi)
            break
    if window is None:
        if not whole:
            return None
        _, offset, length, _ = full.times[min(slot, n - 1)]
        # No rule alone is to blame: the given notes struck where it broke are named, for
        # the lenient way to let go (`composer.solve.given.frees`).
        struck = tuple(x.offset for x in spec.melody.notes if x.pitch is not None
                       and offset <= x.offset < offset + length) if spec.melody else ()
        return UnsatisfiableError(
            f"{spec.source}: the rules leave too few voicings to connect the chords near"
            f" {bar_beat(spec.meter, offset)}; widen a voice's range or loosen a rule there",
            places=struck)
    # Rules first with every note of the window given (small domains, quick checks), then
    # the notes with only those rules: removing any member of the result then lets the
    # window be composed, so the set is minimal.
    notes = _notes(spec, full, window.start, window.stop)
    rules = quickxplain(every, lambda subset: _consistent(spec, full, window,
                                                          subset + notes, memo))
    ids = tuple(i.use.rule.id for i in rules if i.use is not None)
    conflict = rules if notes_wanted is not None and not notes_wanted(ids) else \
        rules + quickxplain(notes, lambda subset: _consistent(spec, full, window,
                                                              rules + subset, memo))
    return UnsatisfiableError(_describe(spec, conflict, full.times[window.stop - 1][1]),
                              tuple(i.use.rule.id for i in conflict if i.use is not None),
                              tuple(spec.melody.notes[i.note].offset for i in conflict
                                    if i.note is not None and spec.melody is not None))


def quickxplain(items: Sequence[_Item], consistent: Callable[[list[_Item]], bool]
                ) -> list[_Item]:
    """A minimal subset of `items` that is inconsistent (items must be inconsistent)."""

    def qx(background: list[_Item], delta: bool, pool: list[_Item]) -> list[_Item]:
        if delta and not consistent(background):
            return []
        if len(pool) == 1:
            return list(pool)
        half = len(pool) // 2
        first, second = pool[:half], pool[half:]
        d2 = qx(background + first, True, second)
        d1 = qx(background + d2, bool(d2), first)
        return d1 + d2

    if not items or not consistent([]):
        return []
    return qx([], False, list(items))


def _notes(spec: Spec, chain: HarmonyChain, lo: int, hi: int) -> list[_Item]:
    if spec.melody is None:
        return []
    start = chain.times[lo][1]
    end = chain.times[hi - 1][1] + chain.times[hi - 1][2]
    return [_Item(note=k) for k, n in enumerate(spec.melody.notes)
            if n.pitch is not None and n.offset < end and n.offset + n.duration > start]


def _consistent(spec: Spec, full: HarmonyChain, window: range, items: list[_Item],
                memo: dict) -> bool:

    uses = tuple(i.use for i in items if i.use is not None)
    kept = {i.note for i in items if i.note is not None}
    melody = spec.melody
    if melody is not None:
        melody = replace(melody, notes=tuple(
            n if k in kept else replace(n, pitch=None) for k, n in enumerate(melody.notes)))
    trial = replace(spec, rules=uses, melody=melody)
    ctx = Context(spec.voices, spec.key, spec.meter)
    fixed = fixed_notes(trial, ctx)
    # The chain reads of the trial only its notes and the rules of the melody's fit: the
    # trials that differ in other rules (all of them, while the rules are searched) share it.
    asked = ("chain", frozenset(kept), frozenset(u.rule.id for u in trial.hard) & FIT_RULES,
             tuple((at, tuple(pitches)) for at, pitches in fixed.items()))
    if (chain := memo.get(asked)) is None:
        chain = memo[asked] = harmony_chain(trial, fixed, layout=full)
    # A piece among a few values of each slot proves that one exists; only the want of
    # one needs them all (a slot left empty is empty however many are offered), and then
    # whether they connect is arc consistency from the end, no pair scored.
    for cap in (MAX_VALUES_PER_SLOT, None):
        try:
            cands = candidates(trial, chain, None, slots=window, cap=cap, memo=memo,
                               connect_only=cap is None)
            if cap is not None:
                solvable(Chain(cands.unary, cands.pair))
        except NoSolution:
            continue
        except UnsatisfiableError:
            return False
        return True
    return False


def _describe(spec: Spec, conflict: list[_Item], near: Fraction) -> str:
    parts = []
    for item in conflict:
        if item.use is not None:
            parts.append(f"{item.use.place}rule {item.use.describe()}")
        else:
            assert spec.melody is not None and item.note is not None
            note = spec.melody.notes[item.note]
            o = spec.melody.origin
            place = f"{o.file}:{o.line}: " if o.line is not None else ""
            parts.append(f"{place}melody note {note.pitch} at {bar_beat(spec.meter, note.offset)}")
    if not parts:
        return (f"{spec.source}: the harmony grammar and the cadences the form asks for"
                f" cannot be met near {bar_beat(spec.meter, near)}")
    if len(parts) == 1:
        return f"{parts[0]} cannot hold (with the harmony grammar and the form's cadences)"
    return f"{parts[0]} conflicts with " + ", ".join(parts[1:])


def given_line_conflict(spec: Spec) -> UnsatisfiableError | None:
    """A given melody that itself breaks a hard rule of its own line (a leap wider than
    `max-leap` allows, an augmented step): no harmony can mend that, so it is named at
    once, rule and notes, without a search. The rules judge the bare line with no chord
    known, so only what the pitches alone decide is blamed."""


    if spec.melody is None:
        return None
    ctx = Context(spec.voices, spec.key, spec.meter)
    voice = ctx.voices.index(spec.melody.voice)
    voice_name = spec.melody.voice
    notes = spec.melody.notes

    def line(part: Sequence) -> Frame:
        n = len(part)
        midi = np.array([[m.pitch.midi if m.pitch else REST] for m in part], np.int16)
        diatonic = np.array([[m.pitch.diatonic if m.pitch else 0] for m in part], np.int16)
        roles, leading, root = chord_arrays([None] * n, [spec.key] * n)
        return Frame(midi.reshape(n, 1), diatonic.reshape(n, 1), np.ones((n, 1), bool),
                     roles, leading, root, (voice,), np.arange(n, dtype=np.int32),
                     np.zeros(n, bool))

    for use in spec.hard:
        rule, w = use.rule, getattr(use.rule, "window", 0)
        if not isinstance(rule, MelodicRule) or len(notes) < w \
                or not rule.applies(voice, ctx, use.params) or not use.judges((voice_name,)):
            continue
        frames = tuple(line(notes[k:len(notes) - w + 1 + k]) for k in range(w))
        broken = np.flatnonzero(rule.test(frames, ctx, use.params))
        if len(broken):
            k = int(broken[0])
            items = [_Item(use=use)] + [_Item(note=j) for j in range(k, k + w)
                                        if notes[j].pitch is not None]
            return UnsatisfiableError(_describe(spec, items, notes[k].offset), (rule.id,))
    return None
