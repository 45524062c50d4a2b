"""The `max-order` rule while composing: a voice's line never copies more than `order`
consecutive notes of a Bach chorale.

The rule (`composer.rules.originality`, `MelodyIndex.copied_runs`) flags every run of
order+1 struck notes whose `order` intervals occur, in that order, in one chorale voice:
a forbidden *pattern*. A voice the chain writes note for note (block notes, one struck
note per slot, a repeated pitch struck again) copies exactly when its chosen pitches
contain a pattern, so the rule is a finite automaton read along the chain: Aho–Corasick
over the patterns, its state the longest suffix of the intervals so far that begins a
pattern, and reading the pattern's last interval breaks the rule.

That automaton over the whole corpus is far too large to carry (order 8: 57,000
patterns, 118,000 states, and up to 300,000 (state, pitch) pairs on one slot of a
chorale). So it is grown where the chain needs it, counterexample by counterexample:

1. carry the automaton of the patterns found so far (none at first), and draw a few
   pieces from the chain conditioned on avoiding them (exact, by the backward pass);
2. the first draw that copies nothing is the answer; otherwise every pattern the draws
   copied joins the automaton, and again.

With few patterns (order 3: 2,758) the automaton holds them all from the start and the
first draw is the answer.

The answer is distributed exactly as the chain conditioned on the whole rule: each round
draws from P(x | x avoids the patterns found), a set of sequences that contains every
sequence the rule allows, and keeps a draw only when it avoids every pattern — on the
sequences kept, that proposal is proportional to P itself, whatever the earlier rounds
learned. Each round adds at least one new pattern, so it ends. With order 8 the first
round (no automaton) nearly always has a draw that copies nothing; orders 4 to 7 need
many rounds and thousands of patterns (order 6: about 13 rounds, minutes).

The automaton is unrolled along the chain: its states after slot t are (pattern prefix,
pitch) pairs that a valid beginning reaches, merged where their futures agree (so every
state that can no longer complete a pattern is one state per pitch). Each state stands
with one pitch, which is the sampler's `support`: its backward pass costs about one plain
pass, however many states there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.corpus import MelodyIndex, default_melody_index
from composer.errors import UnsatisfiableError
from composer.sample.sampler import Automaton, Chain, backward, product
from composer.spec.values import Spec
from composer.texture import Frame

__all__ = ["CopyGuard", "check_given_line", "copy_guards", "copying_automaton",
           "sample_original"]

BATCH = 16  # draws at a time; a round's backward pass is dear, a draw is cheap
ROUND = 256  # draws per round before the automaton grows
MAX_ROUNDS = 100  # a bound that only a rule nearly impossible to keep could reach
WHOLE = 3000  # with at most this many patterns (order 3), carry them all at once

Pattern = tuple[int, ...]


@dataclass(frozen=True, eq=False)
class CopyGuard:
    """One `max-order` use, on a voice whose chain notes are its written notes."""

    voice: str
    order: int
    pitches: tuple[np.ndarray, ...]  # per slot [K_t]: the voice's MIDI pitch in each value
    index: MelodyIndex

    @classmethod
    def of(cls, voice: str, order: int, pitches: Sequence[np.ndarray],
           index: MelodyIndex | None = None) -> CopyGuard:
        return cls(voice, order, tuple(np.asarray(p, np.int64) for p in pitches),
                   index or default_melody_index())

    def copied(self, choice: Sequence[int]) -> set[Pattern]:
        """The patterns (runs of `order` intervals found in the corpus) in a chosen line."""
        midi = [int(self.pitches[t][v]) for t, v in enumerate(choice)]
        steps = tuple(b - a for a, b in zip(midi, midi[1:], strict=False))
        patterns = self.index.grams(self.order + 1)
        return {w for i in range(len(steps) - self.order + 1)
                if (w := steps[i:i + self.order]) in patterns}

    def automaton(self, chain: Chain, forbidden: set[Pattern]) -> Automaton:
        return copying_automaton(self.pitches, pitch_moves(chain, self.pitches), forbidden,
                                 self.order)


def pitch_moves(chain: Chain, pitches: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per slot t, [P_t, P_t+1]: which pitch may follow which (some pair of values allows
    it), over each slot's distinct pitches in rising order."""
    onehot = []
    for p in pitches:
        codes = np.unique(p, return_inverse=True)[1].ravel()
        m = np.zeros((len(p), codes.max() + 1 if len(p) else 0), np.float32)
        m[np.arange(len(p)), codes] = 1
        onehot.append(m)
    out = []
    for t, pair in enumerate(chain.pair):
        ok = (pair if pair.dtype == np.bool_ else pair > -np.inf).astype(np.float32)
        out.append(onehot[t].T @ ok @ onehot[t + 1] > 0)
    return out


