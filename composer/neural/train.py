"""Training the chorale model (`partimento train`).

Every beat of a training chorale is one example: its four notes, given the beat before,
the beat's plan (chord, key, place) and, voice by voice, the notes already chosen. Each
training chorale is also transposed into every key that keeps its voices in range; the
validation and test chorales are read as written. A share of the examples hides the
previous beat and the beat's place, so that the same network also learns the voicing
of a chord on its own (what scores a piece's first beat, and what ranks a slot's
candidates).

Training is reproducible from its seed: each epoch draws its order and dropout from
(seed, epoch), so a run resumed from its last checkpoint goes on exactly as it would
have.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from composer.errors import PartimentoError, closest
from composer.io.files import atomic_path
from composer.neural.data import (
    SPLIT_RULE,
    TRANSPOSE_SLACK,
    Chorale,
    cache_root,
    corpus_names,
    load_chorales,
    off_grid,
    split_of,
    transpositions,
)
from composer.neural.features import PLACE_VALUES, START, PlanArrays, relative_roles, tokens
from composer.neural.model import FORMAT, Batch, ChoraleNet, ModelConfig, count_parameters
from composer.neural.weights import export
from composer.texture import REST

CARD_FORMAT = "partimento-model"


@dataclass(frozen=True)
class TrainConfig:
    name: str = "chorale"
    epochs: int = 30
    seed: int = 0
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-5
    patience: int = 4  # epochs without a better validation loss before stopping
    hide_previous: float = 0.1  # share of examples that do not see the previous beat
    limit: int | None = None  # the first N chorales of the corpus only (smoke tests)
    model: ModelConfig = field(default_factory=ModelConfig)


@dataclass(frozen=True)
class Report:
    """What the progress display is told: a step (val is None) or an epoch's end."""

    epoch: int
    step: int
    steps: int
    loss: float
    val: float | None = None


@dataclass(frozen=True)
class Result:
    model: ChoraleNet
    card: dict
    paths: tuple[Path, ...]


def model_config(overrides: Sequence[str]) -> ModelConfig:
    """A ModelConfig with `FIELD=VALUE` overrides (as `partimento train --set` takes)."""
    known = {f.name: f.type for f in fields(ModelConfig)}
    values: dict[str, object] = {}
    for item in overrides:
        name, _, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in known or not text:
            raise PartimentoError(f"--set {item}: expected FIELD=VALUE with FIELD one of"
                                  f" {', '.join(known)}{closest(name, list(known))}")
        kind = {"int": int, "float": float}.get(str(known[name]), str)
        try:
            values[name] = kind(text)
        except ValueError:
            wanted = {int: "a whole number", float: "a number"}.get(kind, "text")
            raise PartimentoError(f"--set {item}: {name} takes {wanted}") from None
    try:
        return ModelConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise PartimentoError(f"--set: {exc}") from None


def examples(chorales: Sequence[Chorale], transpose: bool) -> dict[str, np.ndarray]:
    """The arrays of a Batch (numpy), one row per beat and transposition."""
    parts: list[dict[str, np.ndarray]] = []
    for ch in chorales:
        b = ch.beats
        for k in transpositions(ch.grid.midi) if transpose else [0]:
            midi = np.where(b.midi == REST, REST, b.midi.astype(np.int64) + k)
            roles = np.roll(b.roles, k, axis=1)
            tonic = (b.tonic.astype(np.int64) + k) % 12
            # The previous beat, read in this beat's key; the first beat has none.
            prev = tokens(np.roll(midi, 1, axis=0), tonic)
            prev[0] = START
            prev_roles = relative_roles(np.roll(roles, 1, axis=0), tonic)
            prev_roles[0] = 0
            plan = PlanArrays.build(roles, tonic, b.minor, b.beat, b.beats_per_bar,
                                    b.phrase_beat, b.beats_to_cadence, b.fermata, b.cadence)
            parts.append({"prev": prev, "prev_roles": prev_roles,
                          **{f: getattr(plan, f) for f in PlanArrays.__dataclass_fields__},
                          "target": tokens(midi, tonic)})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def to_batch(arrays: dict[str, np.ndarray]) -> Batch:
    plan = PlanArrays(**{f: arrays[f] for f in PlanArrays.__dataclass_fields__})
    return Batch.build(arrays["prev"], arrays["prev_roles"], plan, arrays["target"])


