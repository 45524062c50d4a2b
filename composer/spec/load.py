"""The spec: the only place that sees a user's raw YAML.

A spec file is read with positions kept (composer.spec.yamlfile), validated with pydantic,
and turned into one immutable `Spec`. Every error names the file, line and column, the
field, and what would be accepted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from composer.errors import SpecError, closest
from composer.music import Key, Meter
from composer.spec.melody import read_melody
from composer.spec.model import MelodyModel, RulesModel, SpecModel, meter_of
from composer.spec.rulesets import RuleUse, load_ruleset, merge, parse_use
from composer.spec.values import Spec
from composer.spec.yamlfile import YamlDoc, field_name, load_yaml


def load_spec(path: Path | str) -> Spec:
    path = Path(path)
    doc = load_yaml(path)
    text = path.read_text(encoding="utf-8")
    return spec_from_doc(doc, text, path.parent)


def spec_from_text(text: str, source: str = "<spec>", folder: Path | None = None) -> Spec:
    """A spec written out in full (a melody file is looked for in `folder`, by default
    the working folder); its errors name `source` as their file."""
    return spec_from_doc(load_yaml(source, text), text, folder or Path.cwd())


def spec_from_doc(doc: YamlDoc, text: str, folder: Path) -> Spec:
    if not isinstance(doc.data, dict):
        raise SpecError("a spec is a mapping with at least 'key' and 'bars'", doc.where(()))
    try:
        model = SpecModel.model_validate(doc.data)
    except ValidationError as exc:
        raise _spec_error(doc, exc) from None
    given = "meter" in doc.data  # else a melody's own time signatures are the meter
    meter, key, melody = meter_of(model.meter), Key.parse(model.key), None
    rules = _rules(doc, model)
    if model.melody:

        melody, meter, key = read_melody(doc, model, meter if given else None, key, rules,
                                         folder)
    late = [bar for bar, _ in meter.changes if bar > model.bars]
    if late:
        raise doc.error(("meter",) if given else ("melody",), f"the meter changes at bar"
                        f" {late[0]} but the piece has {model.bars} bars (bars at"
                        f" {doc.where(('bars',))})")
    _check_fixed(doc, model, meter)
    _check_form(doc, model)
    return Spec(model.title, key, meter, model.bars, model.tempo,
                tuple(model.voices), model.form, tuple(model.cadences.items()), melody, rules,
                model.seed, model.temperature, doc.file, text, model.surface,
                model.climax)


MAPPINGS: dict[str, type[BaseModel]] = {"melody": MelodyModel, "rules": RulesModel}


def _spec_error(doc: YamlDoc, exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"]
                if not (isinstance(p, str) and p.startswith(("dict[", "str"))))
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        parent: Any = SpecModel if len(loc) == 1 else {
            "melody": MelodyModel, "rules": RulesModel}.get(str(loc[0]))
        accepted = list(parent.model_fields) if parent else []
        name = str(loc[-1])
        msg = f"unknown field '{name}'{closest(name, accepted)}; accepted: {', '.join(accepted)}"
    elif kind == "missing":
        msg = "this field is required"
    elif kind == "model_type" and (model := MAPPINGS.get(str(loc[-1]))) is not None:
        given = err.get("input")
        msg = (f"should be a mapping of the fields {', '.join(model.model_fields)}, not"
               f" {'a list' if isinstance(given, list) else repr(given)}")
        if model is RulesModel and isinstance(given, list):
            msg += f"; rule sets are included so: rules: {{include: {given}}}".replace("'", "")
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif kind in ("literal_error", "less_than_equal", "greater_than_equal", "greater_than"):
        msg = f"{msg} (got {err.get('input')!r})"
    return SpecError(msg, doc.where(loc), field_name(loc))


def _rules(doc: YamlDoc, model: SpecModel) -> tuple[RuleUse, ...]:
    uses: tuple[RuleUse, ...] = ()
    for i, name in enumerate(model.rules.include):
        try:
            uses = merge(uses, load_ruleset(name).uses)
        except SpecError as exc:
            if exc.location is not None:  # an error inside the rule set file itself
                raise
            raise doc.error(("rules", "include", i), exc.message) from None
    hard = [parse_use(doc, ("rules", "hard", i)) for i in range(len(model.rules.hard))]
    hard = [_with_severity(u, "error") for u in hard]
    soft = [parse_use(doc, ("rules", "soft", i), extra=("weight",))
            for i in range(len(model.rules.soft))]
    soft = [_with_severity(u, "warning") for u in soft]
    return tuple(u for u in merge(uses, [*hard, *soft]) if u.severity != "off")


def _with_severity(use: RuleUse, severity: str) -> RuleUse:
    if "severity" in use.given:
        return use
    return replace(use, severity=severity, given=use.given | {"severity"})


def _check_form(doc: YamlDoc, model: SpecModel) -> None:
    """The form names sections the piece's bars can hold (`form_fault`), checked here
    where the spec's lines are known."""
    from composer.planning.phrases import form_fault

    if (fault := form_fault(model.form, model.bars, model.melody is not None)) is not None:
        message, bars = fault
        raise doc.error(("form",), f"{message} (bars at {doc.where(('bars',))})" if bars
                        else message)
    # A cadence for a section the form does not have would be silently ignored.
    from composer.planning.phrases import parse_form

    sections = sorted({x.rstrip("'") for x in parse_form(model.form)[0]})
    for name in model.cadences:
        if name != "end" and name.rstrip("'") not in sections:
            raise doc.error(("cadences", name), f"'{name}' is not a section of"
                            f" {'the form ' + repr(model.form) if model.form else 'a chorale'}"
                            f" (its sections: {', '.join(sections)}; or end, the last"
                            " phrase's)")


def _check_fixed(doc: YamlDoc, model: SpecModel, meter: Meter) -> None:
    """A `fixed` note the spec writes must name a voice, and a bar and beat the piece has."""
    for section in ("hard", "soft"):
        for i, entry in enumerate(getattr(model.rules, section)):
            if not isinstance(entry, dict) or entry.get("rule") != "fixed":
                continue
            path: tuple[str | int, ...] = ("rules", section, i)
            missing = [k for k in ("voice", "bar", "pitch") if k not in entry]
            if missing:
                raise doc.error(path, f"rule fixed needs {' and '.join(missing)}, as in {{rule:"
                                " fixed, voice: soprano, bar: 3, beat: 1, pitch: F#4}")
            if entry["voice"] not in model.voices:
                raise doc.error((*path, "voice"), f"'{entry['voice']}' is not a voice of the"
                                f" piece{closest(str(entry['voice']), model.voices)};"
                                f" accepted: {', '.join(model.voices)}")
            bar, beat = entry["bar"], entry.get("beat", 1)
            if not 1 <= bar <= model.bars:
                raise doc.error((*path, "bar"), f"bar {bar} is not in the piece, which has bars"
                                f" 1 to {model.bars}")
            bar_meter = meter.in_bar(bar)
            beats = bar_meter.beats_per_bar
            if not 1 <= beat < beats + 1:
                raise doc.error((*path, "beat"), f"beat {beat:g} is not in bar {bar}, which has"
                                f" {beats} beats ({bar_meter.first}): give a beat from 1 to"
                                f" {beats}, or one between, such as 1.5")