def copying_automaton(pitches: Sequence[np.ndarray], moves: Sequence[np.ndarray],
                      forbidden: set[Pattern], order: int) -> Automaton:
    """The automaton, unrolled along the chain, that refuses every run of `order`
    intervals in `forbidden` (each of length `order`) in the line of `pitches`."""
    levels = [np.unique(np.asarray(p), return_inverse=True) for p in pitches]
    heights = [lv[0].astype(np.int64) for lv in levels]
    step = _Matcher(forbidden, order)
    # Forward: the (prefix, pitch) pairs a valid beginning reaches, and the moves between.
    layer: dict[tuple[Pattern, int], int] = {((), c): c for c in range(len(heights[0]))}
    layers, edges = [layer], []
    for t in range(1, len(pitches)):
        nxt: dict[tuple[Pattern, int], int] = {}
        out: list[tuple[int, int, int]] = []
        follow = [np.flatnonzero(row) for row in moves[t - 1]]
        for (u, c), sid in layer.items():
            for c2 in follow[c]:
                v = step(u, int(heights[t][c2] - heights[t - 1][c]))
                if v is not None:
                    out.append((sid, int(c2), nxt.setdefault((v, int(c2)), len(nxt))))
        layer = nxt
        layers.append(layer)
        edges.append(out)
    # Backward: merge the states whose futures agree, drop those with none.
    pitch_of = [np.array([c for (_, c) in lay], np.intp) for lay in layers]
    cls = [np.unique(pitch_of[-1], return_inverse=True)[1].ravel()]
    for t in range(len(pitches) - 2, -1, -1):
        futures: list[list[tuple[int, int]]] = [[] for _ in layers[t]]
        for edge in edges[t]:
            origin, interval, target = (int(x) for x in edge)
            if cls[0][target] >= 0:
                futures[origin].append((interval, int(cls[0][target])))
        ids: dict[tuple, int] = {}
        cls.insert(0, np.array([ids.setdefault((int(c), tuple(f)), len(ids)) if f else -1
                                for c, f in zip(pitch_of[t], futures, strict=True)], np.intp))
    n = max(1, *(int(c.max(initial=-1)) + 1 for c in cls))
    tables, support = [], []
    for t in range(len(pitches)):
        table = np.full((n, len(heights[t])), -1, np.intp)
        if t == 0:
            table[0, pitch_of[0]] = cls[0]
        elif edges[t - 1]:
            e = np.array(edges[t - 1], np.intp)
            src, dst = cls[t - 1][e[:, 0]], cls[t][e[:, 2]]
            keep = (src >= 0) & (dst >= 0)
            table[src[keep], e[keep, 1]] = dst[keep]
        sup = np.zeros_like(table, bool)
        alive = cls[t] >= 0
        sup[cls[t][alive], pitch_of[t][alive]] = True
        tables.append(table)
        support.append(sup)
    labels = tuple(lv[1].reshape(1, -1) for lv in levels)
    return Automaton(0, np.ones(n, bool), labels, tuple(tables), tuple(support))


