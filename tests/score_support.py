"""What the tests of the written files share: the example specs, and short tunes with the
awkward cases (a triplet, a meter change, pickups in 3/4, 6/8 and 3/2) composed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from composer import compose
from composer.music import Piece
from composer.spec.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "constraints" / "examples").glob("*.yaml")
                  if p.stem != "unsatisfiable")
TUNES = {  # key, bars, tinynotation: a triplet, a meter change, pickups in 3/4, 6/8, 3/2
    "six-eight-triplet": ("C major", 4, '"6/8 e8 f g c\'4 g8 a f d\' c\'4. trip{c\'16 d\''
                                        ' c\'} b8 a g4 r8 d4. c4."'),
    "meter-change": ("C major", 4, '"4/4 c4~ c4 b4 B4 c4 d e f 3/4 e2 d4 c2."'),
    "pickup-three-four": ("C major", 5, '"3/4 r2 g4 c\'2 d\'4 e\'2 d\'4 c\'2 b4 c\'2"'),
    "pickup-six-eight": ("F major", 5, '"6/8 r4. r4 c8 f4 g8 a4 b-8 c\'4. a4. g8 a g f4 e8'
                                       ' g8 f2"'),
    "pickup-three-two": ("F major", 5, '"3/2 r1 c\'2 f\'2 e\'2 d\'2 c\'1 b-2 a1 g2 f1"'),
}


def tune(name: str, folder: Path) -> Piece:
    key, bars, notes = TUNES[name]
    spec = folder / f"{name}.yaml"
    spec.write_text(f"key: {key}\nbars: {bars}\nmelody:\n  voice: soprano\n  tinynotation: {notes}"
                    "\nrules:\n  include: [common-practice]\n", encoding="utf-8")
    return compose(load_spec(spec), seed=1).piece


_ALTER = {"flat-flat": -2, "flat": -1, "natural": 0, "sharp": 1, "double-sharp": 2}


def read_as_printed(text: str) -> list[list[str]]:
    """Each staff's notes (in the order of the bar, voices together) named as a singer
    reads them off the page: the key signature, and a printed accidental holding to the
    end of the bar on its line or space whichever voice wrote it; a tied note as it
    began."""
    staves = []
    for part in ET.fromstring(text).iter("part"):
        names, signature = [], {}
        for bar in part.iter("measure"):
            fifths = bar.find("attributes/key/fifths")
            if fifths is not None:
                n = int(fifths.text)
                signature = {s: (1 if n > 0 else -1) for s in
                             ("FCGDAEB" if n > 0 else "BEADGCF")[:abs(n)]}
            held: dict[tuple[str, str], int] = {}
            for note in struck_in_time_order(bar):
                step, octave = note.findtext("pitch/step"), note.findtext("pitch/octave")
                if note.findtext("accidental") is not None:
                    held[(step, octave)] = _ALTER[note.findtext("accidental")]
                elif note.find("tie[@type='stop']") is not None:
                    held[(step, octave)] = int(note.findtext("pitch/alter") or 0)
                alter = held.get((step, octave), signature.get(step, 0))
                names.append(step + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[alter] + octave)
        staves.append(names)
    return staves


def struck_in_time_order(bar: ET.Element) -> list[ET.Element]:
    """A bar's pitched notes by onset (a lower voice follows a backup), then file order."""
    at, struck = 0, []
    for el in bar:
        if el.tag == "backup":
            at -= int(el.findtext("duration"))
        elif el.tag == "note":
            if el.find("pitch") is not None:
                struck.append((at, len(struck), el))
            at += int(el.findtext("duration"))
    return [el for _, _, el in sorted(struck, key=lambda s: (s[0], s[1]))]
