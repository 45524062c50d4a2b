"""The score as the studio shows it: verovio's SVG pages and an index of every note in
them (its element id, bar, staff, onset and release in quarters and milliseconds, MIDI
pitch), from which the page plays, follows, selects and marks notes."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from composer.errors import ScoreError
from composer.io.preview import System

OPTIONS = {"pageWidth": 2100, "pageHeight": 2970, "scale": 40, "adjustPageHeight": True,
           "footer": "none", "header": "auto", "spacingSystem": 16,
           "svgAdditionalAttribute": ["measure@n", "staff@n", "layer@n"]}
EPS = 1e-6


def engrave(musicxml: str) -> dict[str, Any]:
    """Every page and the note index of a MusicXML score; the same ids every time."""
    pages, notes = _engraved(musicxml, OPTIONS, 1, timed=True)
    return {"pages": list(pages), "notes": sorted((dict(n) for n in notes), key=_order)}


def engrave_systems(systems: Sequence[System], tempo: int) -> dict[str, Any]:
    """A piece engraved system by system, as the studio shows it: one SVG a system, each
    engraved once per process (a revision engraves only the systems it changed), the
    notes timed from the score's start at the piece's tempo."""
    pages, notes = [], []
    for k, system in enumerate(systems):
        options = {**OPTIONS, "header": "auto" if k == 0 else "none",
                   "minLastJustification": 0 if k < len(systems) - 1 else 0.8}
        (page,), found = _engraved(system.musicxml, options, k + 1, timed=False)
        pages.append(page)
        shift = float(system.start)
        for n in found:
            on, off = n["on"] + shift, n["off"] + shift
            notes.append({**n, "page": k + 1, "on": on, "off": off,
                          "ms": round(on * 60000 / tempo), "ms_off": round(off * 60000 / tempo)})
    return {"pages": pages, "notes": sorted(notes, key=_order)}


def _order(note: dict[str, Any]) -> tuple:
    return note["on"], note["staff"], note["layer"], -note["midi"]


@functools.lru_cache(maxsize=128)
def _engraved_cached(musicxml: str, options: str, seed: int, timed: bool
                     ) -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    toolkit = _toolkit()
    toolkit.resetOptions()  # nothing left from the score engraved before
    toolkit.setOptions(json.loads(options))
    toolkit.resetXmlIdSeed(seed)
    if not toolkit.loadData(musicxml):
        raise ScoreError("verovio could not read the score it was given")
    pages = tuple(toolkit.renderToSVG(n) for n in range(1, toolkit.getPageCount() + 1))
    places = {}
    for n, page in enumerate(pages, start=1):
        for note_id, bar, staff, layer in _notes_in(page):
            places[note_id] = {"page": n, "bar": bar, "staff": staff, "layer": layer}
    notes = []
    for note_id, on, off, ms, ms_off in _timed(toolkit.renderToTimemap({})):
        if note_id not in places:
            continue
        midi = toolkit.getMIDIValuesForElement(note_id).get("pitch", 0)
        timing = {"ms": ms, "ms_off": ms_off} if timed else {}
        notes.append({"id": note_id, **places[note_id], "on": on, "off": off, **timing,
                      "midi": midi})
    return pages, tuple(notes)


@functools.cache
def _toolkit() -> Any:
    """One verovio toolkit for the process, its fonts and resources loaded once (a
    studio worker engraves one score at a time)."""
    import verovio  # lazy: only the studio's workers and --svg engrave

    return verovio.toolkit()


def _engraved(musicxml: str, options: dict[str, Any], seed: int, timed: bool
              ) -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    """verovio's pages and notes for a score; the same score, options and id seed give
    the same answer, so it is kept (the dicts are copied by every caller)."""
    return _engraved_cached(musicxml, json.dumps(options, sort_keys=True), seed, timed)


_TAG = re.compile(r'<g id="([^"]*)" class="(measure|staff|layer|note)[ "](?:[^>]*?data-n="'
                  r'([^"]*)")?')


def _notes_in(svg: str) -> Iterator[tuple[str, int, int, int]]:
    """(id, bar, staff, layer) of every note, from the classes verovio writes: each note
    is inside the measure, staff and layer opened last before it."""
    bar, staff, layer = 0, 0, 1
    for m in _TAG.finditer(svg):
        kind, number = m.group(2), m.group(3) or ""
        if kind == "measure":
            bar = int(number) if number.lstrip("-").isdigit() else bar
        elif kind == "staff":
            staff = int(number or 0)
        elif kind == "layer":
            layer = int(number or 1)
        else:
            yield m.group(1), bar, staff, layer


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
