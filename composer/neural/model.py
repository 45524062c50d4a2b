"""The network: for each voice, a distribution over its note at the next beat.

    p(b | a, plan) = Π_v p(b_v | a, plan, b_<v),   voices in the order S, B, A, T

Each voice's distribution is a product of three experts, each an MLP that sees only
part of the picture (after Hinton's products of experts):

- `prev`: the voice's own note at the previous beat and that beat's chord, once per
  distinct (note, chord) of the a;
- `plan`: the next beat's chord, key and place in bar and phrase, once per chord;
- `within`: the notes already chosen in the same beat (the soprano for the bass,
  soprano and bass for the alto, all three for the tenor), once per b.

Their logits add, and the softmax over the voice's notes is where they meet: a leading
tone that `prev` wants to lift lands where `plan` has a chord tone. Because no term sees
a and b together, the sampler can score every voicing of one slot against every voicing
of the next at once: the numerators are look-ups and each normaliser is one matrix
product, Σ_x exp(prev[a, x]) · exp(plan[b, x] + within[b, x]) (see `pair_log_probs`).
The model card lists the richer mixes that were measured against it: letting `prev` see
the whole previous voicing, or several beats, fitted the training chorales better and
the validation chorales worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from composer.neural.features import (
    PLACE_VALUES,
    ROLE_VALUES,
    START,
    VOCAB,
    WIDTH,
    PlanArrays,
)

FORMAT = 1
VOICES = 4
OUT = WIDTH + 1  # classes per voice: the window's notes and a rest
ORDER = (0, 3, 1, 2)  # voices are chosen soprano, bass, alto, tenor
# What each voice sees of its own beat.
PREFIX = {"none": {}, "outer": {3: (0,), 1: (0, 3), 2: (0, 3)},
          "full": {3: (0,), 1: (0, 3), 2: (0, 3, 1)}}
PLAN_FEATURES = 12 * ROLE_VALUES + 12 + 1 + sum(PLACE_VALUES.values())
KEY_FEATURES = 12 * ROLE_VALUES + 12 + 1  # a chord by pitch class, the tonic, the mode


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 128
    embed: int = 16
    within: str = "full"  # 'none', 'outer' or 'full' (see PREFIX)
    within_hidden: int = 64
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.within not in PREFIX:
            raise ValueError(f"within must be one of {', '.join(PREFIX)}, not {self.within!r}")
        if min(self.hidden, self.embed, self.within_hidden) < 1 or not 0 <= self.dropout < 1:
            raise ValueError("sizes must be at least 1, dropout in [0, 1)")

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    """Tensors for a batch of beats: the previous beat's tokens prev [N, 4] and chord
    prev_roles [N, 12]; the plan's fields [N] (roles [N, 12]); target [N, 4] tokens."""

    prev: torch.Tensor
    prev_roles: torch.Tensor
    roles: torch.Tensor
    tonic: torch.Tensor
    minor: torch.Tensor
    beat: torch.Tensor
    meter: torch.Tensor
    phrase_beat: torch.Tensor
    to_cadence: torch.Tensor
    fermata: torch.Tensor
    cadence: torch.Tensor
    target: torch.Tensor

    @classmethod
    def build(cls, prev: np.ndarray, prev_roles: np.ndarray, plan: PlanArrays,
              target: np.ndarray) -> Batch:
        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.int64)

        return cls(prev=tensor(prev), prev_roles=tensor(prev_roles), target=tensor(target),
                   **{f: tensor(getattr(plan, f)) for f in plan.__dataclass_fields__})

    def take(self, index: torch.Tensor) -> Batch:
        return Batch(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.target)


def _one_hot(x: torch.Tensor, n: int) -> torch.Tensor:
    """[N] → [N, n]; [N, k] → [N, k * n]."""
    return F.one_hot(x, n).flatten(1).float()


