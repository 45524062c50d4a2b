"""Automata read along a chain: the extra state of a rule that is not local (max-order,
an A′ with few changes, a single climax), so that the sampler's passes run on the
product (slot value × state) and such a rule holds by construction too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[Any]  # shapes and dtypes are given where each is used


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

    def fits(self, sizes: Sequence[int]) -> None:
        """Raise ValueError unless the label arrays match a chain's slot sizes."""
        before = (1, *sizes[:-1])
        if len(self.labels) != len(sizes):
            raise ValueError(f"the automaton reads {len(self.labels)} slots, "
                             f"the chain has {len(sizes)}")
        for t, lab in enumerate(self.labels):
            if lab.shape[0] not in (1, before[t]) or lab.shape[1] not in (1, sizes[t]):
                raise ValueError(f"labels[{t}] has shape {lab.shape}, which does not "
                                 f"broadcast to {(before[t], sizes[t])}")


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


def free(length: int) -> Automaton:
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
        support = tuple(support_or_all(a, t)[:, None, :, None]
                        & support_or_all(b, t)[None, :, None, :]
                        for t in range(len(labels)))
        support = tuple(sup.reshape(tab.shape) for sup, tab in zip(support, tables, strict=True))
    return Automaton(a.start * nb + b.start, np.outer(a.accept, b.accept).ravel(),
                     tuple(labels), tuple(tables), support)


def support_or_all(aut: Automaton, t: int) -> Array:
    return aut.support[t] if aut.support is not None \
        else np.ones(aut.tables[t].shape, bool)


def run_length_automaton(continues: Sequence[ArrayLike], order: int) -> Automaton:
    """max-order: at most `order` consecutive notes
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
