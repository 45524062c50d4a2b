"""What the studio's tests share: a folder laid out as a user's, the example specs in it."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
SHORT_SPEC = """title: Four bars
key: G major
meter: 4/4
bars: 4
form: chorale
cadences: {end: authentic}
rules:
  include: [common-practice]
seed: 2
"""


def studio_folder(base: Path) -> Path:
    """A folder with the example specs and their melody files, as a user keeps them."""
    folder = base / "studio"
    folder.mkdir()
    for path in EXAMPLES.iterdir():
        if path.suffix in (".yaml", ".musicxml"):
            shutil.copy(path, folder / path.name)
    return folder


def notes_outside(notes: list[dict], bars: tuple[int, int]) -> list[tuple]:
    """Every engraved note outside the bars, as (bar, staff, onset, release, pitch)."""
    return sorted((n["bar"], n["staff"], n["on"], n["off"], n["midi"]) for n in notes
                  if not bars[0] <= n["bar"] <= bars[1])
