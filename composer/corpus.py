"""The Bach chorales that ship with music21, and what we learn from them once.

`python -m composer.corpus melodies` rebuilds `models/chorale-melodies.json`, the index
of every chorale voice's notes that the `max-order` rule compares a melody against, so
that checking and composing never parse the corpus.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from composer.content import content_dir
from composer.io.read import texture_from_music21

MELODIES_FILE = "chorale-melodies.json"


def chorale_names() -> list[str]:
    """The 371 four-part chorales in music21's corpus, e.g. 'bach/bwv269'."""
    from music21 import corpus  # lazy: music21 takes a second to import; only corpus work needs it

    return list(corpus.chorales.Iterator(returnType="filename"))


def parse_chorale(name: str):
    from music21 import corpus  # lazy: music21 takes a second to import; only corpus work needs it

    return corpus.parse(name)


def soprano_part(score):
    """The part named Soprano (chorales with instruments name it so), else the top one."""
    for part in score.parts:
        if (part.partName or "").strip().lower().startswith("soprano"):
            return part
    return score.parts[0]


@dataclass(frozen=True)
class MelodyLine:
    work: str
    voice: str
    midi: tuple[int, ...]


def chorale_lines(names: list[str] | None = None) -> Iterator[MelodyLine]:
    """Every voice of every chorale as its sequence of struck MIDI notes (ties merged)."""

    for name in names or chorale_names():
        texture, origin = texture_from_music21(parse_chorale(name), source=name)
        for voice, events in zip(texture.voices, origin.events, strict=True):
            midi = tuple(ev.pitch.midi for ev in events if ev.pitch is not None)
            yield MelodyLine(name.split("/")[-1], voice, midi)


def build_melody_index(target: Path) -> int:
    lines = [
        {"work": line.work, "voice": line.voice, "midi": list(line.midi)}
        for line in chorale_lines()
    ]
    data = {"source": "music21 corpus: Bach chorales (corpus.chorales.Iterator)",
            "command": "python -m composer.corpus melodies", "lines": lines}
    target.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    return len(lines)


class MelodyIndex:
    """Transposition-invariant look-up of note runs that occur in the corpus."""

    def __init__(self, lines: list[MelodyLine]) -> None:
        self.lines = lines
        self._grams: dict[int, dict[tuple[int, ...], tuple[int, int]]] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> MelodyIndex:
        path = path or content_dir("models") / MELODIES_FILE
        data = json.loads(path.read_text())
        return cls([MelodyLine(d["work"], d["voice"], tuple(d["midi"])) for d in data["lines"]])

    def grams(self, notes: int) -> dict[tuple[int, ...], tuple[int, int]]:
        """Every run of `notes` consecutive notes, as intervals, mapped to where it occurs."""
        if notes not in self._grams:
            table: dict[tuple[int, ...], tuple[int, int]] = {}
            for li, line in enumerate(self.lines):
                steps = [b - a for a, b in zip(line.midi, line.midi[1:], strict=False)]
                for i in range(len(steps) - notes + 2):
                    table.setdefault(tuple(steps[i:i + notes - 1]), (li, i))
            self._grams[notes] = table
        return self._grams[notes]

    def copied_runs(self, midi: list[int], order: int) -> Iterator[tuple[int, int, MelodyLine]]:
        """(start, length, source) of each maximal run longer than `order` notes that
        occurs somewhere in the corpus."""
        steps = [b - a for a, b in zip(midi, midi[1:], strict=False)]
        table = self.grams(order + 1)
        i = 0
        while i + order < len(midi):
            hit = table.get(tuple(steps[i:i + order]))
            if hit is None:
                i += 1
                continue
            length = order + 1
            while i + length < len(midi) and self._occurs(steps[i:i + length]):
                length += 1
            yield i, length, self.lines[hit[0]]
            i += length - order
        return

    def _occurs(self, steps: list[int]) -> bool:
        return tuple(steps) in self.grams(len(steps) + 1)


@lru_cache(maxsize=1)
def default_melody_index() -> MelodyIndex:
    return MelodyIndex.load()


def main(argv: list[str]) -> int:
    if argv[:1] != ["melodies"]:
        print("usage: python -m composer.corpus melodies", file=sys.stderr)
        return 2
    target = content_dir("models") / MELODIES_FILE
    count = build_melody_index(target)
    print(f"wrote {count} chorale voices to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
