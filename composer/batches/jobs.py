"""The jobs of a batch, and the one function that does a job anywhere: in a worker process
of this machine or on a Ray cluster's node. It returns the files' bytes instead of writing
them, so that only the driver writes into the output folder (all of a job's files or none,
and a report that says which)."""

from __future__ import annotations

import copy
import gc
import json
import re
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from composer.batches.templates import tune_spec
from composer.errors import PartimentoError, ScoreError, UnsatisfiableError
from composer.grading.checker import check_file
from composer.io.abc import abc_voices, carry_abc_accidentals, music21_module, readable_abc
from composer.io.melodies import highest_line, sung_line, top_line
from composer.io.read import EPS, abc_parsed, abc_part, parse_failure, parse_score
from composer.io.write import output_files
from composer.neural.scorer import scorer_for
from composer.pipeline import compose, document
from composer.planning.grammar import form_grammar, harmony_grammar
from composer.spec.load import load_spec, spec_from_text
from composer.spec.rulesets import load_ruleset

Kind = Literal["spec", "melody", "check"]
SPEC_SUFFIXES = (".yaml", ".yml")
MELODY_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi", ".abc")
CHECK_SUFFIXES = (*MELODY_SUFFIXES, ".krn")
DEFAULT_RULE_SETS = ("common-practice", "first-species")
_TUNE = re.compile(r"^X:\s*(\d+)", re.M)


@dataclass(frozen=True)
class Job:
    """One input: a spec, a melody (one tune of an ABC file) or a score to grade; `name`
    is the stem of its output files in the output folder."""

    kind: Kind
    path: str  # as the user gave it (a spec's path is written into its piece's JSON)
    name: str
    tune: int | None = None  # the X: number in an ABC file

    @property
    def label(self) -> str:
        return self.path if self.tune is None else f"{self.path}#X:{self.tune}"


@dataclass(frozen=True)
class Settings:
    """What every job of a batch shares."""

    template: dict[str, Any] | None = None  # --spec: the melody jobs' template spec
    seed: int | None = None
    model: str | None = None  # as compose's --model
    rules: str | None = None  # --check: the rule set (default: by the number of voices)


@dataclass(frozen=True)
class Outcome:
    """What one job came to; `files` maps each output suffix to its bytes."""

    status: Literal["composed", "unsatisfiable", "bad input", "checked", "failed"]
    detail: str = ""
    seconds: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)
    errors: int | None = None  # --check: the rules broken, by severity
    warnings: int | None = None


def find_jobs(inputs: Iterable[str | Path], check: bool = False) -> list[Job]:
    """A job per spec, per melody (per tune of an ABC file) or, with `check`, per score;
    a folder stands for the files in it (and below it) of those kinds, in name order. A
    name given that is no such file, or of no such kind, is still a job: it is reported
    as bad input with the others done."""
    jobs: list[Job] = []
    taken: set[str] = set()
    for given in inputs:
        path = Path(given)
        wanted = CHECK_SUFFIXES if check else (*SPEC_SUFFIXES, *MELODY_SUFFIXES)
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.suffix.lower() in wanted) if path.is_dir() else [path]
        for f in files:
            jobs += _jobs_of(str(f), check, taken)
    return jobs


def _jobs_of(path: str, check: bool, taken: set[str]) -> list[Job]:
    suffix = Path(path).suffix.lower()
    kind: Kind = "check" if check else "spec" if suffix in SPEC_SUFFIXES else "melody"
    tunes: list[int | None] = [None]
    if suffix == ".abc" and kind == "melody" and Path(path).is_file():
        numbers = [int(x) for x in _TUNE.findall(Path(path).read_text(encoding="latin-1"))]
        tunes = list(numbers) or [None]
    out = []
    for tune in tunes:
        stem = Path(path).stem if tune is None or len(tunes) == 1 else \
            f"{Path(path).stem}-{tune}"
        name, k = stem, 1
        while name in taken:  # the same stem in two folders
            k += 1
            name = f"{stem}-{k}"
        taken.add(name)
        out.append(Job(kind, path, name, tune))
    return out