def hide_previous(batch: Batch, mask: torch.Tensor) -> Batch:
    """The batch with the previous beat and the beat's place in bar and phrase hidden
    where mask is True: those rows teach the voicing of a chord on its own."""
    m = mask[:, None]
    place = {f: torch.where(mask, n, getattr(batch, f)) for f, n in PLACE_VALUES.items()}
    return replace(batch, prev=torch.where(m, START, batch.prev),
                   prev_roles=torch.where(m, 0, batch.prev_roles), **place)


@torch.no_grad()
def evaluate(model: ChoraleNet, batch: Batch, size: int = 4096) -> dict[str, float]:
    """Mean NLL per note and share of notes whose most likely value is right."""
    model.eval()
    nll, right = 0.0, 0
    for start in range(0, len(batch), size):
        part = batch.take(torch.arange(start, min(start + size, len(batch))))
        logp = model(part)
        nll -= float(logp.gather(-1, part.target[..., None]).sum())
        right += int((logp.argmax(-1) == part.target).sum())
    notes = 4 * len(batch)
    return {"nll": nll / notes, "accuracy": right / notes}


def _config_json(config: TrainConfig) -> str:
    """The settings a resumed run must share (it may run for more epochs)."""
    return json.dumps({**asdict(config), "epochs": None}, sort_keys=True)


