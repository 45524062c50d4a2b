"""Revising a saved piece: regenerate chosen bars (and voices), keep every other note.

The piece's JSON (OUT.json) holds the spec as written, the chord, voicing and figures of
every slot. A revision composes the same spec again with everything outside the region
kept (composer/sample/kept.py), so the region is drawn from the model conditioned on
the rules and on the music around it, and every hard rule holds across its borders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from composer.errors import Location, SpecError, UnsatisfiableError, closest
from composer.music import Key, Pitch
from composer.pipeline import Composition, compose
from composer.planning.keys import where_of
from composer.rules import RULES
from composer.sample.kept import Kept
from composer.sample.reuse import Reuse
from composer.sample.scorer import Scorer
from composer.spec.load import spec_from_text
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec
from composer.surface.figures import NAMES

FORMAT, VERSION = "partimento-piece", 1


@dataclass(frozen=True)
class Saved:
    """A piece JSON read and checked against its own spec."""

    source: str  # the file it came from, for messages
    spec: Spec
    slots: tuple[Mapping[str, Any], ...]
    voicings: tuple[tuple[Pitch, ...], ...]
    keys: tuple[str, ...] | None = None  # per phrase, the key it stands in ('': home)

    @property
    def pickup(self) -> int:
        """1 where the score is printed with a pickup as bar 0 (the plan counts it as bar
        1), else 0: a revision's bars are the printed ones, as a musician reads them."""
        lead = Fraction(self.slots[0]["offset"])
        return int(0 < lead < self.spec.meter.first.bar_length)

    def printed_bar(self, t: int) -> int:
        return int(self.slots[t]["bar"]) - self.pickup


def read_piece(piece: Mapping[str, Any] | str | Path, folder: Path | None = None) -> Saved:
    """The saved piece, or a SpecError (exit 2) naming what is wrong with the file: not a
    piece JSON, another version, or a hand edit that its spec no longer reads."""
    source = "<piece>"
    if not isinstance(piece, Mapping):
        source = str(piece)
        try:
            piece = json.loads(Path(piece).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(f"cannot read it ({exc.strerror})", Location(source)) from None
        except ValueError as exc:
            beside = Path(source).with_suffix(".json")
            hint = f"; revise reads the .json compose wrote beside it ({beside})" \
                if Path(source).suffix.lower() != ".json" else ""
            raise SpecError(f"not JSON ({exc}){hint}", Location(source)) from None
    where = Location(source)
    if not isinstance(piece, Mapping) or piece.get("format") != FORMAT:
        raise SpecError(f"not a piece written by `partimento compose` (no \"format\":"
                        f" \"{FORMAT}\")", where)
    if piece.get("version") != VERSION:
        raise SpecError(f"a piece of version {piece.get('version')!r}; this Partimento reads"
                        f" version {VERSION}: compose it again from its spec", where, "version")
    spec_doc, slots = piece.get("spec"), piece.get("slots")
    if not isinstance(spec_doc, Mapping) or not isinstance(spec_doc.get("yaml"), str) \
            or not isinstance(slots, list) or not slots:
        raise SpecError("the piece has no spec or no slots", where)
    file = str(spec_doc.get("file") or source)
    if folder is None:
        folder = Path(file).parent if spec_doc.get("file") else Path(source).parent
    spec = spec_from_text(spec_doc["yaml"], file, folder)
    if isinstance(piece.get("seed"), int):
        spec = replace(spec, seed=piece["seed"])
    voicings = []
    for i, slot in enumerate(slots):
        try:
            voicing = tuple(Pitch.parse(p) for p in slot["voicing"])
            figures = slot.get("figures", {})
            bad = [f for f in figures.values() if f != "given" and f not in NAMES]
            if len(voicing) != len(spec.voices) or bad or not isinstance(slot["bar"], int):
                raise ValueError(f"unknown figures {bad}" if bad else "wrong shape")
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"slot {i + 1} cannot be read ({exc}); compose the piece again",
                            where, "slots") from None
        voicings.append(voicing)
    return Saved(source, spec, tuple(slots), tuple(voicings), _keys(spec, piece, where))


