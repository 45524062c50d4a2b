"""The verdicts between neighbouring voicings: the horizontal rules and the melodic rules
of two notes, judged in one vectorised call per rule over many pairs at once, and
remembered per pair of voicings (a piece offers the same voicings at slot after slot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.rules import Context, HorizontalRule, MelodicRule
from composer.spec.rulesets import RuleUse
from composer.texture import Frame

PAIRS_PER_CALL = 1 << 15  # pairs judged in one call when all the voicings of two slots meet


DENSE_PAIRS = 1 << 22  # the most pairs of a run's distinct voicings marked in one table


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
        # The pairs judged, by code (sorted), in two tiers: the few judged lately merged
        # into the rest only once they are a good part of it, so that a run judging
        # millions of pairs in many calls does not copy them all at every call.
        self._judged = [_Tier.empty(), _Tier.empty()]

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
        names = np.unique(np.concatenate(
            [x for a, b, _ in moves for x in (a, b)] or [np.zeros(0, np.int64)])).astype(np.int64)
        d = len(names)
        codes = [(np.searchsorted(names, a)[:, None] * d + np.searchsorted(names, b)[None, :]
                  ).ravel() for a, b, _ in moves]
        wants = [np.flatnonzero(w.ravel()) for *_, w in moves]
        asked = np.concatenate([c[w] for c, w in zip(codes, wants, strict=True)]
                               or [np.zeros(0, np.int64)]).astype(np.int64)
        if d * d <= DENSE_PAIRS:
            marked = np.zeros(d * d, bool)
            marked[asked] = True
            local = np.flatnonzero(marked)
            place = np.empty(d * d, np.int32)  # (read only where written: at the pairs asked)
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
        ok, penalty = np.ones(len(pairs), bool), np.zeros(len(pairs), np.float32)
        found = np.zeros(len(pairs), bool)
        for tier in self._judged:
            pos, there = tier.find(pairs)
            ok[there], penalty[there] = tier.ok[pos[there]], tier.penalty[pos[there]]
            found |= there
        if not found.all():
            if self._named is None:
                self._named = Frame.concat([f for f in self._frames if len(f)])
            fresh = pairs[~found]
            new_ok, new_penalty = self._judge(self._named.take(fresh >> 32),
                                              self._named.take(fresh & 0xFFFFFFFF))
            ok[~found], penalty[~found] = new_ok, new_penalty
            rest, recent = self._judged
            recent = recent.merged(_Tier(fresh, new_ok, new_penalty))
            self._judged = [rest, recent] if 4 * len(recent.codes) < len(rest.codes) \
                else [rest.merged(recent), _Tier.empty()]
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



@dataclass(frozen=True)
class _Tier:
    """Verdicts on pairs by code, the codes in order."""

    codes: np.ndarray  # int64 [P], sorted, distinct
    ok: np.ndarray  # bool [P]
    penalty: np.ndarray  # float32 [P]

    @staticmethod
    def empty() -> _Tier:
        return _Tier(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.float32))

    def find(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(where, whether) each code is here."""
        if not len(self.codes):
            return np.zeros(len(codes), np.int64), np.zeros(len(codes), bool)
        pos = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        return pos, self.codes[pos] == codes

    def merged(self, other: _Tier) -> _Tier:
        """Both tiers' pairs in one (none in both): where each of other's lands, worked
        out once for the three arrays."""
        at = np.searchsorted(self.codes, other.codes) + np.arange(len(other.codes))
        kept = np.ones(len(self.codes) + len(other.codes), bool)
        kept[at] = False
        return _Tier(*(_merged(mine, at, kept, theirs) for mine, theirs in (
            (self.codes, other.codes), (self.ok, other.ok), (self.penalty, other.penalty))))


def _merged(old: np.ndarray, at: np.ndarray, kept: np.ndarray, new: np.ndarray
            ) -> np.ndarray:
    """old with new's values placed at `at` (of the result; `kept`: the other places)."""
    out = np.empty(len(kept), old.dtype)
    out[at] = new
    out[kept] = old
    return out


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
        every = b.map_rows(lambda x: np.tile(x, (n, *(1,) * (x.ndim - 1))))  # noqa: B023
        o, p = step_rules(each, every, uses, ctx)
        ok[start:start + n], penalty[start:start + n] = o.reshape(n, k2), p.reshape(n, k2)
    return ok, penalty


# The hard rules that forbid most moves between a chorale's voicings (some 40, 25 and 15
# in a hundred), judged first so that the other rules judge only the moves they allow.
PRUNE_FIRST = ("no-voice-overlap", "seventh-resolves-down", "max-leap")


def _count(broken: np.ndarray) -> np.ndarray:
    """int [K]: the true entries of each row of bool [K, P] (P: a few pairs of voices),
    column by column: numpy sums a row of a few entries far slower than a column."""
    out = broken[:, 0].astype(np.int64) if broken.shape[1] else np.zeros(len(broken), np.int64)
    for j in range(1, broken.shape[1]):
        out += broken[:, j]
    return out


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
            broken = _count(rule.test(a, b, ctx, use.params))
        elif isinstance(rule, MelodicRule):
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
