"""The network: for each voice, a distribution over its note at the next beat.

    p(b | a, plan) = Π_v p(b_v | a, plan, b_<v),   voices in the order S, B, A, T

Each voice's distribution is a product of three experts, each an MLP that sees only
part of the picture (after Hinton's products of experts):

- `prev`: the previous beat a (its four notes and its chord), once per a;
- `plan`: the next beat's chord, key and place in bar and phrase, once per chord;
- `within`: the notes already chosen in the same beat (the soprano for the bass,
  soprano and bass for the alto, all three for the tenor), once per b.

Their logits add, and the softmax over the voice's notes is where they meet: a leading
tone that `prev` wants to lift lands where `plan` has a chord tone. Because no term sees
a and b together, the sampler can score every voicing of one slot against every voicing
of the next at once: the numerators are look-ups and each normaliser is one matrix
product, Σ_x exp(prev[a, x]) · exp(plan[b, x] + within[b, x]) (see `pair_log_probs`).
The model card lists the richer mixes that were measured against it.
"""

from __future__ import annotations

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
    context: int = 1  # previous beats seen; the sampler is Markov and needs 1
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.within not in PREFIX:
            raise ValueError(f"within must be one of {', '.join(PREFIX)}, not {self.within!r}")
        if min(self.hidden, self.embed, self.within_hidden, self.context) < 1 \
                or not 0 <= self.dropout < 1:
            raise ValueError("sizes and context must be at least 1, dropout in [0, 1)")

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Batch:
    """Tensors for a batch of beats: prev [N, context, 4] tokens and prev_roles
    [N, context, 12]; the plan's fields [N] (roles [N, 12]); target [N, 4] tokens."""

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
        self.prev_embed = nn.Embedding(c.context * VOICES * VOCAB, c.embed)
        self.prev_net = _mlp(c.context * (VOICES * c.embed + 12 * ROLE_VALUES) + 13,
                             c.hidden, VOICES * OUT, c.dropout)
        self.plan_net = _mlp(PLAN_FEATURES, c.hidden, VOICES * OUT, c.dropout)
        self.within_embed = nn.Embedding(VOICES * VOCAB, c.embed)
        self.within_nets = nn.ModuleDict({
            str(v): _mlp(VOICES * c.embed + KEY_FEATURES, c.within_hidden, OUT, c.dropout)
            for v in PREFIX[c.within]})

    def prev_side(self, prev: torch.Tensor, prev_roles: torch.Tensor, tonic: torch.Tensor,
                  minor: torch.Tensor) -> torch.Tensor:
        """[N, 4, OUT] logits from the previous beat(s) (START tokens: none known)."""
        c, n = self.config, len(prev)
        offsets = torch.arange(c.context * VOICES) * VOCAB
        emb = self.prev_embed(prev.reshape(n, -1) + offsets).reshape(n, -1)
        x = torch.cat([emb, _one_hot(prev_roles.reshape(n, -1), ROLE_VALUES),
                       _one_hot(tonic, 12), minor.float()[:, None]], dim=1)
        return self.prev_net(x).reshape(n, VOICES, OUT)

    def plan_side(self, b: Batch) -> torch.Tensor:
        """[N, 4, OUT] logits from the next beat's plan."""
        x = torch.cat([_key(b.roles, b.tonic, b.minor),
                       *(_place(getattr(b, f), n) for f, n in PLACE_VALUES.items())], dim=1)
        return self.plan_net(x).reshape(-1, VOICES, OUT)

    def within(self, target: torch.Tensor, roles: torch.Tensor, tonic: torch.Tensor,
               minor: torch.Tensor) -> torch.Tensor:
        """[N, 4, OUT] logits from the notes already chosen in the same beat (zero for
        the soprano, which comes first)."""
        n = len(target)
        out = torch.zeros(n, VOICES, OUT)
        key = _key(roles, tonic, minor)
        offsets = torch.arange(VOICES) * VOCAB
        for v, seen in PREFIX[self.config.within].items():
            known = torch.zeros(VOICES, dtype=torch.bool)
            known[list(seen)] = True
            tokens = torch.where(known, target, START) + offsets
            x = torch.cat([self.within_embed(tokens).reshape(n, -1), key], dim=1)
            out[:, v] = self.within_nets[str(v)](x)
        return out

    def forward(self, b: Batch) -> torch.Tensor:
        """[N, 4, OUT] log-probabilities of each voice's note at each beat."""
        logits = self.prev_side(b.prev, b.prev_roles, b.tonic, b.minor) + self.plan_side(b) \
            + self.within(b.target, b.roles, b.tonic, b.minor)
        return F.log_softmax(logits, -1)

    def loss(self, b: Batch) -> torch.Tensor:
        """Mean negative log-likelihood per note (rests included)."""
        return -self(b).gather(-1, b.target[..., None]).mean()

    def pair_log_probs(self, prev: torch.Tensor, after: torch.Tensor, target: torch.Tensor,
                       chord: np.ndarray) -> torch.Tensor:
        """log p(b_j | a_i, plan) [K1, K2] for every a_i of prev_side logits [K1, 4, OUT]
        and every b_j of target [K2, 4], whose plan_side + within logits are `after`
        [K2, 4, OUT]; chord [K2] numbers b_j's chord.

        Voice by voice in the order of choice, the sum is kept once per distinct (chord,
        notes so far), so that only the last voice works on all of K2; each voice's
        normaliser is one matrix product per distinct (chord, notes the voice sees)."""
        digits = [chord.astype(np.int64), *(target[:, v].numpy() for v in ORDER)]
        total = torch.zeros(len(prev), 1)
        parent = np.zeros(len(target), np.int64)  # each b_j's row of `total`
        for level, v in enumerate(ORDER):
            _, first, inverse = np.unique(_code(digits[:level + 2]), return_index=True,
                                          return_inverse=True)
            x = target[first, v]
            log_z, row = self._log_normaliser(prev[:, v], after[:, v], target, chord, v)
            terms = torch.index_select(prev[:, v], 1, x) \
                - torch.index_select(log_z, 1, torch.as_tensor(row[first])) \
                + after[first, v].gather(1, x[:, None]).T
            total = torch.index_select(total, 1, torch.as_tensor(parent[first])) + terms
            parent = inverse.reshape(-1)
        return torch.index_select(total, 1, torch.as_tensor(parent))

    def _log_normaliser(self, prev: torch.Tensor, after: torch.Tensor, target: torch.Tensor,
                        chord: np.ndarray, v: int) -> tuple[torch.Tensor, np.ndarray]:
        """log Σ_x exp(prev[i, x] + after[j, x]) for voice v, once per distinct (chord,
        notes seen): [K1, distinct], and each b_j's column."""
        digits = [chord.astype(np.int64), *(target[:, w].numpy()
                                            for w in PREFIX[self.config.within].get(v, ()))]
        _, first, inverse = np.unique(_code(digits), return_index=True, return_inverse=True)
        top, b = prev.amax(-1, keepdim=True), after[torch.as_tensor(first)]
        b_top = b.amax(-1, keepdim=True)
        z = torch.exp(prev - top) @ torch.exp(b - b_top).T
        if bool((z < 1e-30).any()):  # two confident experts that disagree: in float64
            z = (torch.exp((prev - top).double()) @ torch.exp((b - b_top).double()).T
                 ).clamp_min(1e-300)
        return torch.log(z).float() + top + b_top.T, inverse.reshape(-1)


def _code(digits: list[np.ndarray]) -> np.ndarray:
    """One int64 per row for a tuple of small non-negative ints (each below VOCAB)."""
    code = np.zeros_like(digits[0])
    for d in digits:
        code = code * VOCAB + d
    return code


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["FORMAT", "OUT", "Batch", "ChoraleNet", "ModelConfig", "count_parameters"]
