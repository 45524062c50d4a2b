"""Markov-constrained sampling over a chain of slots: exact, by a backward pass of sums.

Slot t offers K_t candidate values (indices; the caller maps them to chords, voicings or
surface figures). A sequence x scores, in log space,

    score(x) = sum_t unary[t][x_t] + sum_t pair[t][x_t, x_t+1]

with −inf wherever a hard rule forbids a value or a transition. A backward pass gives
every value the log-mass of all its valid completions (logsumexp, so nothing underflows);
the forward pass then draws each slot given the previous one, weighted by the scorer times
that mass. Every draw is therefore a complete solution — no dead end, no retry — and for a
Markov scorer the draws follow P(x) ∝ exp(score(x) / temperature) exactly, conditioned on
the hard rules.

Non-local rules (max-order, an A′ with few changes, a single climax) are finite automata
read along the chain; the passes run on the product (slot value × automaton state), so
they hold by construction too and the distribution stays exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from composer.errors import UnsatisfiableError
from composer.sample.automata import (
    Automaton,
    change_budget_automaton,
    free,
    product,
    run_length_automaton,
    single_climax_automaton,
)

__all__ = [
    "Automaton", "Chain", "Messages", "NoSolution", "backward", "best",
    "change_budget_automaton", "feasible", "product", "run_length_automaton", "sample",
    "single_climax_automaton",
]

Array = NDArray[Any]  # shapes and dtypes are given where each is used
Reduce = Callable[[Array], Array]
_NEG = -np.inf


class NoSolution(UnsatisfiableError):
    """No complete sequence satisfies the hard rules.

    `slot` is where the chain breaks, found by the forward pass: slots 0..slot-1 can be
    filled validly, slot cannot. When every slot is reached but no sequence ends in an
    accepted automaton state, it is the last slot. The caller names the rules involved.
    """

    def __init__(self, slot: int, reason: str) -> None:
        self.slot = slot
        super().__init__(f"no sequence satisfies the rules: {reason}")


@dataclass(frozen=True, eq=False)
class Chain:
    """The slots and their log-scores, checked once so that the passes can trust them.

    unary[t]: [K_t] log-scores of the values of slot t. pair[t]: [K_t, K_t+1] log-scores
    of the transition t → t+1 (the Markov scorer's log-probability plus soft-rule
    log-weights), −inf where a hard rule forbids the pair. float32 halves the memory of
    large slots; a boolean pair[t] is read as a bare compatibility mask (True = 0, False =
    −inf), for chains whose scores all sit in `unary`.
    """

    unary: Sequence[Array]
    pair: Sequence[Array]

    def __post_init__(self) -> None:
        unary = tuple(np.asarray(u, dtype=np.float64) for u in self.unary)
        pair = tuple(_as_pair(p) for p in self.pair)
        if not unary:
            raise ValueError("a chain needs at least one slot")
        if len(pair) != len(unary) - 1:
            raise ValueError(f"{len(unary)} slots need {len(unary) - 1} pair arrays, "
                             f"got {len(pair)}")
        for t, u in enumerate(unary):
            if u.ndim != 1 or not (u < np.inf).all():
                raise ValueError(f"unary[{t}] must be 1-D, with no NaN or +inf")
        for t, p in enumerate(pair):
            if p.shape != (len(unary[t]), len(unary[t + 1])):
                raise ValueError(f"pair[{t}] has shape {p.shape}, "
                                 f"expected {(len(unary[t]), len(unary[t + 1]))}")
            if p.dtype != np.bool_ and not (p < np.inf).all():
                raise ValueError(f"pair[{t}] must have no NaN or +inf")
        object.__setattr__(self, "unary", unary)
        object.__setattr__(self, "pair", pair)

    @property
    def length(self) -> int:
        return len(self.unary)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(u) for u in self.unary)


def _as_pair(p: Array) -> Array:
    a = np.asarray(p)
    return a if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.floating) \
        else a.astype(np.float64)


@dataclass(frozen=True, eq=False)
class Messages:
    """Backward messages: beta[t][s, i] is the log-mass (or, for `best`, the best log-score)
    of every valid completion from value i of slot t in automaton state s. Row S of each
    array is −inf and stands for the dead state −1, so that a gather needs no mask."""

    chain: Chain
    automaton: Automaton
    temperature: float
    beta: tuple[Array, ...]

    @property
    def root(self) -> Array:
        """The log-mass of every valid sequence starting with each value of slot 0."""
        return self.beta[0][_first_states(self.chain, self.automaton),
                            np.arange(self.chain.sizes[0])]

    @property
    def log_z(self) -> float:
        """log of the total weight of the valid sequences (the partition function)."""
        return float(_logsumexp(self.root[None, :])[0])

    def draw(self, rng: np.random.Generator, n: int = 1) -> Array:
        """n independent samples, [n, T]: each slot given the previous one, exactly."""
        def gumbel_max(scores: Array) -> Array:
            return (scores + rng.gumbel(size=scores.shape)).argmax(axis=1)

        return _forward(self, gumbel_max, n)


def _first_states(chain: Chain, aut: Automaton) -> Array:
    """The automaton state after each value of slot 0."""
    labels = np.broadcast_to(aut.labels[0], (1, chain.sizes[0]))[0]
    return aut.tables[0][aut.start, labels]


def _logsumexp(m: Array) -> Array:
    """Row-wise, shifted by the row's maximum (so a finite row never gives −inf); the
    exponentials are taken in float32, four times faster and ample for sampling (~1e-7)."""
    top = m.max(axis=1, initial=_NEG)
    safe = np.where(np.isfinite(top), top, 0.0)
    shifted = (m - safe[:, None]).astype(np.float32, copy=False)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(shifted).sum(axis=1, dtype=np.float64))


def _max(m: Array) -> Array:
    return m.max(axis=1, initial=_NEG)


def _pair_scores(pair: Array, temperature: float) -> Array:
    if pair.dtype == np.bool_:
        return np.where(pair, np.float32(0), np.float32(_NEG))
    return pair if temperature == 1.0 else pair / temperature


def _backward(chain: Chain, aut: Automaton, temperature: float, reduce: Reduce) -> Messages:
    """From the last slot back: beta[t][s, i] = unary + reduce_j(pair + beta[t+1][s', j])."""
    if not (0 < temperature < np.inf):
        raise ValueError("temperature must be positive and finite")
    aut.fits(chain.sizes)
    if aut.support is not None and reduce is _logsumexp:
        return _checked(Messages(chain, aut, temperature,
                                 _backward_supported(chain, aut, temperature)))
    n = aut.n_states
    last = np.full((n + 1, chain.sizes[-1]), _NEG)
    last[:n][aut.accept] = chain.unary[-1] / temperature
    beta = [last]
    for t in range(chain.length - 2, -1, -1):
        pair = _pair_scores(chain.pair[t], temperature)
        unary = chain.unary[t] / temperature
        table, after = aut.tables[t + 1], beta[-1]
        # where each (label, next value) sits in after[table[s]].ravel(): [K_t or 1, K_t+1]
        flat = aut.labels[t + 1].astype(np.intp) * after.shape[1] + np.arange(after.shape[1])
        here = np.full((n + 1, len(unary)), _NEG)
        for s in range(n):  # a loop over automaton states only, never over values
            ahead = np.take(after[table[s]].ravel(), flat)
            if np.isfinite(ahead).any():
                here[s] = unary + reduce(pair + ahead.astype(pair.dtype, copy=False))
        beta.append(here)
    return _checked(Messages(chain, aut, temperature, tuple(reversed(beta))))


def _checked(msg: Messages) -> Messages:
    if not np.isfinite(msg.root).any():
        raise _no_solution(msg.chain, msg.automaton)
    return msg


def _backward_supported(chain: Chain, aut: Automaton, temperature: float
                        ) -> tuple[Array, ...]:
    """The log-sum-exp backward pass when each state stands with only some values: the
    states that stand with the same values form a group, and a group's messages are one
    matrix product over exactly those values (float64, shifted by each row's maximum;
    an entry that underflows there is summed again exactly)."""
    assert aut.support is not None
    n = aut.n_states
    last = np.full((n + 1, chain.sizes[-1]), _NEG)
    stands = aut.support[-1][:, aut.labels[-1][0]] & aut.accept[:, None]
    last[:n] = np.where(stands, chain.unary[-1] / temperature, _NEG)
    beta = [last]
    for t in range(chain.length - 2, -1, -1):
        pair = _pair_scores(chain.pair[t], temperature)
        unary = chain.unary[t] / temperature
        after, size = beta[-1], chain.sizes[t + 1]
        ahead = after[aut.tables[t + 1][:, aut.labels[t + 1][0]], np.arange(size)]  # [S, K]
        here = np.full((n + 1, len(unary)), _NEG)
        live = np.flatnonzero(np.isfinite(ahead).any(axis=1) & aut.support[t].any(axis=1))
        groups: dict[bytes, list[int]] = {}
        for s in live:
            groups.setdefault(aut.support[t][s].tobytes(), []).append(int(s))
        for states in groups.values():
            rows = np.flatnonzero(aut.support[t][states[0]][aut.labels[t][0]])
            if len(rows):
                here[np.ix_(np.asarray(states), rows)] = unary[rows] + _log_product(ahead[states],
                                                                        pair[rows])
        beta.append(here)
    return tuple(reversed(beta))


def _log_product(a: Array, b: Array) -> Array:
    """[g, r]: log sum_j exp(a[s, j] + b[i, j]), as a matrix product of exponentials."""
    a_top, b_top = a.max(axis=1, initial=_NEG), b.max(axis=1, initial=_NEG)
    a_top = np.where(np.isfinite(a_top), a_top, 0.0)
    b_top = np.where(np.isfinite(b_top), b_top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.exp(a - a_top[:, None]) @ np.exp(b.astype(np.float64) - b_top[:, None]).T
        out = np.log(total) + a_top[:, None] + b_top[None, :]
    lost = total == 0
    if lost.any():  # an underflow, or truly no valid continuation: tell them apart
        overlap = np.isfinite(a).astype(np.float32) @ np.isfinite(b).astype(np.float32).T
        for s, i in zip(*np.nonzero(lost & (overlap > 0)), strict=True):
            out[s, i] = _logsumexp((a[s] + b[i])[None, :])[0]
    return out


def _forward(msg: Messages, pick: Callable[[Array], Array], n: int) -> Array:
    """Each slot picked from the pair scores plus the mass ahead; finite by construction."""
    chain, aut = msg.chain, msg.automaton
    out = np.empty((n, chain.length), dtype=np.intp)
    x = pick(np.broadcast_to(msg.root, (n, chain.sizes[0])))
    s = _first_states(chain, aut)[x]
    out[:, 0] = x
    rows = np.arange(n)
    for t in range(chain.length - 1):
        size = chain.sizes[t + 1]
        labels = aut.labels[t + 1]
        labels = labels[x] if labels.shape[0] > 1 else labels
        nxt = np.broadcast_to(aut.tables[t + 1][s[:, None], labels], (n, size))
        scores = _pair_scores(chain.pair[t][x], msg.temperature) \
            + msg.beta[t + 1][nxt, np.arange(size)]
        x = pick(scores)
        s = nxt[rows, x]
        out[:, t + 1] = x
    return out


def _reachable(chain: Chain, aut: Automaton) -> list[Array]:
    """Forward pass: which (state, value) pairs of each slot a valid beginning reaches."""
    n = aut.n_states
    first = np.zeros((n + 1, chain.sizes[0]), bool)
    first[_first_states(chain, aut), np.arange(chain.sizes[0])] = np.isfinite(chain.unary[0])
    reached = [first[:n]]
    for t in range(chain.length - 1):
        size = chain.sizes[t + 1]
        pair = chain.pair[t]
        ok = pair if pair.dtype == np.bool_ else pair > _NEG
        labels, table = aut.labels[t + 1], aut.tables[t + 1]
        nxt_reached = np.zeros((n + 1, size), bool)
        for s in np.flatnonzero(reached[-1].any(axis=1)):
            rows = reached[-1][s]
            allowed, lab = ok[rows], labels[rows] if labels.shape[0] > 1 else labels
            for nxt in np.unique(table[s]):  # few next states: group the labels by them
                hit = (table[s] == nxt)[lab]
                nxt_reached[nxt] |= (allowed & hit).any(axis=0)
        reached.append(nxt_reached[:n] & np.isfinite(chain.unary[t + 1]))
    return reached


def _no_solution(chain: Chain, aut: Automaton) -> NoSolution:
    for t, reached in enumerate(_reachable(chain, aut)):
        if not reached.any():
            if t == 0:
                return NoSolution(0, "slot 0 has no allowed value")
            return NoSolution(t, f"no value of slot {t} can follow any valid "
                                 f"beginning of slots 0..{t - 1}")
    return NoSolution(chain.length - 1, "every beginning breaks a non-local rule "
                                        "by the last slot")


def backward(chain: Chain, *, automaton: Automaton | None = None,
             temperature: float = 1.0) -> Messages:
    """The backward pass, kept so that many samples (or log_z) cost one pass.

    Raises NoSolution when no complete sequence satisfies the hard rules.
    """
    return _backward(chain, automaton or free(chain.length), temperature, _logsumexp)


def sample(chain: Chain, rng: np.random.Generator, *, automaton: Automaton | None = None,
           temperature: float = 1.0) -> list[int]:
    """One sequence drawn from P(x) ∝ exp(score(x) / temperature) over valid sequences."""
    msg = backward(chain, automaton=automaton, temperature=temperature)
    return [int(v) for v in msg.draw(rng, 1)[0]]


def best(chain: Chain, *, automaton: Automaton | None = None) -> list[int]:
    """The most probable valid sequence (Viterbi), for deterministic output; ties go to the
    lowest index, slot by slot."""
    msg = _backward(chain, automaton or free(chain.length), 1.0, _max)
    return [int(v) for v in _forward(msg, lambda scores: scores.argmax(axis=1), 1)[0]]


def solvable(chain: Chain, *, automaton: Automaton | None = None) -> None:
    """Raises NoSolution (as `feasible` does) when no complete sequence satisfies the
    hard rules; for a caller that asks only that, not which values belong to one."""
    _backward(chain, automaton or free(chain.length), 1.0, _max)


def feasible(chain: Chain, *, automaton: Automaton | None = None) -> list[Array]:
    """Arc consistency, exact on a chain: [K_t] masks of the values of each slot that
    belong to at least one complete valid sequence. Raises NoSolution when none exists."""
    aut = automaton or free(chain.length)
    msg = _backward(chain, aut, 1.0, _max)
    return [np.any(r & np.isfinite(b[:-1]), axis=0)
            for r, b in zip(_reachable(chain, aut), msg.beta, strict=True)]
