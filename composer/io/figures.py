"""The figures of a MusicXML file's <figured-bass> elements, which music21 does not
read: the standard library's XML parser at the edge, for composer.io.read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

_ACCIDENTAL_WORDS = {"sharp": "#", "flat": "b", "natural": "n", "plus": "#", "slash": "#",
                     "backslash": "#", "double-sharp": "x", "flat-flat": "bb",
                     "sharp-sharp": "##"}


def figures_by_offset(path: Path, score: Any, line: Any, pad: float) -> dict[float, str]:
    """The figures over the notes of `line` (a part of the music21 `score` read from
    path), by offset in quarter notes from the start, `pad` added as to the notes."""
    parts = list(score.parts)
    written = xml_figures(path)
    here = parts.index(line) if line in parts else next(
        (k for k, found in enumerate(written) if found), 0)
    if here >= len(written) or here >= len(parts):
        return {}
    measures = list(parts[here].getElementsByClass("Measure"))
    return {float(measures[m].offset) + at + pad: text
            for m, at, text in written[here] if m < len(measures)}


def xml_figures(path: Path) -> list[list[tuple[int, float, str]]]:
    """Per <part> of a MusicXML file, (measure index, quarter notes into the measure,
    figure) of each note that <figured-bass> elements stand before."""
    suffix = path.suffix.lower()
    if suffix not in (".musicxml", ".xml", ".mxl"):
        return []
    try:
        if suffix == ".mxl":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()
                         if n.endswith((".xml", ".musicxml")) and not n.startswith("META-INF")]
                root = ET.fromstring(archive.read(names[0])) if names else None
        else:
            root = ET.parse(path).getroot()
    except (ET.ParseError, zipfile.BadZipFile, OSError):
        return []  # music21 read it: then there are no figures to be had
    if root is None:
        return []
    return [_part_figures(part) for part in root.iter("part") if part.find("measure") is not None]


def _part_figures(part: Any) -> list[tuple[int, float, str]]:
    out: list[tuple[int, float, str]] = []
    divisions = 1.0
    for m, measure in enumerate(part.iter("measure")):
        at, pending = 0.0, []
        for el in measure:
            if el.tag == "attributes" and el.findtext("divisions"):
                divisions = float(el.findtext("divisions") or 1)
            elif el.tag == "figured-bass":
                pending.append(_figure_text(el))
            elif el.tag in ("backup", "forward"):
                step = float(el.findtext("duration") or 0) / divisions
                at += -step if el.tag == "backup" else step
            elif el.tag == "note" and el.find("chord") is None and el.find("grace") is None:
                if pending:
                    stages = [p for p in pending if p != "_"] or ["_"]
                    out.append((m, at, "-".join(stages)))
                    pending = []
                at += float(el.findtext("duration") or 0) / divisions
    return out


def _figure_text(element: Any) -> str:
    """One <figured-bass> in the shorthand: its figures top to bottom joined by '/'
    (5/3 where none is written; '_' where each only extends the one before)."""
    parts = []
    extends = False
    for figure in element.iter("figure"):
        number = (figure.findtext("figure-number") or "").strip()
        prefix = _ACCIDENTAL_WORDS.get((figure.findtext("prefix") or "").strip(), "")
        suffix = _ACCIDENTAL_WORDS.get((figure.findtext("suffix") or "").strip(), "")
        if not (number or prefix or suffix):
            extends |= figure.find("extend") is not None
            continue
        parts.append(f"{prefix or suffix}{number}")
    return "/".join(parts) if parts else "_" if extends else "5/3"
