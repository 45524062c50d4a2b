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
product, Σ_x exp(prev[a, x]) · exp(plan[b, x] + within[b, x]) (see
`net.pair_log_probs`). The model card lists the richer mixes that were measured against
it: letting `prev` see the whole previous voicing, or several beats, fitted the training
chorales better and the validation chorales worse.

This torch module is what `partimento train` fits; composing runs the same network in
numpy (`net`, from the weights `weights` exports), so that it never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from composer.neural.architecture import (
    FORMAT,
    KEY_FEATURES,
    OUT,
    PLAN_FEATURES,
    PREFIX,
    VOICES,
    ModelConfig,
)
from composer.neural.features import PLACE_VALUES, ROLE_VALUES, START, VOCAB, PlanArrays


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
