"""Running a batch: the jobs go to worker processes of this machine (each loads the model
and the grammars once) or to a Ray cluster's nodes; the driver alone writes the files and
the report, after every finished job, so that Ctrl-C or a kill loses nothing finished."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from composer.batches.jobs import Job, Outcome, Settings, run_job, warm
from composer.batches.report import (
    Row,
    input_hash,
    is_done,
    place,
    read_report,
    sweep,
    write_report,
)
from composer.errors import PartimentoError

Progress = Callable[[Row], None]
LOCAL = "local"  # --ray without an address: a Ray cluster of this machine, started here


def run_batch(jobs: list[Job], out: Path, settings: Settings, *, workers: int | None = None,
              ray: str | None = None, resume: bool = False,
              on_row: Progress | None = None) -> list[Row]:
    """Do every job, writing its files into `out` and a row of the report for it; the
    rows in the order of the jobs. `ray`: a Ray cluster's address, or LOCAL."""
    if out.exists() and not out.is_dir():
        raise PartimentoError(f"{out}: a file, not a folder: the batch writes each input's"
                              " files and its report into a folder (give a new name, or"
                              " an existing folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PartimentoError(f"{out}: cannot make the output folder ({exc.strerror})"
                              ) from None
    sweep(out, {j.name for j in jobs})
    described = _described(settings)
    kept: dict[str, Row] = {}
    if resume:
        before, rows = read_report(out)
        if rows and before != described:
            raise PartimentoError(f"{out / 'report.json'}: made with other settings"
                                  f" ({before}); resume with those, or write to another"
                                  " folder")
        given = {j.label: j.path for j in jobs}
        kept = {r.input: r for r in rows if r.input in given
                and is_done(r, out, given[r.input])}
    done = dict(kept)
    todo = [j for j in jobs if j.label not in kept]
    order = {j.label: k for k, j in enumerate(jobs)}

    def report() -> None:
        write_report(out, sorted(done.values(), key=lambda r: order[r.input]), described)

    report()
    for row in kept.values():
        if on_row is not None:
            on_row(row)
    outcomes = _on_ray(todo, settings, ray, workers) if ray is not None \
        else _on_processes(todo, settings, workers or os.cpu_count() or 1)
    for job, outcome in outcomes:
        files = place(out, job.name, outcome.files)
        row = Row(job.label, job.name, outcome.status, outcome.detail,
                  round(outcome.seconds, 3), input_hash(job.path), files, outcome.errors,
                  outcome.warnings)
        done[job.label] = row
        report()
        if on_row is not None:
            on_row(row)
    return [done[j.label] for j in jobs]


def _described(settings: Settings) -> dict[str, Any]:
    """The settings as the report keeps them (JSON's own types)."""
    import json

    return dict(json.loads(json.dumps(asdict(settings))))


def _start_worker(settings: Settings) -> None:
    """A worker leaves Ctrl-C to the driver (which stops it) and loads what every job
    needs once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm(settings)


def _on_processes(todo: list[Job], settings: Settings, workers: int
                  ) -> Iterator[tuple[Job, Outcome]]:
    """Each job's outcome as it finishes, from `workers` processes of this machine."""
    if not todo:
        return
    if workers == 1:  # no process to start: the same function, here
        warm(settings)
        for job in todo:
            yield job, run_job(job, settings)
        return
    # fork: a worker starts in a moment with what the driver has imported; every worker
    # is started at the first submit, before any thread of the progress bar exists.
    pool = ProcessPoolExecutor(min(workers, len(todo)), multiprocessing.get_context("fork"),
                               initializer=_start_worker, initargs=(settings,))
    pending: dict[Future[Outcome], Job] = {}
    try:
        with _interrupts() as interrupted:
            pending = {pool.submit(run_job, j, settings): j for j in todo}
            while pending:
                finished, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
                if interrupted.is_set():
                    raise KeyboardInterrupt
                for future in sorted(finished, key=lambda f: pending[f].label):
                    yield pending.pop(future), future.result()
    finally:
        if pending:  # Ctrl-C, or the caller stopped early: no worker goes on
            for p in list((getattr(pool, "_processes", None) or {}).values()):
                p.terminate()
        # The pool's own thread is waited for here, in one call (a first call without
        # waiting lets go of it, and a second finds nothing to wait for): left running
        # to the interpreter's exit, it could close its pipe while the exit wakes it, and
        # "OSError: Bad file descriptor" was printed after the batch's summary.
        pool.shutdown(wait=True, cancel_futures=True)


POLL = 0.25  # seconds between the driver's looks at Ctrl-C while its workers compose


@contextmanager
def _interrupts() -> Iterator[threading.Event]:
    """Ctrl-C as a flag that the driver's loop reads between results, and raises from
    there. Raised wherever the driver's main thread happened to be, a KeyboardInterrupt
    could be lost on the way (in the test suite a batch, interrupted after its first
    result, ran on to its end and exited 0 in some runs). Off the main thread, where no
    handler can be set, Ctrl-C is left as it is."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    before = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, before)


def _on_ray(todo: list[Job], settings: Settings, address: str, workers: int | None
            ) -> Iterator[tuple[Job, Outcome]]:
    """Each job's outcome as it finishes, from the tasks of a Ray cluster (an existing
    one at `address`, or LOCAL: one started here with `workers` CPUs)."""
    try:
        import ray  # an optional extra: only --ray needs it
    except ImportError:
        raise PartimentoError("--ray needs Ray, which is not installed: pip install"
                              " 'partimento[ray]' (or pip install 'ray==2.60.0')") from None
    if not todo:
        return
    if address == LOCAL:
        ray.init(address="local", num_cpus=workers or os.cpu_count(), log_to_driver=False,
                 include_dashboard=False)
    else:
        ray.init(address=address, log_to_driver=False)
    pending: list[Any] = []
    try:
        task = ray.remote(num_cpus=1)(ray_job)
        refs = {task.remote(job, settings): job for job in todo}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield refs[ready[0]], ray.get(ready[0])
    finally:  # Ctrl-C, or the caller stopped early: no task goes on
        for ref in pending:
            ray.cancel(ref, force=True)
        ray.shutdown()

def ray_job(job: Job, settings: Settings) -> Outcome:
    """A job on a Ray node: the model and grammars are loaded by the first job a Ray
    worker process runs and kept (warm's loaders are cached)."""
    warm(settings)
    return run_job(job, settings)
