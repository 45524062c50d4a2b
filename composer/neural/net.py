"""The network of `model.ChoraleNet`, run in numpy: what composing uses, so that it never
imports torch (torch is needed to train only).

The same three experts (see `model`): each is Linear, ReLU, Linear, and its inputs are
an embedding and one-hot codes, so the first layer is folded into look-up tables once,
when the weights are loaded — an embedding row times the layer is a row of a table,
and a one-hot code times it is a column of the weight — and a forward pass is a few
gathers and one matrix product per expert. Inputs are the integer arrays of `features`,
as for the torch model; outputs are float32 logits, equal to torch's within rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from composer.neural.architecture import (
    ORDER,
    OUT,
    PREFIX,
    VOICES,
    ModelConfig,
)
from composer.neural.features import PLACE_VALUES, ROLE_VALUES, START, VOCAB, PlanArrays


@dataclass(frozen=True, eq=False)
class _Expert:
    """An MLP whose first layer reads categorical inputs: `tables[f][value]` is field
    f's contribution to the hidden units, so the hidden layer is a sum of rows."""

    tables: tuple[np.ndarray, ...]  # per field, [values, hidden] float32
    bias: np.ndarray  # [hidden]
    out_weight: np.ndarray  # [hidden, out]
    out_bias: np.ndarray  # [out]

    def __call__(self, fields: Sequence[np.ndarray]) -> np.ndarray:
        """fields[f] [N] (or [N, k]: k inputs through one table, e.g. the twelve roles,
        stacked) → [N, out] logits."""
        n = len(fields[0])
        hidden = self.bias
        for table, index in zip(self.tables, fields, strict=True):
            if index.ndim == 1:
                part = table[index]
            else:  # several inputs: as one-hot rows, one matrix product
                hot = np.zeros((n, len(table)), np.float32)
                hot[np.arange(n)[:, None], index] = 1
                part = hot @ table
            if hidden is self.bias:  # the first part is a new array: add the rest to it
                hidden = part
                hidden += self.bias
            else:
                hidden += part
        np.maximum(hidden, 0, out=hidden)
        return hidden @ self.out_weight + self.out_bias


def _expert(weights: Mapping[str, np.ndarray], name: str, parts: Sequence[np.ndarray]
            ) -> _Expert:
    """Fold `name`'s first layer into one table per part; parts[i] maps each of its
    values to the inputs it stands for ([values, width]: an embedding, or an identity
    for a one-hot code), in the order of the layer's inputs."""
    w = weights[f"{name}.0.weight"].astype(np.float64).T  # [inputs, hidden]
    tables, start = [], 0
    for part in parts:
        width = part.shape[1]
        tables.append((part.astype(np.float64) @ w[start:start + width]).astype(np.float32))
        start += width
    if start != len(w):
        raise ValueError(f"{name}: {len(w)} inputs, the parts give {start}")
    return _Expert(tuple(tables), weights[f"{name}.0.bias"].astype(np.float32),
                   np.ascontiguousarray(weights[f"{name}.3.weight"].astype(np.float32).T),
                   weights[f"{name}.3.bias"].astype(np.float32))


def _one_hot(n: int, zero_row: bool = False) -> np.ndarray:
    """The rows of an n-way one-hot code (and, with zero_row, the value n as zeros)."""
    return np.eye(n + zero_row, n, dtype=np.float32)


def _roles_part() -> np.ndarray:
    """The twelve role codes through one table: value 5 k + r is pitch class k in role r."""
    return _one_hot(12 * ROLE_VALUES)


def _key_parts() -> list[np.ndarray]:
    return [_roles_part(), _one_hot(12), np.array([[0.0], [1.0]], np.float32)]


def _roles_index(roles: np.ndarray) -> np.ndarray:
    """[N, 12] role codes → [N, 12] rows of `_roles_part`."""
    return np.arange(12) * ROLE_VALUES + roles