def _keys(spec: Spec, piece: Mapping[str, Any], where: Location) -> tuple[str, ...] | None:
    """The key of each saved phrase, as the chain names it: a revision keeps them (its
    seed would draw other keys), so the kept chords mean what they meant."""
    phrases = piece.get("phrases")
    if not isinstance(phrases, list) or not all(isinstance(p, Mapping) for p in phrases):
        return None
    try:
        return tuple(where_of(spec.key, Key.parse(str(p.get("key") or spec.key)))
                     for p in phrases)
    except ValueError as exc:
        raise SpecError(f"a phrase's key cannot be read ({exc}); compose the piece again",
                        where, "phrases") from None


def revise(piece: Saved | Mapping[str, Any] | str | Path, *,
           bars: tuple[int, int] | str | None = None, voices: Sequence[str] | None = None,
           locks: Sequence[tuple[int, float, str]] = (),
           seed: int | None = None, plan: bool = False, surface_only: bool = False,
           scorer: Scorer | None = None, folder: Path | None = None,
           reuse: Reuse | None = None) -> Composition:
    """The piece with bars `bars` (both included; all bars when None) of `voices` (every
    voice the spec does not give, when None) drawn again; `locks` (bar, beat, voice) keep
    single notes inside them; `plan` draws the region's chords again too; `surface_only`
    only its figures. UnsatisfiableError names the kept notes and the rules that
    conflict; SpecError (exit 2) a piece JSON that is foreign or no longer its spec's.
    `reuse`: what earlier revisions worked out that this one may take again (the same
    music, sooner: composer/sample/reuse.py)."""
    saved = piece if isinstance(piece, Saved) else read_piece(piece, folder)
    spec = saved.spec if seed is None else replace(saved.spec, seed=seed)
    region = _region(saved, bars)
    moving = _voices(saved, voices)
    kept = _kept(saved, region, moving, _locked(saved, locks), plan, surface_only)
    try:
        return compose(spec, scorer, kept=kept, reuse=reuse)
    except UnsatisfiableError:
        _replay(saved, scorer)  # a piece that its own spec no longer allows: exit 2
        raise


def _replay(saved: Saved, scorer: Scorer | None) -> None:
    """Keep everything: where even that fails, the file is at fault, not the request."""
    everything = _kept(saved, set(), set(), set(), False, False)
    try:
        compose(saved.spec, scorer, kept=everything)
    except UnsatisfiableError as exc:
        raise SpecError(f"the piece no longer obeys its spec ({exc}); was it edited by"
                        " hand? compose it again from its spec", Location(saved.source)) from None


def bar_range(text: str) -> tuple[int, int]:
    """'5-8' (or '5') as (first, last), as the command line's --bars reads it."""
    first, _, last = str(text).partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise SpecError(f"'{text}' is not a bar range (e.g. 5-8, or 5)", field="--bars"
                        ) from None


def _region(saved: Saved, bars: tuple[int, int] | str | None) -> set[int]:
    numbers = [saved.printed_bar(t) for t in range(len(saved.slots))]
    if bars is None:
        return set(range(len(numbers)))
    first, last = bar_range(bars) if isinstance(bars, str | int) else bars
    if first > last:
        raise SpecError(f"bars {first}-{last}: the first bar comes after the last",
                        field="--bars")
    if first > max(numbers) or last < min(numbers):
        raise SpecError(f"bars {first}-{last}: the piece has bars {min(numbers)}-"
                        f"{max(numbers)}", field="--bars")
    return {t for t, b in enumerate(numbers) if first <= b <= last}


