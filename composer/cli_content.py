"""The commands that rebuild the shipped content: `partimento train` (the chorale model)
and `partimento learn-grammar` (the harmony grammar's weights). The command line
(composer/cli.py) registers them; each imports what it needs when it runs (torch, music21's
corpus), so that the other commands start fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from composer.errors import PartimentoError


def train(
    name: Annotated[str, typer.Option(help="writes models/NAME.pt and its card NAME.json")
                    ] = "chorale",
    epochs: Annotated[int, typer.Option(min=1, help="at most this many epochs")] = 30,
    seed: Annotated[int, typer.Option(min=0, help="the same seed trains the same model")] = 0,
    limit: Annotated[int | None, typer.Option(
        min=1, help="train on the first N chorales only (a quick trial)")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="go on from the last epoch's checkpoint of NAME")] = False,
    out: Annotated[Path | None, typer.Option(
        "-o", "--out", help="folder to write to (default: models/)")] = None,
    override: Annotated[list[str] | None, typer.Option(
        "--set", help="a model setting FIELD=VALUE: hidden, embed, within (none, outer,"
                      " full), within_hidden, dropout (repeatable)")] = None,
    threads: Annotated[int, typer.Option(
        min=1, help="CPU threads (the model is small: one is usually fastest)")] = 1,
    surface: Annotated[bool, typer.Option(
        "--surface", help="train the figure network instead (NAME-surface.npz; --set"
                          " hidden, depth, dropout)")] = False,
) -> None:
    """Train the chorale model from music21's Bach chorales, with early stopping on the
    validation chorales; a checkpoint is kept after every epoch. With --surface, train
    the network that scores the figures within each beat."""
    import time

    if out is not None and out.exists() and not out.is_dir():  # before a minute of reading
        raise PartimentoError(f"-o {out}: a file, not a folder: the model and its card are"
                              " written into a folder")
    if surface:
        _train_surface(name, epochs, seed, limit, out, override or [], threads)
        return

    import torch
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from composer.content import content_dir
    from composer.neural.train import TrainConfig, model_config
    from composer.neural.train import train as run_train

    torch.set_num_threads(threads)
    config = TrainConfig(name=name, epochs=epochs, seed=seed, limit=limit,
                         model=model_config(override or ()))
    command = " ".join(["partimento train", f"--name {name}", f"--epochs {epochs}",
                        f"--seed {seed}", *([f"--limit {limit}"] if limit else []),
                        *(f"--set {o}" for o in override or ())])
    err = Console(stderr=True)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[loss]}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("reading the chorales", total=None, loss="")

        def loading(chorale: str) -> None:
            bar.update(task, description=f"reading {chorale}")

        def progress(r) -> None:
            loss = f"loss {r.loss:.3f}"
            bar.update(task, description=f"epoch {r.epoch}/{epochs}", completed=r.step,
                       total=r.steps, loss=loss if r.val is None else f"{loss} · val {r.val:.3f}")
            if r.val is not None:
                bar.console.print(f"epoch {r.epoch}: loss {r.loss:.4f}, validation {r.val:.4f}"
                                  " (nats per note)")

        result = run_train(config, out or content_dir("models"), resume=resume,
                           command=command, progress=progress, loading=loading)
    seconds, figures = time.perf_counter() - started, result.card["figures"]
    typer.echo(f"wrote {', '.join(map(str, result.paths))} in {seconds:.0f} s: validation"
               f" {figures['validation_nll']:.4f}, test {figures['test_nll']:.4f} nats per note")


def _train_surface(name: str, epochs: int, seed: int, limit: int | None, out: Path | None,
                   override: list[str], threads: int) -> None:
    """`partimento train --surface`: the figure network, NAME-surface.npz and its card."""
    import time
    from dataclasses import replace

    import torch

    from composer.content import content_dir
    from composer.neural.surface_train import SurfaceConfig, train_surface

    torch.set_num_threads(threads)
    config = SurfaceConfig(epochs=epochs, seed=seed)
    settings: dict[str, type] = {"hidden": int, "depth": int, "dropout": float}
    for item in override:
        field, _, value = item.partition("=")
        try:
            parsed: Any = settings[field](value)
            config = replace(config, **{field: parsed})
        except (KeyError, ValueError):
            raise PartimentoError(f"--set {item}: the figure network's settings are"
                                  f" {', '.join(f'{k}=NUMBER' for k in settings)}") from None
    command = " ".join(["partimento train --surface", f"--name {name}", f"--epochs {epochs}",
                        f"--seed {seed}", *([f"--limit {limit}"] if limit else []),
                        *(f"--set {o}" for o in override)])
    started = time.perf_counter()

    def progress(epoch: int, loss: float, val: float) -> None:
        typer.echo(f"epoch {epoch}: loss {loss:.4f}, validation {val:.4f} (nats per figure)",
                   err=True)

    paths, card = train_surface(config, out or content_dir("models"), name, command, limit,
                                progress)
    f = card["figures"]
    typer.echo(f"wrote {', '.join(map(str, paths))} in {time.perf_counter() - started:.0f} s:"
               f" validation {f['validation_nll']:.4f} nats per figure (the figure counts"
               f" {f['validation_nll_counts']:.4f}), test {f['test_nll']:.4f}")


def learn_grammar(
    out: Annotated[Path | None, typer.Option(
        "-o", "--out", help="where to write (default: grammars/harmony-weights.json)")] = None,
    chorale: Annotated[list[str] | None, typer.Option(
        "--chorale", help="count only this chorale, e.g. bwv269 (repeatable)")] = None,
    limit: Annotated[int | None, typer.Option(
        min=1, help="count only the first N chorales")] = None,
) -> None:
    """Estimate the harmony grammar's weights from a roman-numeral analysis of the Bach
    chorales in music21's corpus."""
    from rich.console import Console
    from rich.progress import Progress

    from composer.content import content_dir
    from composer.io.files import atomic_path
    from composer.planning.analysis import learn_grammar as learn
    from composer.planning.analysis import select_chorales
    from composer.planning.grammar import WEIGHTS_FILE

    names, command = select_chorales(chorale or (), limit)
    target = out or content_dir("grammars") / WEIGHTS_FILE
    with Progress(console=Console(stderr=True), transient=True,
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("analysing", total=len(names))

        def progress(name: str) -> None:
            bar.update(task, description=name, advance=1)

        doc = learn(names, command, progress)
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise PartimentoError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    counted = doc["counted"]
    typer.echo(f"wrote {target}: {counted['chorales']} chorales, {counted['phrases']} phrases,"
               f" {counted['beats']} beats")
