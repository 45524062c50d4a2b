"""Markov-constrained sampling over a chain of slots (Pachet, Roy & Barbieri, IJCAI 2011).

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
from numpy.typing import ArrayLike, NDArray

from composer.errors import UnsatisfiableError

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
class Automaton:
    """A finite automaton read along the chain: the extra state of a non-local rule.

    Reading slot t moves state s to tables[t][s, labels[t][x_t-1, x_t]]; −1 means the
    rule is broken. A label array has shape (K_t-1 or 1, K_t or 1): a 1 where the label
    does not depend on that slot, so that rules on single values cost no K×K memory;
    labels[0] has one row (slot 0 has no predecessor). The sequence is accepted when the
    state after the last slot is in `accept`. Labels rather than one [S, K_t] table per
    slot because max-order depends on the pair of notes (see `over_values` for the plain
    per-value form).
    """

    start: int
    accept: Array  # [S]
    labels: tuple[Array, ...]  # one per slot
    tables: tuple[Array, ...]  # one per slot, [S, L_t] next state or −1
    # Optional, per slot [S, L_t]: False where state s can never be the state after
    # reading label l at slot t. It needs labels of one row (a label per value) and must
    # hold every state the tables reach; the backward pass then computes each state's
    # messages only on the values it can stand with, so an automaton whose states are
    # each tied to one group of values (a pitch) costs about one pass, not S.
    support: tuple[Array, ...] | None = None

    def __post_init__(self) -> None:
        accept = np.asarray(self.accept, dtype=bool)
        tables = tuple(np.asarray(t, dtype=np.intp) for t in self.tables)
        labels = tuple(_compact(np.asarray(lab)) for lab in self.labels)
        n = len(accept)
        if accept.ndim != 1 or not 0 <= self.start < n:
            raise ValueError("accept must be 1-D, with start one of its states")
        if len(labels) != len(tables) or not labels or labels[0].shape[0] != 1:
            raise ValueError("one label array and one table per slot; labels[0] has one row")
        for t, (lab, table) in enumerate(zip(labels, tables, strict=True)):
            if table.ndim != 2 or table.shape[0] != n or table.min() < -1 or table.max() >= n:
                raise ValueError(f"tables[{t}] must be [{n}, L] with entries in -1..{n - 1}")
            if lab.ndim != 2 or (lab.size and lab.max() >= table.shape[1]):
                raise ValueError(f"labels[{t}] must be 2-D with labels below {table.shape[1]}")
        object.__setattr__(self, "accept", accept)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "tables", tables)
        if self.support is not None:
            object.__setattr__(self, "support", _checked_support(self.support, labels, tables))

    @property
    def n_states(self) -> int:
        return len(self.accept)

    @classmethod
    def over_values(cls, start: int, accept: ArrayLike, steps: Sequence[ArrayLike]) -> Automaton:
        """The plain form: steps[t][s, v] is the state after value v of slot t (−1: dead)."""
        return cls(start, np.asarray(accept), tuple(np.arange(np.shape(s)[1])[None] for s in steps),
                   tuple(np.asarray(s) for s in steps))

    def fits(self, chain: Chain) -> None:
        """Raise ValueError unless the label arrays match the chain's slot sizes."""
        before = (1, *chain.sizes[:-1])
        if len(self.labels) != chain.length:
            raise ValueError(f"the automaton reads {len(self.labels)} slots, "
                             f"the chain has {chain.length}")
        for t, lab in enumerate(self.labels):
            if lab.shape[0] not in (1, before[t]) or lab.shape[1] not in (1, chain.sizes[t]):
                raise ValueError(f"labels[{t}] has shape {lab.shape}, which does not "
                                 f"broadcast to {(before[t], chain.sizes[t])}")


def _checked_support(support: Sequence[ArrayLike], labels: tuple[Array, ...],
                     tables: tuple[Array, ...]) -> tuple[Array, ...]:
    out = tuple(np.asarray(sup, dtype=bool) for sup in support)
    if len(out) != len(tables):
        raise ValueError("one support array per slot")
    for t, (sup, lab, table) in enumerate(zip(out, labels, tables, strict=True)):
        if sup.shape != table.shape or lab.shape[0] != 1:
            raise ValueError(f"support[{t}] must have the shape of tables[{t}], and "
                             f"labels[{t}] one row")
        reached = table >= 0
        if not sup[table[reached], np.nonzero(reached)[1]].all():
            raise ValueError(f"support[{t}] leaves out a state that tables[{t}] reaches")
    return out


def _compact(labels: Array) -> Array:
    """Labels in the smallest unsigned type: a bool mask becomes 0/1 without a copy."""
    if labels.dtype == np.bool_:
        return labels.view(np.uint8)
    top = int(labels.max()) if labels.size else 0
    if labels.size and labels.min() < 0:
        raise ValueError("labels must not be negative")
    return labels.astype(np.min_scalar_type(top), copy=False)


def _free(length: int) -> Automaton:
    """The one-state automaton that accepts everything: the chain without non-local rules."""
    return Automaton(0, np.ones(1, bool), (np.zeros((1, 1), np.uint8),) * length,
                     (np.zeros((1, 1), np.intp),) * length)


def product(*automata: Automaton) -> Automaton:
    """One automaton that runs all of them at once (states multiply: keep each small)."""
    if not automata:
        raise ValueError("product() needs at least one automaton")
    out = automata[0]
    for other in automata[1:]:
        out = _product2(out, other)
    return out


