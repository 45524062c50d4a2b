"""The melody a spec gives: read from TinyNotation or a file, set in the piece's meter,
with the figures of a figured bass laid over it, and moved into its voice's range where
the spec asks.

Each mistake names its place: a TinyNotation token by its line and column in the spec.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from composer.errors import SpecError
from composer.io.melodies import MelodyEvent, figured_melody_from_file
from composer.music import Key, Meter, Pitch
from composer.rules.vertical import STANDARD_RANGES
from composer.spec.figures import check_figures, figured_notes, parse_figure
from composer.spec.model import SpecModel
from composer.spec.rulesets import RuleUse
from composer.spec.tinynotation import NotationError, read_tinynotation
from composer.spec.transposition import Transposition, fit, parse_interval
from composer.spec.values import Melody, MelodyNote
from composer.spec.yamlfile import YamlDoc, field_name

if TYPE_CHECKING:
    from composer.spec.figures import Figure


def read_melody(doc: YamlDoc, model: SpecModel, meter: Meter | None, key: Key,
                rules: tuple[RuleUse, ...], folder: Path) -> tuple[Melody, Meter, Key]:
    """The melody, the piece's meter (the spec's, else the melody's own) and its key (the
    spec's, transposed with the melody where that changes it)."""
    m = model.melody
    assert m is not None
    if m.figures is not None and m.voice != "bass":
        raise doc.error(("melody", "figures"), f"figures stand over a bass, not the {m.voice}:"
                        " give the bass line with 'voice: bass'")
    if (m.tinynotation is None) == (m.file is None):
        raise doc.error(("melody",), "give the melody as 'tinynotation' or as 'file', not both")
    where: tuple[str, ...] = ("melody", "tinynotation" if m.file is None else "file")
    in_file: dict[float, str] = {}  # the figures a MusicXML file writes over its notes
    if m.tinynotation is not None:
        events, own = _from_tinynotation(doc, where, m.tinynotation, meter)
    else:
        events, own, in_file = _from_file(doc, where, str(m.file), folder,
                                          lowest=m.voice == model.voices[-1])
    meter = meter or own or Meter(4, 4)
    notes = _with_rests([MelodyNote(Fraction(o).limit_denominator(64),
                                    Fraction(d).limit_denominator(64), p, f, lyric)
                         for o, d, p, f, lyric in events])
    length = notes[-1].offset + notes[-1].duration if notes else Fraction(0)
    if length > meter.bar_start(model.bars + 1):
        raise doc.error(where, f"the melody lasts {round(meter.bars(length), 2):g} bars but"
                        f" the piece has {model.bars} (bars at {doc.where(('bars',))})")
    melody = Melody(m.voice, notes, doc.where(where))
    if m.figures is not None:
        melody = _figured(doc, melody, m.figures, key, meter)
    elif in_file and m.voice == "bass":
        melody = _figured_from_file(doc, melody, in_file, key, meter)
    if m.transpose is None or not any(n.pitch for n in notes):
        return melody, meter, key
    melody, key = _transposed(doc, melody, m.transpose, key, rules)
    return melody, meter, key


def _with_rests(notes: list[MelodyNote]) -> tuple[MelodyNote, ...]:
    """The melody with a rest wherever a file leaves time empty between its notes (a
    score may skip a silence rather than write a rest)."""
    out: list[MelodyNote] = []
    for note in notes:
        end = out[-1].offset + out[-1].duration if out else note.offset
        if note.offset > end:
            out.append(MelodyNote(end, note.offset - end, None))
        out.append(note)
    return tuple(out)


def _from_tinynotation(doc: YamlDoc, where: tuple[str, ...], text: str, meter: Meter | None
                       ) -> tuple[Sequence[MelodyEvent], Meter | None]:

    try:
        tiny = read_tinynotation(text, meter)
    except NotationError as exc:
        raise SpecError(str(exc), doc.where_in(where, exc.at), field_name(where)) from None
    return tiny.notes, tiny.meter


def _from_file(doc: YamlDoc, where: tuple[str, ...], name: str, folder: Path,
               lowest: bool = False
               ) -> tuple[Sequence[MelodyEvent], Meter | None, dict[float, str]]:
    """The file's top line, or (`lowest`: a melody for the lowest voice) its bottom one."""

    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        linked = (folder / name).is_symlink()  # beside the spec, but a link to elsewhere
        raise doc.error(where, f"'{name}' {f'links to {target}, which lies' if linked else 'lies'}"
                        " outside the spec's folder; put the melody file beside the spec"
                        " or below it")
    if not target.is_file():
        raise doc.error(where, f"no such file '{name}' (looked in {folder})")
    try:
        return figured_melody_from_file(target, lowest)
    except ValueError as exc:
        raise doc.error(where, str(exc)) from None


