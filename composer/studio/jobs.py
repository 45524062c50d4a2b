"""What a studio worker process does: read a spec, compose, revise, engrave, check.

Each job writes its files into the revision folder it is given and returns plain data
(picklable, JSON-ready); a user's mistake comes back as a PartimentoError, turned into
a 4xx JSON answer by the app.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import composer
from composer.grading.checker import annotate, check_file
from composer.io.engrave import engrave_pages
from composer.io.files import atomic_path
from composer.io.musicxml import score_musicxml
from composer.io.preview import preview_musicxml, preview_systems
from composer.io.write import write_outputs
from composer.neural.scorer import default_scorer
from composer.pipeline import Composition
from composer.rules import RULES
from composer.sample.reuse import Reuse
from composer.spec.load import spec_from_text
from composer.spec.rulesets import load_ruleset
from composer.studio.engraving import engrave, engrave_systems, note_ids
from composer.studio.safety import confine

SPEC_NAME = "spec.yaml"  # how the studio's spec is named in its errors
CHECK_SETS = ("common-practice", "first-species")
REUSING = frozenset({"revise"})  # the jobs given the worker's Reuse


_WARM_UP = "key: C major\nbars: 2\nrules:\n  include: [common-practice]\n"


def warm() -> None:
    """Load the model, and go once through composing and engraving a short piece, before
    the first request: the first time costs half a second more (imports, verovio's
    fonts), and a request's time limit should not pay for it."""
    default_scorer()
    piece = composer.compose(spec_from_text(_WARM_UP, "warm-up.yaml"), seed=0).piece
    engrave_systems(preview_systems(piece), piece.tempo)


def validate(text: str, folder: str) -> dict[str, Any]:
    """The spec read as compose would read it; what it makes, for the page's status line."""
    spec = _spec(text, Path(folder))
    return {"bars": spec.bars, "voices": list(spec.voices), "key": str(spec.key),
            "meter": str(spec.meter)}


def compose(text: str, seed: int | None, folder: str, target: str, svg: bool
            ) -> dict[str, Any]:
    spec = _spec(text, Path(folder))
    comp = composer.compose(spec, seed=seed)
    return _keep(comp, Path(target), svg)


def revise(piece: dict[str, Any], options: dict[str, Any], folder: str, target: str,
           svg: bool, reuse: Reuse | None = None) -> dict[str, Any]:
    """Regenerate the chosen bars (and voices) of a piece, every other note kept;
    `reuse`: the worker's own, what its earlier revisions worked out."""
    spec = piece.get("spec") if isinstance(piece, dict) else None
    if isinstance(spec, dict) and isinstance(spec.get("yaml"), str):
        confine(spec["yaml"], SPEC_NAME, Path(folder))
    comp = composer.revise(piece, folder=Path(folder), reuse=reuse, **options)
    return _keep(comp, Path(target), svg)


def render(target: str, files: bool = False, musicxml: bool = False) -> dict[str, Any]:
    """What a revision was kept without, made now: its engraving; with `musicxml` the
    score file (for a download or a check); with `files` the MIDI and score.json too."""
    folder = Path(target)
    piece = pickle.loads((folder / "piece.pickle").read_bytes())
    if files:
        doc = json.loads((folder / "piece.json").read_text(encoding="utf-8"))
        write_outputs(piece, folder / "score", doc)
    elif musicxml and not (folder / "score.musicxml").exists():
        with atomic_path(folder / "score.musicxml") as tmp:
            tmp.write_text(score_musicxml(piece), encoding="utf-8")
    view = _view(folder) if (folder / "view.json").exists() else _engrave(piece, folder)
    return view


def score_svg(target: str) -> str:
    """The whole score as one SVG file, for a download (the page shows it system by
    system)."""
    folder = Path(target)
    if not (folder / "score.svg").exists():
        piece = pickle.loads((folder / "piece.pickle").read_bytes())
        with atomic_path(folder / "score.svg") as tmp:
            tmp.write_text(engrave_pages(preview_musicxml(piece), one_page=True)[0],
                           encoding="utf-8")
    return str(folder / "score.svg")


def check(score: str, target: str, rules: str | None) -> dict[str, Any]:
    """Every violation of a score, each with the ids of its notes in the engraving, and
    the annotated copy written to `target`."""
    sets = tuple(load_ruleset(n) for n in ((rules,) if rules else CHECK_SETS))
    report, texture, origin = check_file(score, sets)
    view_file = Path(score).with_name("view.json")
    if view_file.exists():
        view = json.loads(view_file.read_text(encoding="utf-8"))
    else:
        view = engrave(Path(score).read_text(encoding="utf-8"))
        _write_json(view_file, view)
    found = []
    for v in report.violations:
        ids: list[str] = []
        for voice, row in v.notes:
            s = texture.slices[row]
            pitch = s.voicing.pitches[voice]
            for i in note_ids(view["notes"], voice, s.offset, pitch.midi if pitch else None):
                if i not in ids:
                    ids.append(i)
        found.append({**v.to_json(), "explanation": RULES[v.rule].explanation, "ids": ids})
    annotate(report, texture, origin, Path(target))
    return {"violations": found, "rules": list(report.rules), "slices": report.slices,
            "counts": {"errors": report.errors, "warnings": report.warnings}, "view": view}


def _spec(text: str, folder: Path) -> composer.Spec:
    confine(text, SPEC_NAME, folder)
    return spec_from_text(text, SPEC_NAME, folder)


def _keep(comp: Composition, target: Path, svg: bool) -> dict[str, Any]:
    """The revision's piece JSON, spec and piece always; its engraving now, or (without
    `svg`) when first asked for; its files when first downloaded or checked."""
    target.mkdir(parents=True, exist_ok=True)
    doc = comp.to_json()
    warnings = [w.to_json() for w in comp.warnings]
    (target / "spec.yaml").write_text(comp.spec.text, encoding="utf-8")
    _write_json(target / "piece.json", doc)
    (target / "piece.pickle").write_bytes(pickle.dumps(comp.piece))
    view = _engrave(comp.piece, target) if svg else None
    return {"piece": doc, "view": view, "warnings": warnings}


def _engrave(piece: Any, folder: Path) -> dict[str, Any]:
    """The page's engraving, system by system from the preview's MusicXML (the score file
    a user downloads, written when first asked for, is the same music in one part per
    voice or two staves)."""
    view = engrave_systems(preview_systems(piece), piece.tempo)
    _write_json(folder / "view.json", view)
    return view


def _view(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "view.json").read_text(encoding="utf-8"))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