class _Matcher:
    """Aho–Corasick's move, computed on demand: after the longest suffix u that begins a
    pattern, reading interval d gives the new such suffix, or None when a pattern ends."""

    def __init__(self, forbidden: set[Pattern], order: int) -> None:
        self.forbidden = forbidden
        self.prefixes = {w[:k] for w in forbidden for k in range(order)} | {()}
        self.memo: dict[tuple[Pattern, int], Pattern | None] = {}

    def __call__(self, u: Pattern, d: int) -> Pattern | None:
        key = (u, d)
        if key not in self.memo:
            v: Pattern | None = u + (d,)
            if v in self.forbidden:  # all patterns are as long, so only v itself can be
                v = None
            else:
                while v is not None and v not in self.prefixes:
                    v = v[1:]
            self.memo[key] = v
        return self.memo[key]


def sample_original(chain: Chain, rng: np.random.Generator, guards: Sequence[CopyGuard],
                    *, temperature: float = 1.0, also: Sequence[Automaton] = ()) -> list[int]:
    """One sequence drawn exactly from P(x) ∝ exp(score(x) / temperature) over the valid
    sequences in which no guarded voice copies the corpus (see the module's docstring)
    and which the automata `also` (other non-local rules) accept.

    Raises NoSolution when the chain has no valid sequence at all, UnsatisfiableError
    when every one copies."""
    forbidden: list[set[Pattern]] = [set(g.index.grams(g.order + 1))
                                     if len(g.index.grams(g.order + 1)) <= WHOLE else set()
                                     for g in guards]
    for _ in range(MAX_ROUNDS):
        automata = [g.automaton(chain, f) for g, f in zip(guards, forbidden, strict=True) if f]
        carried = [*automata, *also]
        try:
            msg = backward(chain, automaton=product(*carried) if carried else None,
                           temperature=temperature)
        except UnsatisfiableError:
            if not automata:
                raise
            raise _copies_always(guards) from None
        for _ in range(0, ROUND if guards else 1, BATCH):
            for x in msg.draw(rng, BATCH if guards else 1):
                found = [g.copied(x) for g in guards]
                if not any(found):
                    return [int(v) for v in x]
                for f, more in zip(forbidden, found, strict=True):
                    f |= more
    raise _copies_always(guards)


def copy_guards(spec: Spec, frames: Sequence[Frame]) -> tuple[CopyGuard, ...]:
    """A guard for each hard `max-order` use on a voice the chain writes: its notes are
    the slots' notes, one struck note each (the surface keeps such a voice on its block
    notes). A voice that carries the given melody is judged once, by `check_given_line`."""
    out = []
    for use in spec.hard:
        voice = use.params.get("voice") or ""
        if use.rule.id != "max-order" or voice not in spec.voices \
                or (spec.melody is not None and spec.melody.voice == voice):
            continue
        v = spec.voices.index(voice)
        out.append(CopyGuard.of(voice, int(use.params["order"]),
                                [f.midi[:, v] for f in frames]))
    return tuple(out)


def check_given_line(spec: Spec) -> None:
    """A given melody that itself copies the corpus cannot keep its `max-order` rule."""
    if spec.melody is None:
        return
    for use in spec.hard:
        if use.rule.id == "max-order" and use.params.get("voice") == spec.melody.voice:
            midi = [n.pitch.midi for n in spec.melody.notes if n.pitch is not None]
            for start, length, source in default_melody_index().copied_runs(
                    midi, int(use.params["order"])):
                raise UnsatisfiableError(
                    f"{use.place}rule {use.describe()}: the given melody copies {length}"
                    f" consecutive notes from {source.work} ({source.voice}), from its"
                    f" note {start + 1} on", ("max-order",))


def _copies_always(guards: Sequence[CopyGuard]) -> UnsatisfiableError:
    names = ", ".join(f"max-order ({g.voice}, order {g.order})" for g in guards)
    return UnsatisfiableError(
        f"rule {names}: every line the other rules allow copies more than that many"
        " consecutive notes of a Bach chorale; raise the order or loosen the other rules",
        ("max-order",))