def _product2(a: Automaton, b: Automaton) -> Automaton:
    nb = b.n_states
    labels, tables = [], []
    for la, lb, ta, tb in zip(a.labels, b.labels, a.tables, b.tables, strict=True):
        width = tb.shape[1]
        labels.append(la.astype(np.intp) * width + lb)
        ta4, tb4 = ta[:, None, :, None], tb[None, :, None, :]
        both = np.where((ta4 < 0) | (tb4 < 0), -1, ta4 * nb + tb4)
        tables.append(both.reshape(a.n_states * nb, ta.shape[1] * width))
    support = None
    if (a.support is not None or b.support is not None) \
            and all(lab.shape[0] == 1 for lab in labels):
        support = tuple(_support_or_all(a, t)[:, None, :, None]
                        & _support_or_all(b, t)[None, :, None, :]
                        for t in range(len(labels)))
        support = tuple(sup.reshape(tab.shape) for sup, tab in zip(support, tables, strict=True))
    return Automaton(a.start * nb + b.start, np.outer(a.accept, b.accept).ravel(),
                     tuple(labels), tuple(tables), support)


def _support_or_all(aut: Automaton, t: int) -> Array:
    return aut.support[t] if aut.support is not None \
        else np.ones(aut.tables[t].shape, bool)


def run_length_automaton(continues: Sequence[ArrayLike], order: int) -> Automaton:
    """max-order (after Papadopoulos, Roy & Pachet 2014): at most `order` consecutive notes
    copied from the corpus.

    continues[t][i, j] is True when value j of slot t+1 after value i of slot t extends a
    corpus match. The state is the length of the current copied run, 1..order (0 before
    slot 0), so the product grows by order+1 states, not by the corpus size. Judged by
    its transitions, a copy of more than `order` notes can never slip through.
    """
    if order < 1:
        raise ValueError("order must be at least 1")
    n = order + 1
    step = np.empty((n, 2), np.intp)
    step[:, 0] = 1  # the transition leaves the corpus: a new run of one note
    step[:, 1] = np.arange(1, n + 1)  # the run grows by one note
    step[step >= n] = -1
    labels = (np.zeros((1, 1), bool), *(np.asarray(c, dtype=bool) for c in continues))
    return Automaton(0, np.ones(n, bool), labels, (step,) * len(labels))


def change_budget_automaton(differs: Sequence[ArrayLike], max_changes: int,
                            min_changes: int = 0) -> Automaton:
    """A′: a section repeated with between min_changes and max_changes changes.

    differs[t][v] is True when value v of slot t differs from slot t of the model
    section A. The state counts the changes so far, 0..max_changes.
    """
    if not 0 <= min_changes <= max_changes:
        raise ValueError("need 0 <= min_changes <= max_changes")
    n = max_changes + 1
    step = np.stack([np.arange(n), np.arange(1, n + 1)], axis=1)
    step[step >= n] = -1
    labels = tuple(np.asarray(d, dtype=bool)[None, :] for d in differs)
    return Automaton(0, np.arange(n) >= min_changes, labels, (step,) * len(labels))


def single_climax_automaton(heights: Sequence[ArrayLike], climax: int) -> Automaton:
    """A single melodic climax: exactly one slot reaches height `climax`, none goes above.

    The state is whether the climax has been reached. To let the model choose the height
    as well, build one automaton per candidate height h and pick h with probability
    ∝ exp(backward(chain, automaton=...).log_z): the events are disjoint, so that is exact.
    """
    labels = tuple(np.sign(np.asarray(h) - climax).astype(np.intp)[None, :] + 1
                   for h in heights)  # 0 below, 1 at, 2 above the climax
    step = np.array([[0, 1, -1], [1, -1, -1]])
    return Automaton(0, np.array([False, True]), labels, (step,) * len(labels))


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
    aut.fits(chain)
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
                here[np.ix_(states, rows)] = unary[rows] + _log_product(ahead[states],
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
    return _backward(chain, automaton or _free(chain.length), temperature, _logsumexp)


def sample(chain: Chain, rng: np.random.Generator, *, automaton: Automaton | None = None,
           temperature: float = 1.0) -> list[int]:
    """One sequence drawn from P(x) ∝ exp(score(x) / temperature) over valid sequences."""
    msg = backward(chain, automaton=automaton, temperature=temperature)
    return [int(v) for v in msg.draw(rng, 1)[0]]


def best(chain: Chain, *, automaton: Automaton | None = None) -> list[int]:
    """The most probable valid sequence (Viterbi), for deterministic output; ties go to the
    lowest index, slot by slot."""
    msg = _backward(chain, automaton or _free(chain.length), 1.0, _max)
    return [int(v) for v in _forward(msg, lambda scores: scores.argmax(axis=1), 1)[0]]


def feasible(chain: Chain, *, automaton: Automaton | None = None) -> list[Array]:
    """Arc consistency, exact on a chain: [K_t] masks of the values of each slot that
    belong to at least one complete valid sequence. Raises NoSolution when none exists."""
    aut = automaton or _free(chain.length)
    msg = _backward(chain, aut, 1.0, _max)
    return [np.any(r & np.isfinite(b[:-1]), axis=0)
            for r, b in zip(_reachable(chain, aut), msg.beta, strict=True)]
