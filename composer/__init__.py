"""Partimento: compose four-part music under rules, and grade harmony exercises.

    import composer

    spec = composer.load_spec("constraints/examples/harmonize-melody.yaml")
    piece = composer.compose(spec, seed=3)
    report = composer.check(piece.to_music21())
    composer.write(piece, "out/ode")

Every function imports what it needs when it is called, so that `import composer` (and
the command line's `check`) starts fast; the types are here for readers and checkers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from composer.errors import PartimentoError, ScoreError, SpecError, UnsatisfiableError

if TYPE_CHECKING:
    from composer.batches.report import Row
    from composer.grading.checker import Report, Violation
    from composer.pipeline import Composition
    from composer.planning.plan import Plan
    from composer.sample.reuse import Reuse
    from composer.spec.values import Spec

__all__ = [
    "Composition", "PartimentoError", "Plan", "Report", "Row", "ScoreError", "Spec",
    "SpecError", "UnsatisfiableError", "Violation", "batch", "check", "compose", "load_spec",
    "plan", "revise", "write",
]

_TYPES = {"Composition": "composer.pipeline", "Plan": "composer.planning.plan",
          "Report": "composer.grading.checker", "Violation": "composer.grading.checker",
          "Spec": "composer.spec.values", "Row": "composer.batches.report"}


def __getattr__(name: str) -> Any:
    """The value types, imported when first asked for (start-up stays fast)."""
    if name in _TYPES:
        import importlib

        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'composer' has no attribute {name!r}")


def load_spec(path_or_text: str | Path) -> Spec:
    """A spec from a YAML file, or from the YAML text itself (a string with a line break,
    or one that names no file and does not end in .yaml); a mistake raises SpecError
    naming the line and field."""
    from composer.spec.load import load_spec as from_file
    from composer.spec.load import spec_from_text

    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and (
            Path(path_or_text).is_file()
            or path_or_text.strip().lower().endswith((".yaml", ".yml")))):
        return from_file(path_or_text)  # (a file's name that is no file: "no such file")
    return spec_from_text(path_or_text)


def _spec(spec: Spec | str | Path) -> Spec:
    """A spec as given, or read from its file or YAML text (as `load_spec`)."""
    from composer.spec.values import Spec as SpecType

    if isinstance(spec, str | Path):
        return load_spec(spec)
    if not isinstance(spec, SpecType):
        raise TypeError(f"a spec is a composer.Spec (from composer.load_spec), a spec file's"
                        f" path or its YAML text, not {type(spec).__name__}")
    return spec


def compose(spec: Spec | str | Path, *, seed: int | None = None,
            temperature: float | None = None,
            model: Literal["default"] | str | Path | None = "default") -> Composition:
    """Compose the spec (a Spec, or a spec file's path or YAML text, read by `load_spec`):
    every hard rule holds in the result, or UnsatisfiableError names the rules and notes
    that conflict. `seed` and `temperature` override the spec's; `model` is the shipped
    chorale model ("default"), a trained model's file (NAME.pt or NAME.npz), or None for
    the statistical scorer."""
    from dataclasses import replace

    from composer.neural.scorer import scorer_for
    from composer.pipeline import compose as run

    spec = _spec(spec)
    if seed is not None and seed < 0:
        raise ValueError(f"seed {seed}: a seed is a whole number from 0")
    if seed is not None:
        spec = replace(spec, seed=seed)
    if temperature is not None:
        spec = replace(spec, temperature=temperature)
    return run(spec, scorer_for("none" if model is None else model, spec.voices))


def plan(spec: Spec | str | Path, *, seed: int | None = None,
         model: Literal["default"] | str | Path | None = "default") -> Plan:
    """The form and harmony plan (phrases, cadences, a chord per slot, each with the
    reason it was chosen) of the piece `compose` writes for the same spec, seed and
    model — repeats, fixed notes and a given melody included."""
    return compose(spec, seed=seed, model=model).plan


def check(score: str | Path | Composition | Any, *, rules: str | Path = "common-practice",
          overrides: Sequence[str] = ()) -> Report:
    """Grade a four-part (or two-part) score: a MusicXML, MIDI or ABC file, a music21
    Score, or a Composition (as its `to_music21()`). `rules` names a rule set in
    constraints/ or a YAML file; `overrides` are the command line's `--set` texts, e.g.
    "max-leap.semitones=9"."""
    from composer.grading.checker import check_file, check_texture, fitting
    from composer.spec.rulesets import load_ruleset, parse_override

    ruleset = load_ruleset(str(rules)).with_overrides([parse_override(o) for o in overrides])
    if isinstance(score, str | Path):
        return check_file(score, ruleset)[0]
    from composer.io.read import texture_from_music21
    from composer.pipeline import Composition as CompositionType

    if isinstance(score, CompositionType):
        score = score.to_music21()
    elif not hasattr(score, "parts"):
        raise TypeError(f"check takes a score file's path, a music21 Score or a Composition,"
                        f" not {type(score).__name__}")

    texture, _ = texture_from_music21(score, ruleset.voices or None, source="score",
                                      split_chords=True)
    return check_texture(texture, fitting((ruleset,), len(texture.voices), "score"))


def revise(piece: Composition | dict[str, Any] | str | Path, *,
           bars: tuple[int, int] | str | None = None,
           voices: Sequence[str] | None = None, locks: Sequence[tuple[int, float, str]] = (),
           seed: int | None = None, plan: bool = False, surface_only: bool = False,
           model: Literal["default"] | str | Path | None = "default",
           folder: Path | None = None, reuse: Reuse | None = None) -> Composition:
    """A piece (a Composition, its JSON document, or the path of OUT.json) with bars
    `bars` ((first, last), or '5-8' as --bars) of `voices` (a list, or 'alto,tenor')
    drawn again and every other note kept; `locks` (bar, beat, voice)
    keep single notes inside; `plan` draws the bars' chords again too, `surface_only`
    only their figures. Every hard rule holds across the borders, or UnsatisfiableError
    names the kept notes and rules that conflict; a foreign or hand-broken piece JSON
    raises SpecError. `folder`: where the spec's melody file is (default: beside it).
    `reuse`: a `composer.sample.reuse.Reuse` kept between revisions of one piece, to
    revise it again sooner (the same music)."""
    from composer.neural.scorer import scorer_for
    from composer.pipeline import Composition as CompositionType
    from composer.revision import read_piece
    from composer.revision import revise as run

    if seed is not None and seed < 0:
        raise ValueError(f"seed {seed}: a seed is a whole number from 0")
    saved = read_piece(piece.to_json() if isinstance(piece, CompositionType) else piece,
                       folder)
    return run(saved, bars=bars, voices=voices, locks=locks, seed=seed, plan=plan,
               surface_only=surface_only,
               scorer=scorer_for("none" if model is None else model, saved.spec.voices),
               folder=folder, reuse=reuse)


def write(composition: Composition, out_prefix: str | Path, *, svg: bool = False,
          pdf: bool = False, layout: Literal["satb", "satb-two-staves"] = "satb"
          ) -> list[Path]:
    """Write OUT.musicxml, OUT.mid and OUT.json (and the SVG pages, OUT.pdf), all or
    none, as `partimento compose -o OUT` does; the paths written."""
    from composer.io.write import write_outputs
    from composer.pipeline import Composition as CompositionType

    if not isinstance(composition, CompositionType):
        raise TypeError(f"write takes what composer.compose or composer.revise returns,"
                        f" not {type(composition).__name__}")
    return write_outputs(composition.piece, Path(out_prefix), composition.to_json(),
                         svg=svg, pdf=pdf, layout=layout)


def batch(inputs: str | Path | Sequence[str | Path], out: str | Path, *,
          template: str | Path | None = None,
          check: bool = False, rules: str | None = None, jobs: int | None = None,
          ray: str | None = None, resume: bool = False, seed: int | None = None,
          model: str | None = None) -> list[Row]:
    """Compose every input (a spec, a melody file, each tune of an ABC file, or a folder of
    them; one path alone, or a list) into DIR/NAME.musicxml, .mid, .json, or with `check`
    grade every score, and write DIR/report.json and report.csv; the report's rows, one
    per input. A failed input is a
    row, not an exception. `template`: the spec for the melodies (default: one read from
    each tune); `jobs`: worker processes (default: the CPU count); `ray`: a Ray cluster's
    address, or "local"; `resume`: skip what the report says is done, files and hashes
    checked. The same seeds give the same bytes as composing each input alone."""
    from composer.batches.jobs import Settings, find_jobs
    from composer.batches.runner import run_batch
    from composer.batches.templates import read_template

    if isinstance(inputs, str | Path):  # one input (a string is not a list of names)
        inputs = [inputs]
    settings = Settings(read_template(Path(template)) if template else None, seed, model, rules)
    return run_batch(find_jobs(inputs, check), Path(out), settings, workers=jobs, ray=ray,
                     resume=resume)
