"""A spec for a bare tune, written as a musician would: the key read from its signature and
the note it ends on, the meter from its time signatures, the bars from its length.

The key: the signature's major or minor key whose tonic is the final, a half close on the
dominant of one of them (`{rule: cadence, end: [half]}`), else (a modal tune) the major or
minor key on the final that fits its notes best; never a key whose third above the tonic
the tune avoids while it sounds the other (its third says its mode). A template spec
(`partimento batch --spec`) keeps every field it states; the tune fills in only what it
leaves out.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from composer.errors import SpecError
from composer.io.melodies import melody_from_file

SPEC = """\
title: {title}
key: {key}
meter: {meter}
bars: {bars}
melody:
  voice: soprano
  file: {file}
  transpose: fit
rules:
  include: [common-practice]{ending}
seed: {seed}
"""
HALF_ENDING = """
  hard:
    - {rule: cadence, end: [half]}"""


def tune_key(part: Any) -> tuple[str, str]:
    """(key, close) a musician reads from a tune: see the module's docstring."""
    import numpy as np

    from composer.grading.harmony import key_fit, key_from_signature
    from composer.io.read import pitch_from_music21, top_of
    from composer.music import Key

    notes = list(part.flatten().notes)
    final = pitch_from_music21(top_of(notes[-1])).pitch_class
    weights = np.zeros(12)
    for n in notes:
        weights[top_of(n).pitchClass] += float(n.quarterLength)
    signature = part.recurse().getElementsByClass("KeySignature").first()
    sharps = signature.sharps if signature is not None else 0
    on_final = [(Key(final, mode), "authentic") for mode in ("major", "minor")]
    signed = [key_from_signature(sharps, m) for m in ("major", "minor")]
    in_tonic = [(k, "authentic") for k in signed  # a tune may end on the tonic's third
                if final.pc in {k.degree(d).pc for d in (1, 3, 5)} and k.tonic.pc != final.pc]
    halves = [(k, "half") for k in signed if k.degree(5).pc == final.pc]
    # The notes decide the mode (Essen tunes often write their accidentals out under a
    # major signature); a close elsewhere than on the tonic must fit clearly better. A
    # tune that sounds one third above a tonic and never the other is in that third's
    # mode, however well the other's profile fits the rest of its notes (a tune on D and
    # A with C natural is not in A major).
    bonus = {id(kc): 0.1 for kc in on_final} | {id(kc): 0.05 for kc in in_tonic}
    candidates = [kc for kc in on_final + in_tonic + halves
                  if not _contradicts_third(kc[0], weights)] or on_final + in_tonic + halves
    key, close = max(candidates,
                     key=lambda kc: key_fit(kc[0], weights) + bonus.get(id(kc), 0.0))
    return f"{key.tonic.name} {key.mode}", close


def _contradicts_third(key: Any, weights: Any) -> bool:
    """The tune sounds the other third above the key's tonic, and never the key's own."""
    own, other = (4, 3) if key.mode == "major" else (3, 4)
    tonic = key.tonic.pc
    return bool(weights[(tonic + other) % 12] > 0 and weights[(tonic + own) % 12] == 0)


def tune_meter(part: Any) -> str | None:
    """The spec's meter: the tune's time signatures, or for an unmetered tune the meter
    of each bar where its length changes (None where a bar has no such meter); a tune
    with neither time signature nor bar lines is counted in 4/4, as a spec's default."""
    from music21 import stream

    bars = list(part.getElementsByClass(stream.Measure))
    if not bars:
        return "4/4"
    found: dict[int, str] = {}
    for k, m in enumerate(bars):
        # (a short last bar, the complement of a pickup, is no change of meter)
        if m.timeSignature is not None and (k == 0 or k < len(bars) - 1):
            found[k + 1] = m.timeSignature.ratioString
    if not found:  # unmetered: each bar as long as it is
        for k, m in enumerate(bars):
            length = Fraction(m.duration.quarterLength).limit_denominator(8) \
                + Fraction(m.paddingLeft).limit_denominator(8)
            den = next((d for d in (4, 8, 16) if (length * d / 4).denominator == 1), None)
            if den is None:
                return None
            num = int(length * den / 4)
            while num > 32 and den > 1 and num % 2 == 0:
                num, den = num // 2, den // 2
            found[k + 1] = f"{num}/{den}"
    changes = {b: m for k, (b, m) in enumerate(found.items())
               if k == 0 or m != list(found.values())[k - 1]}
    if 1 not in changes:
        return None
    if len(changes) == 1:
        return changes[1]
    return "{" + ", ".join(f"{b}: {m}" for b, m in changes.items()) + "}"


def meter_value(text: str) -> str | dict[int, str]:
    """The meter as a spec's field holds it: one meter, or bar → meter."""
    if not text.startswith("{"):
        return text
    return {int(b): m.strip() for b, m in (part.split(":") for part in text[1:-1].split(","))}


def tune_bars(tune: Path, meter: str | dict[int, str]) -> int:
    """How many bars the tune file's melody fills in the meter (a pickup counted as the
    spec counts it)."""
    from composer.spec.model import meter_of

    notes = melody_from_file(tune)[0]
    end = max(Fraction(o).limit_denominator(64) + Fraction(d).limit_denominator(64)
              for o, d, *_ in notes)
    return meter_of(meter).position(end - Fraction(1, 64)).bar


def tune_spec(part: Any, tune: Path, title: str, seed: int,
              template: dict[str, Any] | None = None) -> str:
    """The spec's YAML text for the tune (`part`, written to the file `tune`, named in the
    spec by its file name): the default spec, or the template with what it leaves out
    read from the tune. Raises SpecError where the tune holds no notes, or no bar of it
    has a meter."""
    if not part.flatten().notes:
        raise SpecError(f"{title}: the tune holds no notes to harmonize")
    meter_text = tune_meter(part)
    if meter_text is None and not (template and "meter" in template):
        raise SpecError(f"{title}: no bar of the tune has a meter a spec can state")
    key, close = tune_key(part)
    if template is None:
        assert meter_text is not None
        return SPEC.format(title=title, key=key, meter=meter_text, file=tune.name, seed=seed,
                           bars=tune_bars(tune, meter_value(meter_text)),
                           ending=HALF_ENDING if close == "half" else "")
    spec = dict(template)
    if "key" not in spec:
        spec["key"] = key
        if close == "half":
            rules = dict(spec.get("rules") or {"include": ["common-practice"]})
            rules["hard"] = [*rules.get("hard", ()), {"rule": "cadence", "end": ["half"]}]
            spec["rules"] = rules
    if "meter" not in spec:
        assert meter_text is not None
        spec["meter"] = meter_value(meter_text)
    spec.setdefault("title", title)
    spec.setdefault("bars", tune_bars(tune, spec["meter"]))
    spec["melody"] = {"voice": "soprano", "transpose": "fit",
                      **dict(spec.get("melody") or {}), "file": tune.name}
    spec.setdefault("seed", seed)
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def read_template(path: Path) -> dict[str, Any]:
    """A template spec: a YAML mapping (its melody's file is each tune's)."""
    from composer.spec.yamlfile import load_yaml

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise SpecError("a template spec is a mapping, as a spec is", doc.where(()))
    return dict(doc.data)
