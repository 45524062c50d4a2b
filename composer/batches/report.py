"""The batch's report, DIR/report.json and DIR/report.csv: a row per input, rewritten whole
(atomically) after every finished job, so that an interrupted batch loses no result and a
resumed one knows, by the files' SHA-256, what is done."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from composer.errors import PartimentoError
from composer.io.files import atomic_path

# A file atomic_path had not yet moved into place when the batch was killed.
_STAGED = re.compile(r"^\.(?P<target>.+(?P<suffix>\.[A-Za-z0-9]+))\.[a-z0-9_]{8}(?P=suffix)$")
FORMAT = "partimento-batch"
DONE = ("composed", "checked", "unsatisfiable")  # a result: the same inputs give it again
COLUMNS = ("input", "name", "status", "detail", "seconds", "errors", "warnings", "files",
           "sha256")


@dataclass(frozen=True)
class Row:
    """One input's line of the report: what became of it, how long it took, and the files
    written for it (names in the output folder, with their SHA-256)."""

    input: str
    name: str
    status: str
    detail: str
    seconds: float
    input_sha256: str
    files: tuple[tuple[str, str], ...] = ()
    errors: int | None = None
    warnings: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"files": [{"file": f, "sha256": h} for f, h in self.files]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        files = tuple((f["file"], f["sha256"]) for f in data.get("files", ()))
        return cls(**(data | {"files": files}))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_hash(path: str) -> str:
    """The input file's SHA-256 ('' where it cannot be read): a changed input is done
    again on --resume."""
    try:
        return sha256(Path(path))
    except OSError:
        return ""


def write_report(folder: Path, rows: list[Row], settings: dict[str, Any]) -> None:
    """report.json and report.csv, each replaced whole."""
    document = {"format": FORMAT, "version": 1, "settings": settings,
                "rows": [r.to_json() for r in rows]}
    with atomic_path(folder / "report.json") as tmp:
        tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    text = io.StringIO()
    table = csv.writer(text, lineterminator="\n")
    table.writerow(COLUMNS)
    for r in rows:
        table.writerow([r.input, r.name, r.status, r.detail, f"{r.seconds:.3f}",
                        "" if r.errors is None else r.errors,
                        "" if r.warnings is None else r.warnings,
                        " ".join(f for f, _ in r.files), " ".join(h for _, h in r.files)])
    with atomic_path(folder / "report.csv") as tmp:
        tmp.write_text(text.getvalue(), encoding="utf-8")


def read_report(folder: Path) -> tuple[dict[str, Any], list[Row]]:
    """The settings and rows of an earlier run's report (none: an empty report)."""
    path = folder / "report.json"
    if not path.is_file():
        return {}, []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError("not a batch report")
        return dict(data["settings"]), [Row.from_json(r) for r in data["rows"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise PartimentoError(f"{path}: not a report --resume can read ({exc}); move it away"
                              " to start afresh") from None


def is_done(row: Row, folder: Path, path: str) -> bool:
    """The row records a result, its input (the file at `path`) is unchanged, and every
    file it names is there with the SHA-256 recorded."""
    if row.status not in DONE or row.input_sha256 != input_hash(path):
        return False
    return all((folder / f).is_file() and sha256(folder / f) == h for f, h in row.files)


def place(folder: Path, name: str, files: dict[str, bytes]) -> tuple[tuple[str, str], ...]:
    """Write a job's files into the folder, each whole or not at all; their names and
    SHA-256."""
    out = []
    for suffix, data in files.items():
        target = folder / f"{name}{suffix}"
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        out.append((target.name, hashlib.sha256(data).hexdigest()))
    return tuple(out)


def sweep(folder: Path, names: set[str]) -> None:
    """Remove what a killed batch left half-written in the folder: the hidden files into
    which a job's files (or the report) were being written."""
    for path in folder.glob(".*"):
        match = _STAGED.match(path.name)
        if match and path.is_file() and match["target"].split(".")[0] in names | {"report"}:
            path.unlink()