def _place(x: torch.Tensor, n: int) -> torch.Tensor:
    """[N] → [N, n] one-hot; the value n (not known) is a row of zeros."""
    return F.one_hot(x, n + 1)[:, :n].float()


def _key(roles: torch.Tensor, tonic: torch.Tensor, minor: torch.Tensor) -> torch.Tensor:
    return torch.cat([_one_hot(roles, ROLE_VALUES), _one_hot(tonic, 12),
                      minor.float()[:, None]], dim=1)


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, n_out))


class ChoraleNet(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = self.config = config
        self.register_buffer("format_version", torch.tensor(FORMAT))
        self.prev_embed = nn.Embedding(VOICES * VOCAB, c.embed)
        self.prev_net = _mlp(c.embed + KEY_FEATURES + VOICES, c.hidden, OUT, c.dropout)
        self.plan_net = _mlp(PLAN_FEATURES, c.hidden, VOICES * OUT, c.dropout)
        self.within_embed = nn.Embedding(VOICES * VOCAB, c.embed)
        self.within_nets = nn.ModuleDict({
            str(v): _mlp(VOICES * c.embed + KEY_FEATURES, c.within_hidden, OUT, c.dropout)
            for v in PREFIX[c.within]})

    def prev_side(self, token: torch.Tensor, voice: torch.Tensor, roles: torch.Tensor,
                  tonic: torch.Tensor, minor: torch.Tensor) -> torch.Tensor:
        """[M, OUT] logits for a voice's next note from its own note at the previous
        beat (START: none known) and the previous beat's chord; all inputs [M]."""
        x = torch.cat([self.prev_embed(voice * VOCAB + token), _key(roles, tonic, minor),
                       _one_hot(voice, VOICES)], dim=1)
        return self.prev_net(x)

    def plan_side(self, b: Batch) -> torch.Tensor:
        """[N, 4, OUT] logits from the next beat's plan."""
        x = torch.cat([_key(b.roles, b.tonic, b.minor),
                       *(_place(getattr(b, f), n) for f, n in PLACE_VALUES.items())], dim=1)
        return self.plan_net(x).reshape(-1, VOICES, OUT)

    def within(self, target: torch.Tensor, roles: torch.Tensor, tonic: torch.Tensor,
               minor: torch.Tensor) -> torch.Tensor:
        """[N, 4, OUT] logits from the notes already chosen in the same beat (zero for
        the soprano, which comes first); rows that share chord, key and those notes are
        computed once."""
        n = len(target)
        out = torch.zeros(n, VOICES, OUT)
        chord = _code([roles[:, k] for k in range(12)], [ROLE_VALUES] * 11)
        for v, seen in PREFIX[self.config.within].items():
            code = _code([chord, tonic, minor, *(target[:, w] for w in seen)],
                         [12, 2, *[VOCAB] * len(seen)])
            _, first, inverse = _unique(code)
            known = torch.zeros(VOICES, dtype=torch.bool)
            known[list(seen)] = True
            tokens = torch.where(known, target[first], START) + torch.arange(VOICES) * VOCAB
            x = torch.cat([self.within_embed(tokens).reshape(len(first), -1),
                           _key(roles[first], tonic[first], minor[first])], dim=1)
            out[:, v] = self.within_nets[str(v)](x)[inverse]
        return out

    def forward(self, b: Batch) -> torch.Tensor:
        """[N, 4, OUT] log-probabilities of each voice's note at each beat."""
        n = len(b)
        each = torch.arange(VOICES).repeat(n)  # row r of prev_side is voice r % 4

        def per_voice(x: torch.Tensor) -> torch.Tensor:
            return x.repeat_interleave(VOICES, 0)

        prev = self.prev_side(b.prev.reshape(-1), each, per_voice(b.prev_roles),
                              per_voice(b.tonic), per_voice(b.minor)).reshape(n, VOICES, OUT)
        logits = prev + self.plan_side(b) + self.within(b.target, b.roles, b.tonic, b.minor)
        return F.log_softmax(logits, -1)

    def loss(self, b: Batch) -> torch.Tensor:
        """Mean negative log-likelihood per note (rests included)."""
        return -self(b).gather(-1, b.target[..., None]).mean()

    def pair_log_probs(self, prev: Sequence[tuple[torch.Tensor, np.ndarray]],
                       after: torch.Tensor, target: torch.Tensor, chord: np.ndarray
                       ) -> torch.Tensor:
        """log p(b_j | a_i, plan) [K1, K2] for every a_i and every b_j of target [K2, 4].

        prev[v] is voice v's prev_side logits once per distinct (note, chord) of the a_i,
        [R_v, OUT], and each a_i's row [K1]; `after` [K2, 4, OUT] holds each b_j's plan
        and within-beat logits; chord [K2] numbers b_j's chord. Voice by voice in the
        order of choice, the sum is kept once per distinct (chord, notes so far), so that
        only the last voice works on all of K2; each normaliser is one matrix product
        between the distinct rows of either side."""
        digits = [torch.as_tensor(chord.astype(np.int64)), *(target[:, v] for v in ORDER)]
        total = torch.zeros(len(prev[0][1]), 1)
        parent = torch.zeros(len(target), dtype=torch.int64)  # each b_j's column of total
        for level, v in enumerate(ORDER):
            logits, rows = prev[v]
            if level < len(ORDER) - 1:
                _, first, inverse = _unique(_code(digits[:level + 2], [VOCAB] * (level + 1)))
            else:  # the last voice: every b_j in its own column, in order
                first = inverse = torch.arange(len(target))
            x = target[first, v]
            log_z, column = self._log_normaliser(logits, after[:, v], target, chord, v)
            terms = torch.index_select(logits, 1, x) - torch.index_select(log_z, 1, column[first])
            terms = torch.index_select(terms, 0, torch.as_tensor(rows))
            terms += after[first, v].gather(1, x[:, None]).T
            terms += torch.index_select(total, 1, parent[first])
            total, parent = terms, inverse
        return total

    def _log_normaliser(self, prev: torch.Tensor, after: torch.Tensor, target: torch.Tensor,
                        chord: np.ndarray, v: int) -> tuple[torch.Tensor, torch.Tensor]:
        """log Σ_x exp(prev[r, x] + after[j, x]) for voice v, for every row r of prev
        and once per distinct (chord, notes seen) of the b_j: [R, distinct], and each
        b_j's column."""
        digits = [torch.as_tensor(chord.astype(np.int64)),
                  *(target[:, w] for w in PREFIX[self.config.within].get(v, ()))]
        _, first, inverse = _unique(_code(digits, [VOCAB] * (len(digits) - 1)))
        top, b = prev.amax(-1, keepdim=True), after[first]
        b_top = b.amax(-1, keepdim=True)
        z = torch.exp(prev - top) @ torch.exp(b - b_top).T
        if bool((z < 1e-30).any()):  # two confident experts that disagree: in float64
            z = (torch.exp((prev - top).double()) @ torch.exp((b - b_top).double()).T
                 ).clamp_min(1e-300)
        return torch.log(z).float() + top + b_top.T, inverse


def _code(digits: Sequence[torch.Tensor], bases: Sequence[int]) -> torch.Tensor:
    """One int64 per row for a tuple of non-negative ints, digit k + 1 below bases[k]
    (the first digit is unbounded)."""
    code = digits[0]
    for d, base in zip(digits[1:], bases, strict=True):
        code = code * base + d
    return code


def _unique(code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct values, the first index of each, and each row's value's index."""
    values, inverse = torch.unique(code, return_inverse=True)
    first = torch.full((len(values),), len(code), dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(len(code)), "amin")
    return values, first, inverse


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["FORMAT", "OUT", "Batch", "ChoraleNet", "ModelConfig", "count_parameters"]