@dataclass(frozen=True, eq=False)
class Net:
    """`model.ChoraleNet` in inference, its first layers folded into tables."""

    config: ModelConfig
    prev: _Expert  # the voice's own previous note and the previous chord
    plan: _Expert  # the beat's chord, key and place
    within: dict[int, _Expert]  # per voice after the soprano: the notes chosen before it

    @classmethod
    def from_weights(cls, config: ModelConfig, weights: Mapping[str, np.ndarray]) -> Net:
        """From a state dict's arrays (see `architecture.weight_shapes`)."""
        places = [_one_hot(n, zero_row=True) for n in PLACE_VALUES.values()]
        # The four voices' notes, each through the one embedding into its own columns.
        notes = [weights["within_embed.weight"]] * VOICES
        within = {v: _expert(weights, f"within_nets.{v}", [*notes, *_key_parts()])
                  for v in PREFIX[config.within]}
        return cls(config,
                   _expert(weights, "prev_net", [weights["prev_embed.weight"], *_key_parts(),
                                                 _one_hot(VOICES)]),
                   _expert(weights, "plan_net", [*_key_parts(), *places]),
                   within)

    # The three experts ---------------------------------------------------------------

    def prev_side(self, token: np.ndarray, voice: np.ndarray, roles: np.ndarray,
                  tonic: np.ndarray, minor: np.ndarray) -> np.ndarray:
        """[M, OUT] logits for a voice's next note from its own note at the previous
        beat (START: none known) and the previous beat's chord; inputs [M] (roles
        [M, 12])."""
        return self.prev([voice * VOCAB + token, _roles_index(roles), tonic, minor, voice])

    def plan_side(self, plan: PlanArrays) -> np.ndarray:
        """[N, 4, OUT] logits from each beat's plan."""
        return self.plan([_roles_index(plan.roles), plan.tonic, plan.minor,
                          *(getattr(plan, f) for f in PLACE_VALUES)]).reshape(-1, VOICES, OUT)

    def within_beat(self, target: np.ndarray, roles: np.ndarray, tonic: np.ndarray,
                    minor: np.ndarray) -> np.ndarray:
        """[N, 4, OUT] logits from the notes already chosen in the same beat (zero for
        the soprano, which comes first); rows that share chord, key and those notes are
        computed once."""
        out = np.zeros((len(target), VOICES, OUT), np.float32)
        chord = _code([roles[:, k] for k in range(12)], [ROLE_VALUES] * 11)
        for v, seen in PREFIX[self.config.within].items():
            code = _code([chord, tonic, minor, *(target[:, w] for w in seen)],
                         [12, 2, *[VOCAB] * len(seen)])
            _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
            notes = np.full((len(first), VOICES), START)
            notes[:, seen] = target[first][:, seen]
            notes += np.arange(VOICES) * VOCAB
            out[:, v] = self.within[v]([*notes.T, _roles_index(roles[first]), tonic[first],
                                        minor[first]])[inverse.reshape(-1)]
        return out

    # What the scorer asks --------------------------------------------------------------

    def log_probs(self, prev: np.ndarray, prev_roles: np.ndarray, plan: PlanArrays,
                  target: np.ndarray) -> np.ndarray:
        """float32 [N, 4, OUT]: log-probabilities of each voice's note at each beat,
        given the previous beat's tokens prev [N, 4] and chord prev_roles [N, 12], the
        beat's plan and the notes target [N, 4] (the voices before each): the torch
        model's forward."""
        n = len(target)
        voice = np.tile(np.arange(VOICES), n)
        logits = self.prev_side(prev.reshape(-1), voice, np.repeat(prev_roles, VOICES, 0),
                                np.repeat(plan.tonic, VOICES), np.repeat(plan.minor, VOICES)
                                ).reshape(n, VOICES, OUT)
        logits += self.plan_side(plan) + self.within_beat(target, plan.roles, plan.tonic,
                                                          plan.minor)
        top = logits.max(-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))

    def previous(self, notes: np.ndarray, roles: np.ndarray, tonic: int, minor: int
                 ) -> list[Previous]:
        """Per voice, the prev_side logits of previous beats with tokens notes [K1, 4]
        and chords roles [K1, 12] (relative to the tonic), once per distinct (note,
        chord)."""
        _, chord = np.unique(roles @ (ROLE_VALUES ** np.arange(12)), return_inverse=True)
        picks, rows = [], []
        for v in range(VOICES):
            _, first, row = np.unique(notes[:, v] * len(notes) + chord.reshape(-1),
                                      return_index=True, return_inverse=True)
            picks.append(first)
            rows.append(row.reshape(-1))
        pick = np.concatenate(picks)
        voice = np.repeat(np.arange(VOICES), [len(p) for p in picks])
        logits = self.prev_side(notes[pick, voice], voice, roles[pick], np.full(len(pick), tonic),
                                np.full(len(pick), minor))
        out = []
        for part, row in zip(np.split(logits, np.cumsum([len(p) for p in picks])[:-1]), rows,
                             strict=True):
            top = part.max(-1, keepdims=True)
            out.append(Previous(part, row, top, np.exp(part - top)))
        return out

    def groups(self, target: np.ndarray, chord: np.ndarray) -> Groups:
        """How the voicings target [K2, 4] (their chords numbered chord [K2]) share
        work in `pair_log_probs`: it depends on the voicings alone."""
        digits = [chord.astype(np.int64), *(target[:, v] for v in ORDER)]
        levels, parent = [], np.zeros(len(target), np.int64)
        # Groupings by (chord, some voices' notes), by those voices: a voice's normaliser
        # mostly groups as the level before it did (the notes chosen before it).
        known: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        for level, v in enumerate(ORDER):
            if level < len(ORDER) - 1:
                first, inverse = known[ORDER[:level + 1]] = _groups(
                    _code(digits[:level + 2], [VOCAB] * (level + 1)))
            else:  # the last voice: every voicing in its own column, in order
                first = inverse = np.arange(len(target))
            voices = tuple(PREFIX[self.config.within].get(v, ()))
            if (norm := known.get(voices)) is None:
                seen = [chord.astype(np.int64), *(target[:, w] for w in voices)]
                norm = known[voices] = _groups(_code(seen, [VOCAB] * (len(seen) - 1)))
            norm_first, norm_inverse = norm
            levels.append(_Level(v, first, target[first, v], parent[first], norm_first,
                                 norm_inverse[first]))
            parent = inverse
        return Groups(tuple(levels))

    def pair_log_probs(self, prev: Sequence[Previous], after: np.ndarray, groups: Groups
                       ) -> np.ndarray:
        """float32 log p(b_j | a_i, plan) [K1, K2] for every previous beat a_i of prev
        (see `previous`) and every voicing b_j of groups (see `groups`).

        `after` [K2, 4, OUT] holds each b_j's plan and within-beat logits. Voice by voice
        in the order of choice, the sum is kept once per distinct (chord, notes so far),
        so that only the last voice works on all of K2; each normaliser is one matrix
        product between the distinct rows of either side."""
        total = None  # the sum so far, [K1, distinct (chord, notes so far)]
        for g in groups.levels:
            p, x = prev[g.voice], g.note
            log_z = _log_normaliser(p, after[g.norm_first, g.voice])
            # Voice v's term once per row of prev, then for every a_i (the sum so far
            # taken first: one new [K1, distinct] array, the rest added in place).
            terms = p.logits[:, x] - log_z[:, g.norm] + after[g.first, g.voice, x]
            if total is None:
                total = np.take(terms, p.rows, axis=0)
            else:
                total = np.take(total, g.parent, axis=1)
                total += np.take(terms, p.rows, axis=0)
        assert total is not None
        return total


