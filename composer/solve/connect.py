"""Whether a run of slots connects at all, asked before every pair of its voicings is
scored: where the likeliest voicings failed to connect and every voicing is offered,
the rules often still leave no way through (a melody that strict harmony cannot serve),
and that is found with a fraction of the pairs judged.

Arc consistency from the end, as the sampler's backward pass (exact on a chain): a value
lives if some living value of the next slot may follow it. Each value is first tried
against the next slot's likeliest living values (mostly judged already, when the
likeliest were offered), and only the values left without a successor against the
rest. Every pair judged is remembered by the verdicts, so a run that does connect loses
little when all its pairs are then judged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from composer.solve.pairs import PairVerdicts

NAMES_PER_CALL = 2048  # every voicing offered: a call judges this many names' pairs at most
FIRST_TRIED = 64  # the next slot's likeliest living values each value is tried against


def broken_at(names: Sequence[np.ndarray], unary: Sequence[np.ndarray],
              harmony: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]],
              verdicts: PairVerdicts) -> int | None:
    """The slot (counted from the run's first) from which no value reaches the run's end,
    or None where some sequence passes the rules all through. `names`: per slot, each
    value's name and then its last moment's (PairVerdicts.base); `unary`: each value's
    score (every value finite); `harmony(k)`: (allowed [C, C], the chord of each value
    of slot k, of slot k+1): which progressions between the chords the harmony allows
    there. Only the pairs of values tried are looked up (every voicing offered, the
    whole table would be millions)."""
    alive = np.ones(len(unary[-1]), bool)
    for k in range(len(unary) - 2, -1, -1):
        chords, before, after_chord = harmony(k)
        allowed = _Allowed(chords, before, after_chord)
        after = np.flatnonzero(alive)
        first = after[np.argsort(-unary[k + 1][after], kind="stable")[:FIRST_TRIED]]
        rest = np.setdiff1d(after, first)
        rest = rest[np.argsort(-unary[k + 1][rest], kind="stable")]
        tails, heads = names[2 * k + 1], names[2 * k + 2]
        if k == 0:  # the run's first slot: one value that reaches the end is enough
            order = np.argsort(-unary[0], kind="stable")
            lo, size = 0, FIRST_TRIED
            while lo < len(order):
                if _reach(verdicts, tails, heads, allowed, order[lo:lo + size], first,
                          rest).any():
                    return None
                lo, size = lo + size, 4 * size
            return 0
        live = _reach(verdicts, tails, heads, allowed, np.arange(len(tails)), first, rest)
        if not live.any():
            return k
        alive = live
    return None


def _reach(verdicts: PairVerdicts, tails: np.ndarray, heads: np.ndarray,
           allowed: _Allowed, rows: np.ndarray, first: np.ndarray, rest: np.ndarray
           ) -> np.ndarray:
    """bool [len(rows)]: which of these values of a slot some living value of the next
    may follow: tried against the next slot's likeliest (`first`), then the rest,
    likeliest first, in growing blocks (a value that finds a successor is not tried
    again)."""
    live = _any_follows(verdicts, tails[rows], heads[first], allowed.part(rows, first))
    lo, size = 0, FIRST_TRIED
    while lo < len(rest) and not live.all():
        left, block = np.flatnonzero(~live), rest[lo:lo + size]
        live[left] = _any_follows(verdicts, tails[rows[left]], heads[block],
                                  allowed.part(rows[left], block))
        lo, size = lo + size, 4 * size
    return live


@dataclass(frozen=True)
class _Allowed:
    """Which values of one slot the harmony lets each value of the next follow, looked up
    by the values' chords for the pairs asked (the values asked after are all alive)."""

    chords: np.ndarray  # bool [C, C]: the progressions allowed
    before: np.ndarray  # the chord of each value of this slot
    after: np.ndarray  # and of the next

    def part(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.chords[np.ix_(self.before[rows], self.after[cols])]


def _any_follows(verdicts: PairVerdicts, before: np.ndarray, after: np.ndarray,
                 allowed: np.ndarray) -> np.ndarray:
    """bool [len(before)]: some value of `after` that `allowed` lets follow may follow
    by the rules."""
    if not len(after) or not len(before):
        return np.zeros(len(before), bool)
    ok, _ = verdicts.judge([(before, after, allowed)])[0]
    return (ok & allowed).any(axis=1)


def group_of(names: list[np.ndarray], k: int, end: int) -> range:
    """The pairs of slots from k on whose names (before, after) number at most
    NAMES_PER_CALL together (at least one pair)."""
    total, j = 0, k
    while j < end and (j == k or total + len(names[2 * j + 1]) + len(names[2 * j + 2])
                       <= NAMES_PER_CALL):
        total += len(names[2 * j + 1]) + len(names[2 * j + 2])
        j += 1
    return range(k, j)
