"""The score as the studio shows it: verovio's SVG pages and an index of every note in
them (its element id, bar, staff, onset and release in quarters and milliseconds, MIDI
pitch), from which the page plays, follows, selects and marks notes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from typing import Any

from composer.errors import ScoreError

SVG = "{http://www.w3.org/2000/svg}"
OPTIONS = {"pageWidth": 2100, "pageHeight": 2970, "scale": 40, "adjustPageHeight": True,
           "footer": "none", "header": "auto", "spacingSystem": 16,
           "svgAdditionalAttribute": ["measure@n", "staff@n", "layer@n"]}
EPS = 1e-6


def engrave(musicxml: str) -> dict[str, Any]:
    """Every page and the note index of a MusicXML score; the same ids every time."""
    import verovio  # lazy: only the studio's workers and --svg engrave

    toolkit = verovio.toolkit()
    toolkit.setOptions(OPTIONS)
    toolkit.resetXmlIdSeed(1)
    if not toolkit.loadData(musicxml):
        raise ScoreError("verovio could not read the score it was given")
    pages = [toolkit.renderToSVG(n) for n in range(1, toolkit.getPageCount() + 1)]
    places = {}
    for n, page in enumerate(pages, start=1):
        for note_id, bar, staff, layer in _notes_in(ET.fromstring(page)):
            places[note_id] = {"page": n, "bar": bar, "staff": staff, "layer": layer}
    notes = []
    for note_id, on, off, ms, ms_off in _timed(toolkit.renderToTimemap({})):
        if note_id not in places:
            continue
        midi = toolkit.getMIDIValuesForElement(note_id).get("pitch", 0)
        notes.append({"id": note_id, **places[note_id], "on": on, "off": off, "ms": ms,
                      "ms_off": ms_off, "midi": midi})
    notes.sort(key=lambda x: (x["on"], x["staff"], x["layer"], -x["midi"]))
    return {"pages": pages, "notes": notes}


def _notes_in(root: ET.Element) -> Iterator[tuple[str, int, int, int]]:
    """(id, bar, staff, layer) of every note, from the classes verovio writes."""
    def walk(el: ET.Element, bar: int, staff: int, layer: int) -> Iterator[tuple]:
        kind = el.get("class", "").split(" ")[0] if el.tag == SVG + "g" else ""
        number = el.get("data-n", "")
        if kind == "measure":
            bar = int(number) if number.lstrip("-").isdigit() else bar
        elif kind == "staff":
            staff = int(number or 0)
        elif kind == "layer":
            layer = int(number or 1)
        elif kind == "note":
            yield el.get("id", ""), bar, staff, layer
        for child in el:
            yield from walk(child, bar, staff, layer)

    yield from walk(root, 0, 0, 1)


def _timed(timemap: Iterable[dict[str, Any]]) -> Iterator[tuple[str, float, float, int, int]]:
    """(id, onset, release in quarters, onset, release in ms) of every note sounded."""
    started: dict[str, tuple[float, int]] = {}
    for event in timemap:
        q, ms = float(event.get("qstamp", 0)), int(event.get("tstamp", 0))
        for note_id in event.get("off", ()):
            if note_id in started:
                on, at = started.pop(note_id)
                yield note_id, on, q, at, ms
        for note_id in event.get("on", ()):
            started[note_id] = (q, ms)
    for note_id, (on, at) in started.items():
        yield note_id, on, on, at, at


def note_ids(notes: list[dict[str, Any]], voice: int, offset: float, midi: int | None
             ) -> list[str]:
    """The id of the note the checker means by (voice, offset, pitch): the note of that
    pitch sounding then, and among several the one whose place from the top of the chord
    is the voice's."""
    sounding = sorted((n for n in notes if n["on"] - EPS <= offset < n["off"] - EPS
                       or abs(n["on"] - offset) < EPS),
                      key=lambda n: (n["staff"], n["layer"], -n["midi"]))
    if not sounding:
        return []
    fits = [k for k, n in enumerate(sounding) if midi is None or n["midi"] == midi]
    if not fits:
        return []
    best = min(fits, key=lambda k: abs(k - voice))
    return [sounding[best]["id"]]


def bar_beats(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan under the staves: each slot's bar, beat, onset (quarters from the first
    written note), roman numeral and cadence, and each phrase's section, from a piece's
    JSON."""
    slots = doc.get("slots", [])
    if not slots:
        return []
    start = min(_quarters(s["offset"]) for s in slots)
    firsts = {p["first_bar"]: p for p in doc.get("phrases", [])}
    out, seen = [], set()
    for s in slots:
        phrase = firsts.get(s["bar"]) if s["bar"] not in seen else None
        seen.add(s["bar"])
        out.append({"bar": s["bar"], "beat": s["beat"], "on": _quarters(s["offset"]) - start,
                    "numeral": s.get("numeral"), "cadence": s.get("cadence"),
                    "section": phrase["section"] if phrase else None,
                    "phrase_cadence": phrase["cadence"] if phrase else None})
    return out


def _quarters(text: str | float) -> float:
    if isinstance(text, str) and "/" in text:
        a, b = text.split("/")
        return int(a) / int(b)
    return float(text)