def _voices(saved: Saved, voices: Sequence[str] | None) -> set[int]:
    spec = saved.spec
    given = spec.melody.voice if spec.melody is not None else None
    if voices is None:
        return {v for v, name in enumerate(spec.voices) if name != given}
    if isinstance(voices, str):  # 'alto,tenor', as the command line's --voices
        voices = [v.strip() for v in voices.split(",") if v.strip()]
    out = set()
    for name in voices:
        if name not in spec.voices:
            raise SpecError(f"'{name}' is not a voice of the piece{closest(name, spec.voices)}"
                            f" (accepted: {', '.join(spec.voices)})", field="--voices")
        if name == given:
            raise SpecError(f"the {name} is the given melody, which a revision keeps",
                            field="--voices")
        out.add(spec.voices.index(name))
    return out


def _locked(saved: Saved, locks: Sequence[tuple[int, float, str]]) -> set[tuple[int, int]]:
    """(slot, voice) of each lock: the slot sounding at that bar and beat."""
    out = set()
    voices = saved.spec.voices
    for bar, beat, voice in locks:
        if voice not in voices:
            raise SpecError(f"{bar}:{beat:g}:{voice}: '{voice}' is not a voice of the piece"
                            f"{closest(voice, voices)} (accepted: {', '.join(voices)})",
                            field="--lock")
        length = saved.spec.meter.in_bar(max(bar + saved.pickup, 1)).beat_length
        here = [t for t in range(len(saved.slots)) if saved.printed_bar(t) == bar]
        at = [t for t in here if saved.slots[t]["beat"] <= beat
              < saved.slots[t]["beat"] + Fraction(saved.slots[t]["duration"]) / length]
        if not at:
            beats = sorted({f"{saved.slots[t]['beat']:g}" for t in here})
            raise SpecError(f"{bar}:{beat:g}:{voice}: no note there (bar {bar} has beats"
                            f" {', '.join(beats) or 'none'})", field="--lock")
        out.add((at[-1], voices.index(voice)))
    return out


def _kept(saved: Saved, region: set[int], moving: set[int], locked: set[tuple[int, int]],
          plan: bool, surface_only: bool) -> Kept:
    """Outside the region everything stays; inside, the voices that do not move, the
    locked notes, the chords (unless `plan`), and the voicings (if `surface_only`). A
    note a kept figure leads to (the next beat's) or from (a suspension's preparation)
    stays as well, so that the kept figure writes the same notes."""
    spec, slots = saved.spec, saved.slots
    voices = range(len(spec.voices))
    figures = [s.get("figures") or {} for s in slots]

    def free(t: int, v: int) -> bool:
        return t in region and v in moving

    notes: set[tuple[int, int]] = {(t, v) for t in range(len(slots)) for v in voices
                                   if surface_only or not free(t, v)} | locked
    for t in range(len(slots)):
        for v in voices:
            name = figures[t].get(spec.voices[v])
            if free(t, v):
                continue
            if t + 1 < len(slots) and name not in (None, "hold", "given"):
                notes.add((t + 1, v))  # the note this figure leads to
            if t > 0 and name == "suspension":
                notes.add((t - 1, v))  # the note it holds over
    given = spec.voices.index(spec.melody.voice) if spec.melody is not None else None
    uses = tuple(_fixed(saved, t, v) for t, v in sorted(notes) if v != given)
    numerals = tuple(None if t in region and plan and not surface_only else s["numeral"]
                     for t, s in enumerate(slots))
    kept_figures = tuple(tuple(figures[t].get(name) if not free(t, v) else None
                               for v, name in enumerate(spec.voices)) if figures[t] else None
                         for t in range(len(slots)))
    span = (max(min(region) - 1, 0), min(max(region) + 1, len(slots) - 1)) if region \
        else None
    return Kept(numerals, uses, kept_figures, saved.voicings, span, saved.keys,
                (min(region), max(region)) if region else None)


def _fixed(saved: Saved, t: int, v: int) -> RuleUse:
    slot = saved.slots[t]
    params = {"voice": saved.spec.voices[v], "bar": int(slot["bar"]),
              "beat": float(Fraction(slot["beat"])), "pitch": saved.voicings[t][v]}
    return RuleUse(RULES["fixed"], params, "error", origin=Location(saved.source),
                   given=frozenset(params))
