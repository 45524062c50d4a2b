"""Training the figure network (`partimento train --surface`), in torch.

Every voice of every beat of a training chorale (the model card's split: BWV number
modulo 10 = 2–9) whose figure the vocabulary names is one example: its figure, given the
beats around it and Bach's own figures of the voices above (a share of them hidden, so
that the network also scores a voice under a melody whose figure it cannot name). Early
stopping on the validation chorales; the card reports the validation and test NLL per
figure beside the figure counts of the same training chorales and a uniform choice.
Deterministic from the seed on one thread.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from composer.io.files import atomic_path
from composer.neural.data import SPLIT_RULE, load_chorales, off_grid
from composer.neural.surface_data import SurfaceExamples, figure_counts, surface_examples
from composer.neural.surface_net import CONTEXT, FORMAT, OTHERS, UNKNOWN, offsets
from composer.neural.weights import write_npz
from composer.surface.counts import StatisticalFigureScorer
from composer.surface.figures import NAMES

CARD_FORMAT = "partimento-figure-model"


@dataclass(frozen=True)
class SurfaceConfig:
    hidden: int = 128
    depth: int = 2  # layers after the first (the last gives the logits)
    epochs: int = 30
    seed: int = 0
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-5
    dropout: float = 0.3
    hide_others: float = 0.1  # share of the voices above whose figure is hidden
    patience: int = 3


class SurfaceModule(nn.Module):
    """The network of `surface_net.SurfaceNet`: a sum of table rows, then ReLU layers."""

    def __init__(self, hidden: int, depth: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(sum(n for _, n in CONTEXT + OTHERS), hidden)
        self.bias = nn.Parameter(torch.zeros(hidden))
        sizes = [hidden] * depth + [len(NAMES)]
        self.layers = nn.ModuleList(nn.Linear(a, b)
                                    for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.drop = nn.Dropout(dropout)
        self.shift: torch.Tensor = torch.from_numpy(offsets(CONTEXT + OTHERS))

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        h = self.embed(fields + self.shift).sum(dim=1) + self.bias
        for layer in self.layers:
            h = layer(self.drop(torch.relu(h)))
        return torch.log_softmax(h, dim=-1)


def _fields(ex: SurfaceExamples) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([ex.context, ex.others], axis=1))


@torch.no_grad()
def nll(model: SurfaceModule, ex: SurfaceExamples) -> float:
    """Mean NLL per figure, the voices above as Bach wrote them."""
    model.eval()
    logp = model(_fields(ex))
    return -float(logp.gather(1, torch.from_numpy(ex.target)[:, None]).mean())


def counts_nll(scorer: StatisticalFigureScorer, ex: SurfaceExamples) -> float:
    return -float(scorer.logp[ex.classes][np.arange(len(ex)), ex.target].mean())


def fit(config: SurfaceConfig, train: SurfaceExamples, validation: SurfaceExamples,
        progress: Callable[[int, float, float], None] | None = None
        ) -> tuple[SurfaceModule, list[dict]]:
    """The model of the epoch with the best validation NLL, and each epoch's figures."""
    torch.manual_seed(config.seed)
    model = SurfaceModule(config.hidden, config.depth, config.dropout)
    optim = torch.optim.Adam(model.parameters(), lr=config.lr,
                             weight_decay=config.weight_decay)
    fields, target = _fields(train), torch.from_numpy(train.target)
    above = fields[:, len(CONTEXT):]
    history: list[dict] = []
    best, best_state, waited = float("inf"), None, 0
    for epoch in range(1, config.epochs + 1):
        g = torch.Generator().manual_seed(config.seed * 1000 + epoch)
        order = torch.randperm(len(target), generator=g)
        hide = torch.rand(above.shape, generator=g) < config.hide_others
        seen = torch.cat([fields[:, :len(CONTEXT)], torch.where(hide, UNKNOWN, above)], 1)
        model.train()
        total = 0.0
        for start in range(0, len(order), config.batch):
            rows = order[start:start + config.batch]
            loss = -model(seen[rows]).gather(1, target[rows, None]).mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(rows)
        val = nll(model, validation)
        history.append({"epoch": epoch, "loss": round(total / len(order), 4),
                        "validation": round(val, 4)})
        if progress:
            progress(epoch, total / len(order), val)
        if val < best - 1e-4:
            best, waited = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= config.patience:
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    return model, history


def train_surface(config: SurfaceConfig, out_dir: Path, name: str = "chorale",
                  command: str = "", limit: int | None = None,
                  progress: Callable[[int, float, float], None] | None = None
                  ) -> tuple[tuple[Path, Path], dict]:
    """Train, and write NAME-surface.npz and its card NAME-surface.json."""
    started = time.perf_counter()
    chorales = load_chorales()[:limit] if limit else load_chorales()
    split = {s: [c for c in chorales if c.split == s] for s in ("train", "validation", "test")}
    if limit:  # a quick trial: the first chorales train, the first one validates and tests
        split = {"train": chorales[1:], "validation": chorales[:1], "test": chorales[:1]}
    data = {s: surface_examples(cs) for s, cs in split.items()}
    model, history = fit(config, data["train"], data["validation"], progress)
    counted = StatisticalFigureScorer.from_counts(figure_counts(split["train"]))
    figures = {
        **{f"{s}_nll": round(nll(model, data[s]), 4) for s in ("validation", "test")},
        **{f"{s}_nll_counts": round(counts_nll(counted, data[s]), 4)
           for s in ("validation", "test")},
        "uniform_nll": round(float(np.log(len(NAMES))), 4),
    }
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    card = {
        "format": CARD_FORMAT, "format_version": FORMAT, "name": f"{name}-surface",
        "model": {"class": "composer.neural.surface_train.SurfaceModule",
                  "config": {"hidden": config.hidden, "depth": config.depth},
                  "parameters": int(sum(v.size for v in state.values())),
                  "figures": list(NAMES), "inputs": [f for f, _ in CONTEXT + OTHERS]},
        "data": {"source": "music21 corpus: Bach chorales with quarter-note beats",
                 "split_rule": SPLIT_RULE if not limit else f"--limit {limit}",
                 "chorales": {s: len(cs) for s, cs in split.items()},
                 "left_out": off_grid(),
                 "examples": {s: len(e) for s, e in data.items()}},
        "training": {"command": command, **asdict(config),
                     "seconds": round(time.perf_counter() - started, 1),
                     "machine": f"{platform.machine()}, {torch.get_num_threads()} threads,"
                                f" torch {torch.__version__}", "history": history},
        "figures": figures,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    weights, card_path = out_dir / f"{name}-surface.npz", out_dir / f"{name}-surface.json"
    old = _read_json(card_path)  # keep the sizes measured against it
    card = {**{k: v for k, v in old.items() if k.startswith("tried")}, **card}
    write_npz({**state, "figures": np.array(NAMES)}, weights, "")
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    return (weights, card_path), card


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


__all__ = ["SurfaceConfig", "SurfaceModule", "counts_nll", "fit", "nll", "train_surface"]