def train(config: TrainConfig, out_dir: Path, *, resume: bool = False, command: str = "",
          runs: Path | None = None, progress: Callable[[Report], None] | None = None,
          loading: Callable[[str], None] | None = None) -> Result:
    """Train, checkpointing every epoch under runs/NAME (by default in the cache), and
    write out_dir/NAME.pt and NAME.json."""
    torch.manual_seed(config.seed)
    names = corpus_names()
    names = names[:config.limit] if config.limit else names
    chorales = load_chorales(names, progress=loading)
    split = {s: [c for c in chorales if c.split == s] for s in ("train", "validation", "test")}
    if config.limit:  # a handful of chorales: validate on what there is
        split = {"train": chorales, "validation": chorales[:1], "test": chorales[:1]}
    data = {s: to_batch(examples(cs, transpose=s == "train")) for s, cs in split.items()}
    model = ChoraleNet(config.model)
    optim = torch.optim.AdamW(model.parameters(), lr=config.lr,
                              weight_decay=config.weight_decay)
    state: dict[str, Any] = {"epoch": 0, "best": float("inf"), "bad": 0, "history": [],
                             "seconds": 0.0}
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoint = (runs or cache_root() / "runs") / config.name / "checkpoint.pt"
    if resume:
        best_state = _restore(checkpoint, config, model, optim, state)
    train_set = data["train"]
    steps = -(-len(train_set) // config.batch)
    while state["epoch"] < config.epochs and state["bad"] < config.patience:
        epoch = state["epoch"] + 1
        started = time.perf_counter()
        torch.manual_seed(config.seed * 100_003 + epoch)
        rng = np.random.default_rng([config.seed, epoch])
        order = torch.as_tensor(rng.permutation(len(train_set)))
        hidden = torch.as_tensor(rng.random(len(train_set)) < config.hide_previous)
        model.train()
        running = 0.0
        for step in range(steps):
            index = order[step * config.batch:(step + 1) * config.batch]
            loss = model.loss(hide_previous(train_set.take(index), hidden[index]))
            optim.zero_grad()
            loss.backward()
            optim.step()
            running = 0.98 * running + 0.02 * float(loss.detach()) if step else float(loss.detach())
            if progress and (step % 20 == 0 or step == steps - 1):
                progress(Report(epoch, step + 1, steps, running))
        val = evaluate(model, data["validation"])["nll"]
        state["seconds"] += time.perf_counter() - started
        state["history"].append({"epoch": epoch, "train": round(running, 4),
                                 "validation": round(val, 4)})
        if val < state["best"] - 1e-4:
            state["best"], state["bad"] = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            state["bad"] += 1
            for group in optim.param_groups:
                group["lr"] *= 0.5
        state["epoch"] = epoch
        _checkpoint(checkpoint, config, model, optim, state, best_state)
        if progress:
            progress(Report(epoch, steps, steps, running, val))
    model.load_state_dict(best_state)
    card = _card(config, model, split, data, state, command, names)
    return Result(model, card, write_model(model, card, out_dir, config.name))


def _checkpoint(path: Path, config: TrainConfig, model: ChoraleNet, optim, state: dict,
                best_state: dict) -> None:
    payload = {"config": _config_json(config), "model": model.state_dict(),
               "optimizer": optim.state_dict(), "best_state": best_state,
               "state": json.dumps(state)}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _restore(path: Path, config: TrainConfig, model: ChoraleNet, optim, state: dict) -> dict:
    if not path.exists():
        raise PartimentoError(f"--resume: no checkpoint of '{config.name}' at {path}")
    payload = torch.load(path, weights_only=True)
    if payload["config"] != _config_json(config):
        raise PartimentoError(f"--resume: the checkpoint at {path} was made with other"
                              " settings; resume with the same options or start afresh")
    model.load_state_dict(payload["model"])
    optim.load_state_dict(payload["optimizer"])
    state.update(json.loads(payload["state"]))
    return payload["best_state"]


def _card(config: TrainConfig, model: ChoraleNet, split: dict[str, list[Chorale]],
          data: dict[str, Batch], state: dict, command: str, names: list[str]) -> dict:
    figures = {s: evaluate(model, data[s]) for s in ("validation", "test")}
    best = min(state["history"], key=lambda h: h["validation"]) if state["history"] else {}
    return {
        "format": CARD_FORMAT,
        "format_version": FORMAT,
        "name": config.name,
        "model": {"class": "composer.neural.model.ChoraleNet",
                  "config": config.model.to_json(),
                  "parameters": count_parameters(model)},
        "data": {
            "source": "music21 corpus: Bach chorales (corpus.chorales.Iterator), each"
                      " file once",
            "chorales": len(names),
            "left_out": off_grid(names),
            "split_rule": SPLIT_RULE if not config.limit else
            f"--limit {config.limit}: the first chorales train, the first one validates",
            "splits": {s: [c.name.removeprefix("bach/") for c in cs]
                       for s, cs in split.items()},
            "transposition": f"training chorales into every key that keeps each voice"
                             f" within its standard range ± {TRANSPOSE_SLACK} semitones;"
                             " validation and test as written",
            "examples": {s: len(b) for s, b in data.items()},
        },
        "training": {
            "command": command, "seed": config.seed, "epochs_run": state["epoch"],
            "best_epoch": best.get("epoch"), "batch": config.batch, "lr": config.lr,
            "weight_decay": config.weight_decay, "patience": config.patience,
            "hide_previous": config.hide_previous, "seconds": round(state["seconds"], 1),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads,"
                       f" torch {torch.__version__}",
            "history": state["history"],
        },
        "figures": {f"{s}_{k}": round(v, 4) for s, f in figures.items() for k, v in f.items()},
    }


def write_model(model: ChoraleNet, card: dict, out_dir: Path, name: str) -> tuple[Path, ...]:
    """NAME.pt (a plain state dict of tensors), NAME.npz (the same arrays, which composing
    reads without torch) and NAME.json (the card), each atomic."""
    weights, card_path = out_dir / f"{name}.pt", out_dir / f"{name}.json"
    old = _read_json(card_path)  # keep the architecture comparison of an earlier card
    card = {**{k: v for k, v in old.items() if k.startswith("tried")}, **card}
    with atomic_path(weights) as tmp:
        torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, tmp)
    exported = export(weights)
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    return weights, exported, card_path


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


__all__ = ["Report", "Result", "TrainConfig", "evaluate", "examples", "split_of", "train",
           "write_model"]