def warm(settings: Settings) -> None:
    """Load the model and the grammars once, before the first job (a worker's
    initializer): each job then pays only for its own music."""
    if settings.rules is None and settings.template is None and settings.model != "none":
        scorer_for(settings.model, ("soprano", "alto", "tenor", "bass"))
    form_grammar()
    for mode in ("major", "minor"):
        harmony_grammar(mode)
    _settle()


def _settle() -> None:
    """What a worker holds between jobs (its modules, the model, the verdicts and reads
    that pieces share) put out of the garbage collector's sight, as a studio worker's is:
    a full collection would otherwise walk all of it again, tune after tune."""
    gc.collect()
    gc.freeze()


def run_job(job: Job, settings: Settings) -> Outcome:
    """Do one job; every failure becomes an Outcome, so that the batch goes on."""
    start = time.perf_counter()
    try:
        outcome = _check(job, settings) if job.kind == "check" else _compose(job, settings)
    except UnsatisfiableError as exc:
        outcome = Outcome("unsatisfiable", str(exc))
    except (PartimentoError, OSError) as exc:
        outcome = Outcome("bad input", str(exc))
    except Exception as exc:  # a bug: kept with its kind, and the batch goes on
        outcome = Outcome("failed", f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    _settle()  # (what the job left for good joins what the worker holds)
    return Outcome(outcome.status, outcome.detail, seconds, outcome.files, outcome.errors,
                   outcome.warnings)


def _check(job: Job, settings: Settings) -> Outcome:
    names = (settings.rules,) if settings.rules else DEFAULT_RULE_SETS
    report = check_file(job.path, tuple(load_ruleset(n) for n in names))[0]
    text = json.dumps(report.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return Outcome("checked", f"{report.errors} errors, {report.warnings} warnings",
                   files={".check.json": text.encode("utf-8")}, errors=report.errors,
                   warnings=report.warnings)


def _compose(job: Job, settings: Settings) -> Outcome:
    """Compose a job's piece; its files are made in memory (a tune of an ABC file is
    still written out for the spec to read its melody from)."""
    with tempfile.TemporaryDirectory(prefix="partimento-batch.") as tmp:
        if job.kind == "spec":
            spec = load_spec(job.path)
        else:
            text, folder = melody_spec(job, settings, Path(tmp))
            spec = spec_from_text(text, f"{job.name}.yaml", folder)
        if settings.seed is not None:
            spec = replace(spec, seed=settings.seed)
        comp = compose(spec, scorer_for(settings.model, spec.voices))
    files = output_files(comp.piece, document(comp))
    return Outcome("composed", f"{len(comp.warnings)} warnings on the given melody"
                   if comp.warnings else "", files=files)


def melody_spec(job: Job, settings: Settings, tmp: Path) -> tuple[str, Path]:
    """The spec's text for a melody job, and the folder its melody file is in: the file
    itself, or (one tune of an ABC file) the tune written to tmp/tune.musicxml."""
    path = Path(job.path)
    seed = settings.seed if settings.seed is not None else 0
    if path.suffix.lower() != ".abc":
        part = top_line(path)
        # The file the user named, where it really lies: a link in an input folder to a
        # tune elsewhere is that tune (the spec reads no file outside its own folder).
        real = path.resolve()
        return tune_spec(part, real, path.stem, seed, settings.template), real.parent
    part = _abc_tune(path, job.tune)
    carry_abc_accidentals(part)  # as a spec's ABC melody file is read
    part = _sung_in_bars(part)
    tune = tmp / "tune.musicxml"
    m21 = music21_module()
    written = copy.deepcopy(part)
    # A tempo whose beat music21 read as no single note value (`Q:1/4 =50` reads as a
    # whole tied to a quarter) cannot be written; the harmony needs no tempo.
    for mark in list(written.recurse().getElementsByClass(m21.tempo.MetronomeMark)):
        if mark.referent is not None and mark.referent.type == "complex":
            mark.activeSite.remove(mark)
    m21.stream.Score([written]).write("musicxml", fp=str(tune))
    title = path.stem if job.tune is None else f"{path.stem} X:{job.tune}"
    return tune_spec(part, tune, title, seed, settings.template), tmp


METER_UNITS = (1, 2, 4, 8, 16, 32)  # the note values a meter may count in


def _sung_in_bars(part: Any) -> Any:
    """The tune as it is played (its repeats expanded where it has first and second
    endings, `sung_line`), its bars written whole. ABC writes a strain's last bar short by
    the pickup into the next (`G2G2G2 :| |: dc | B…`), and a first ending's bar short by
    the pickup that follows it; music21 fills each short bar with a rest when it writes
    it, which put the pickup on a downbeat with a bar of silence after it, and shifted
    every later pass off its beats. Two short bars that make a whole one are one bar, the
    pickup leading into the next; any other bar keeps its bar lines (a bar the file
    writes too short is filled out, one too long keeps its notes), so that a slip in the
    file does not shift the rest of the tune. A tune whose bars are all whole is as it
    is; the pickup is written as the rest before it."""
    sung = sung_line(part)
    m21 = music21_module()
    measures = list(sung.getElementsByClass(m21.stream.Measure))
    lengths = [float(m.duration.quarterLength) for m in measures]
    bars = [float(m.barDuration.quarterLength) for m in measures]
    if not measures or sung is part and all(abs(a - b) < EPS for a, b in
                                            zip(lengths[1:-1], bars[1:-1], strict=True)):
        return sung
    pad = float(measures[0].paddingLeft or 0.0)
    starts, at, k = [pad], pad + lengths[0], 1  # (the pickup ends on the bar line)
    while k < len(measures):
        starts.append(at)
        if k + 1 < len(measures) and lengths[k] < bars[k] - EPS \
                and abs(lengths[k] + lengths[k + 1] - bars[k]) < EPS:  # a bar in two
            starts.append(at + lengths[k])
            at, k = at + bars[k], k + 2
        else:
            at, k = at + max(lengths[k], bars[k]), k + 1
    out = m21.stream.Part()
    if pad > 0:
        out.insert(0, m21.note.Rest(quarterLength=pad))
    kinds = (m21.meter.TimeSignature, m21.key.KeySignature)
    for k, (m, start) in enumerate(zip(measures, starts, strict=True)):
        for el in m.flatten().getElementsByClass((*kinds, m21.note.GeneralNote)):
            if isinstance(el, m21.meter.TimeSignature) and el.denominator not in METER_UNITS:
                continue  # (music21 reads a triplet's odd bar as 1/6: no meter, and none
                # once the bar is whole)
            at = 0.0 if k == 0 and isinstance(el, kinds) else start + float(el.offset)
            out.insert(at, copy.deepcopy(el))
    barred = out.makeMeasures()
    barred.makeTies(inPlace=True)  # a note over a new bar line: tied into the next bar
    return barred


def _abc_tune(path: Path, number: int | None) -> Any:
    """The first part of tune X:number of an ABC file, as music21 reads it (of a tune in
    named voices, its highest voice: the tune, as a melody file's highest line is)."""
    if number is None:
        return _highest(parse_score(path).parts, str(path))
    m21 = music21_module()
    text = path.read_text(encoding="latin-1")
    block = next((b for b in re.split(r"(?m)^(?=X:)", readable_abc(text))
                  if re.match(rf"X:\s*{number}\s*$", b.split("\n", 1)[0])), "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if (voices := abc_voices(block)) is not None:
                return _highest([abc_part(m21, *v) for v in voices], f"{path}: tune X:{number}")
            score = abc_parsed(path, text, number)
    except Exception as exc:  # music21 raises many kinds for a broken tune
        raise ScoreError(f"{path}: tune X:{number} is not valid ABC"
                         f"{parse_failure(exc, 'ABC')}") from None
    if isinstance(score, m21.stream.Opus):
        score = score.scores[0] if score.scores else None
    parts = getattr(score, "parts", None)
    if not parts:
        raise ScoreError(f"{path}: tune X:{number} holds no notes")
    return parts[0]


def _highest(parts: Any, where: str) -> Any:
    """The part that is the tune (`highest_line`)."""
    found = highest_line(parts)
    if found is None:
        raise ScoreError(f"{where} holds no notes")
    return found[0]
