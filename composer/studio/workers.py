"""Composing in worker processes, so that a compose that runs too long can really be
stopped (a thread cannot be) and the server answers other requests meanwhile.

Each worker is a process of its own that has loaded the model once and works in the
studio's folder; a job over the time limit kills its worker and a fresh one takes its
place.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import queue
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.errors import PartimentoError, SpecError, UnsatisfiableError
from composer.sample.reuse import Reuse
from composer.studio import jobs

STARTING = 300.0  # seconds a fresh worker may take to import and load the model


class JobTimeout(PartimentoError):
    """A job ran past the studio's time limit and was stopped."""


class WorkerLost(PartimentoError):
    """A worker process ended without answering (killed from outside, out of memory)."""


def describe(exc: PartimentoError) -> dict[str, Any]:
    """An error as the API returns it: its kind, its one line, and where it is."""
    out: dict[str, Any] = {"kind": "error", "message": str(exc)}
    if isinstance(exc, SpecError):
        where = exc.location
        out.update(kind="spec", message=exc.message, field=exc.field or None,
                   file=str(where.file) if where else None,
                   line=where.line if where else None, column=where.column if where else None)
    elif isinstance(exc, UnsatisfiableError):
        out.update(kind="unsatisfiable", rules=list(exc.conflicts),
                   places=[str(p) for p in exc.places])
    elif isinstance(exc, JobTimeout):
        out.update(kind="timeout")
    return out


def settle() -> None:
    """What a long-lived process holds once started (its modules, the model, verovio's
    fonts) put out of the garbage collector's sight: a full collection would otherwise
    walk all of it again, 25-30 ms in the middle of some request (the slow tail)."""
    gc.collect()
    gc.freeze()


def _serve(conn: Any, folder: str) -> None:
    """A worker's life: warm up, then answer jobs until the pipe closes."""
    os.chdir(folder)  # a rule set included by a relative path is read from here
    reuse = Reuse()  # this worker's, kept from one revision to the next
    with contextlib.suppress(Exception):  # composing will say what is wrong, itself
        jobs.warm()
    settle()
    conn.send(("ready", None))  # the time limit counts from here
    while True:
        try:
            name, kwargs = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            if name in jobs.REUSING:
                kwargs = {**kwargs, "reuse": reuse}
            conn.send(("ok", getattr(jobs, name)(**kwargs)))
        except PartimentoError as exc:
            conn.send(("error", describe(exc)))
        except Exception:
            conn.send(("bug", traceback.format_exc()))


@dataclass
class _Worker:
    process: Any
    conn: Any
    ready: bool = False

    def wait_ready(self, seconds: float) -> None:
        """Until the worker has started and loaded the model (not counted in a job's
        time); a worker that cannot start is lost."""
        if not self.ready:
            if not self.conn.poll(seconds):
                raise EOFError
            self.conn.recv()
            self.ready = True

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(5)


class Pool:
    """`size` warm workers; `run` waits for a free one and gives it one job."""

    def __init__(self, folder: Path, size: int = 2, limit: float = 30.0) -> None:
        self.folder, self.size, self.limit = Path(folder), size, limit
        self._context = mp.get_context("spawn")  # no fork of a threaded server
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, str(self.folder)),
                                        daemon=True, name="partimento-studio-worker")
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        return self._spawn()

    def run(self, job: str, **kwargs: Any) -> Any:
        """The job's result; PartimentoError for the user's mistakes, JobTimeout past
        the limit, RuntimeError (with the worker's traceback) for a bug."""
        worker = self._idle.get()
        try:
            worker.wait_ready(STARTING)
            worker.conn.send((job, kwargs))
            if not worker.conn.poll(self.limit):
                worker = self._replace(worker)
                raise JobTimeout(f"stopped after {self.limit:g} s, the studio's time limit"
                                 " (start it with --time-limit to allow more); a shorter"
                                 " piece or fewer rules compose sooner")
            kind, value = worker.conn.recv()
        except (EOFError, OSError):
            worker = self._replace(worker)
            raise WorkerLost("the worker composing this stopped without an answer; try"
                             " again") from None
        finally:
            self._idle.put(worker)
        if kind == "error":
            raise _Answered(value)
        if kind == "bug":
            print(value, file=sys.stderr)
            raise RuntimeError(f"the studio's {job} failed")
        return value


class _Answered(PartimentoError):
    """A user's mistake found in a worker, already described (see `describe`)."""

    def __init__(self, described: dict[str, Any]) -> None:
        self.described = described
        super().__init__(described["message"])


def answered(exc: PartimentoError) -> dict[str, Any]:
    """The description of an error, whether it happened here or in a worker."""
    return exc.described if isinstance(exc, _Answered) else describe(exc)


def renamed(exc: PartimentoError, path: str, name: str) -> PartimentoError:
    """The error with the file the studio wrote an upload to called by the name the user
    uploaded it as (the studio's own folders are nothing to them)."""
    described = answered(exc)
    return _Answered({k: v.replace(path, name) if isinstance(v, str) else v
                      for k, v in described.items()})