@dataclass(frozen=True, eq=False)
class Previous:
    """One voice's prev_side logits once per distinct (note, chord) of the previous
    beats, and each beat's row."""

    logits: np.ndarray  # float32 [R, OUT]
    rows: np.ndarray  # [K1]
    top: np.ndarray  # [R, 1]: each row's largest logit
    scaled: np.ndarray  # float32 [R, OUT]: exp(logits - top)


@dataclass(frozen=True, eq=False)
class _Level:
    """One voice of `Groups`: its voicings grouped by (chord, notes up to this voice)."""

    voice: int
    first: np.ndarray  # [G]: the first voicing of each group
    note: np.ndarray  # [G]: the voice's note in it
    parent: np.ndarray  # [G]: its group at the level before
    norm_first: np.ndarray  # [D]: the first voicing of each (chord, notes the voice sees)
    norm: np.ndarray  # [G]: each group's normaliser among those


@dataclass(frozen=True, eq=False)
class Groups:
    """The voicings of a beat grouped, voice by voice in the order of choice, as
    `pair_log_probs` needs them."""

    levels: tuple[_Level, ...]


def _log_normaliser(prev: Previous, after: np.ndarray) -> np.ndarray:
    """log Σ_x exp(prev[r, x] + after[d, x]) for every row r of prev and every row d
    of after: [R, D]."""
    top = after.max(-1, keepdims=True)
    scaled = np.exp(after - top)
    z = prev.scaled @ scaled.T
    if z.min() < 1e-30:  # two confident experts that disagree: in float64
        z = np.maximum(prev.scaled.astype(np.float64) @ scaled.astype(np.float64).T, 1e-300)
    log_z = np.log(z).astype(np.float32)
    log_z += prev.top
    log_z += top.T
    return log_z


def _groups(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct value of code, and each row's value's number."""
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS on one thread while the network runs: its matrices are small, and BLAS's
    helper threads, spinning on the other core after each product, slow everything else
    down (composing took twice as long with them on two busy cores). The libraries'
    own calls, a third of the time of threadpoolctl's `limit` (a piece asks some 150
    times)."""
    libraries = _blas()
    before = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, threads in zip(libraries, before, strict=True):
            lib.set_num_threads(threads)


@lru_cache(maxsize=1)
def _blas() -> tuple:
    # lazy: only the numpy forward pass pins BLAS threads
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


def _code(digits: Sequence[np.ndarray], bases: Sequence[int]) -> np.ndarray:
    """One int64 per row for a tuple of non-negative ints, digit k + 1 below bases[k]
    (the first digit is unbounded)."""
    code = np.asarray(digits[0], np.int64)
    for d, base in zip(digits[1:], bases, strict=True):
        code = code * base + d
    return code


__all__ = ["Groups", "Net", "Previous", "one_thread"]
