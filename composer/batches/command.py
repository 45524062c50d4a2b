"""`partimento batch`: the command line's side of a batch (its options, the progress bar,
the summary); composer/cli.py registers it. The work is composer.batches.runner's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from composer.errors import PartimentoError


def batch(
    inputs: Annotated[list[Path], typer.Argument(
        help="spec files (.yaml), melody files (MusicXML, MIDI, ABC: a job per tune) or"
             " folders of them; with --check, the scores to grade")],
    out: Annotated[Path, typer.Option("-o", "--out", help="DIR: writes DIR/NAME.musicxml,"
                                      " .mid, .json per input and DIR/report.csv, .json")],
    spec: Annotated[Path | None, typer.Option(
        "--spec", help="TEMPLATE.yaml for the melody files: its fields kept, the key, meter"
                       " and bars it leaves out read from each tune (default: a spec as a"
                       " musician writes one for the tune)")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="grade the inputs as `partimento check` does (DIR/NAME.check.json)"
    )] = False,
    rules: Annotated[str | None, typer.Option(
        "--rules", "-r", help="with --check: the rule set (default: by the number of"
                              " voices, as check's)")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="worker processes (default: the CPU count); with"
                                    " --ray and no address, the local cluster's CPUs")] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", metavar="ADDRESS", help="run the jobs on a Ray cluster: 'auto' (the one"
        " `ray start` started on this machine), HOST:6379 or ray://HOST:10001, or 'local'"
        " (one started here for this batch); needs pip install 'partimento[ray]'")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="skip the inputs DIR/report.json says are done whose files are"
                         " there with the hashes recorded")] = False,
    seed: Annotated[int | None, typer.Option(min=0, help="override every spec's seed (melodies:"
                                             " default 0)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="as compose's")] = None,
) -> None:
    """Compose (or grade) many inputs at once: exit 0 all done, 1 some failed, 2 bad input.

    A report DIR/report.csv and DIR/report.json has a row per input (composed,
    unsatisfiable with the explanation, bad input with the message, checked with the
    counts; the seconds; the files and their SHA-256), rewritten after every job."""
    # Imported here, as every command's own needs are (composer/cli.py): the other
    # commands start without the pipeline.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from composer.batches.jobs import Settings, find_jobs
    from composer.batches.report import Row
    from composer.batches.runner import run_batch
    from composer.batches.templates import read_template

    if spec is not None and check:
        raise PartimentoError("--spec is for composing; --check grades the inputs as they are")
    if rules is not None and not check:
        raise PartimentoError("--rules is for --check; a spec names its own rules")
    found = find_jobs(inputs, check)
    if not found:
        raise PartimentoError(f"{' '.join(map(str, inputs))}: no input found (specs .yaml,"
                              " melodies .musicxml .xml .mxl .mid .midi .abc)")
    settings = Settings(read_template(spec) if spec else None, seed, model, rules)
    show = sys.stderr.isatty()
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]} failed"),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not show) as bar:
        task = bar.add_task("checking" if check else "composing", total=len(found),
                            failed=0, rate="")

        def progress(row: Row) -> None:
            nonlocal failed
            if row.status not in ("composed", "checked"):
                failed += 1
                bar.console.print(f"{row.input}: {row.status}: {row.detail.splitlines()[0]}"
                                  if row.detail else f"{row.input}: {row.status}",
                                  markup=False, highlight=False)
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, failed=failed, rate=f"{speed * 60:.1f}/min" if speed else "")

        rows = run_batch(found, out, settings, workers=jobs, ray=ray, resume=resume,
                         on_row=None if not show else progress)
    if not show:
        for row in rows:
            if row.status not in ("composed", "checked"):
                failed += 1
                typer.echo(f"partimento: {row.input}: {row.status}: {row.detail}", err=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    typer.echo(f"{len(rows)} inputs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
               + f"; report in {out / 'report.csv'}")
    raise typer.Exit(1 if failed else 0)