def _figured_from_file(doc: YamlDoc, melody: Melody, in_file: dict[float, str], key: Key,
                       meter: Meter) -> Melody:
    """The bass with the figures its file writes (<figured-bass>); a note without one is
    a triad on its root where it starts a beat or opens the bass, else a passing note."""

    where = ("melody", "file")
    figures: list[Figure | None] = []
    sounding = [n for n in melody.notes if n.pitch is not None]
    for note in melody.notes:
        if note.pitch is None:
            figures.append(None)
            continue
        at = meter.position(note.offset)
        written = next((f for o, f in in_file.items() if abs(o - float(note.offset)) < 1e-6),
                       None)
        if written is None:
            written = "-" if float(at.beat).is_integer() or note is sounding[0] else "_"
        try:
            figures.append(replace(parse_figure(written), origin=doc.where(where),
                                   field_name=field_name(where)))
        except ValueError as exc:
            raise doc.error(where, f"bar {at.bar} beat {at.beat:g}: {exc}") from None
    out = replace(melody, figures=tuple(figures))
    check_figures(out, key, meter)
    return out


def _figured(doc: YamlDoc, melody: Melody, figures: str, key: Key, meter: Meter) -> Melody:
    """The melody with the spec's figures laid over its notes, one per note, each
    mistake placed at its figure."""

    where = ("melody", "figures")
    words = list(re.finditer(r"\S+", figures))
    places = [doc.where_in(where, w.start()) for w in words]
    parsed = []
    for word, place in zip(words, places, strict=True):
        try:
            parsed.append(replace(parse_figure(word.group()), origin=place))
        except ValueError as exc:
            raise SpecError(str(exc), place, field_name(where)) from None
    notes = sum(n.pitch is not None for n in melody.notes)
    if len(words) != notes:
        many = len(words) > notes
        line = doc.where(where).line
        raw = doc.text.splitlines()[line - 1] if line else ""
        hint = (" (quote the figures: in YAML a # after a space begins a comment)"
                if not many and " #" in raw and not raw.rstrip().endswith(("'", '"')) else "")
        raise SpecError(f"{len(words)} figures for the bass's {notes} notes: write one figure"
                        f" over each note, rests taking none{hint}",
                        places[notes] if many else doc.where(where), field_name(where))
    out = replace(melody, figures=figured_notes([n.pitch for n in melody.notes], parsed))
    check_figures(out, key, meter)
    return out


def voice_range(voice: str, rules: tuple[RuleUse, ...]) -> tuple[Pitch, Pitch]:
    """The range the spec's hard voice-range rule gives the voice, else its standard one."""
    low, high = (Pitch.parse(p) for p in STANDARD_RANGES[voice])
    uses = [u for u in rules if u.rule.id == "voice-range" and u.severity == "error"
            and u.params.get("voice") in (None, voice)]
    for use in sorted(uses, key=lambda u: u.params.get("voice") is not None):  # own last
        low = _pitch(use.params.get("low")) or low
        high = _pitch(use.params.get("high")) or high
    return low, high


def _pitch(value: object) -> Pitch | None:
    return value if isinstance(value, Pitch) or value is None else Pitch.parse(str(value))


def _transposed(doc: YamlDoc, melody: Melody, asked: str, key: Key,
                rules: tuple[RuleUse, ...]) -> tuple[Melody, Key]:
    """The melody moved as `transpose` asks, and the key it is then in."""
    where = ("melody", "transpose")
    sounding = [n.pitch for n in melody.notes if n.pitch is not None]
    lowest, highest = min(sounding), max(sounding)
    if asked == "fit":
        low, high = voice_range(melody.voice, rules)
        reason = f"to fit the {melody.voice}'s range {low}–{high}"
        if highest.midi - lowest.midi > high.midi - low.midi:
            reason = (f"to lie as near the {melody.voice}'s range {low}–{high} as it can"
                      f" (it reaches from {lowest} to {highest}, wider than the range)")
        shift = fit(low, high, lowest, highest, key)
        if shift is None:
            return melody, key
        steps, semitones, new = shift
    else:
        steps, semitones = parse_interval(asked)
        reason = f"as 'transpose: {asked}' asks"
        octaves = steps % 7 == 0 and semitones == 12 * (steps // 7)
        new = None if octaves else Key(key.tonic.up(steps, semitones), key.mode)
        if steps == semitones == 0:
            return melody, key
    moved = Transposition(steps, semitones, new, reason, doc.where(where))
    notes = tuple(replace(n, pitch=moved.pitch(n.pitch)) if n.pitch is not None else n
                  for n in melody.notes)
    return replace(melody, notes=notes, transposed=moved), new or key
