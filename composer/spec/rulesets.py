"""Rule sets: YAML lists of rule uses in constraints/, and how one overrides another.

A rule use is a rule id with parameters and a severity. A later use of the same rule
(for a rule keyed by voice, the same rule and voice) overrides the earlier one: its
parameters replace those it names, its severity replaces the old one, and severity
'off' removes the rule. Specs and the command line's `--set` use the same mechanism.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from composer.content import content_dir
from composer.errors import Location, SpecError, closest
from composer.music import Pitch
from composer.rules import RULES, Param, Rule
from composer.rules.base import SEVERITIES
from composer.spec.yamlfile import Path_, YamlDoc, load_yaml


@dataclass(frozen=True)
class RuleUse:
    rule: Rule
    params: Mapping[str, Any]
    severity: str  # 'error', 'warning' or 'off'
    weight: float = 1.0
    origin: Location | None = None
    given: frozenset[str] = frozenset()  # the fields written, which override on merge
    # Voices whose own notes this use does not judge while composing: a given melody is
    # the user's (see composer/given.py). A finding about those voices alone is left out.
    exempt: frozenset[str] = frozenset()

    @property
    def place(self) -> str:
        """'FILE:LINE: ' where the use is written, to begin a message ('' if unknown)."""
        o = self.origin
        return f"{o.file}:{o.line}: " if o is not None and o.line is not None else ""

    def judges(self, voices: Iterable[str]) -> bool:
        """Whether a finding about these voices counts (not all of them exempt)."""
        return not self.exempt or not set(voices) <= self.exempt

    @property
    def identity(self) -> tuple[str, Any]:
        key = self.rule.keyed_by
        if isinstance(key, tuple):
            return (self.rule.id, tuple(self.params.get(k) for k in key))
        return (self.rule.id, self.params.get(key) if key else None)

    def describe(self) -> str:
        shown = {k: v for k, v in self.params.items() if v != self.rule.defaults().get(k)}
        args = ", ".join(f"{k}: {v}" for k, v in shown.items())
        return f"{self.rule.id}" + (f" ({args})" if args else "")


@dataclass(frozen=True)
class RuleSet:
    name: str
    description: str
    parts: tuple[int, ...]  # how many voices it can grade
    voices: tuple[str, ...]  # their names, top first, when a score does not name them
    uses: tuple[RuleUse, ...]

    @property
    def active(self) -> tuple[RuleUse, ...]:
        return tuple(u for u in self.uses if u.severity != "off")

    def with_overrides(self, uses: Iterable[RuleUse]) -> RuleSet:
        return replace(self, uses=merge(self.uses, uses))


def available_sets() -> list[str]:
    return sorted(p.stem for p in content_dir("constraints").glob("*.yaml"))


def ruleset_path(name: str) -> Path:
    """A rule-set name from constraints/ or a path to a YAML file."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    path = content_dir("constraints") / f"{name}.yaml"
    if not path.exists():
        names = available_sets()
        raise SpecError(f"unknown rule set '{name}'{closest(name, names)}; available:"
                        f" {', '.join(names)}")
    return path


def load_ruleset(name: str, _seen: tuple[str, ...] = ()) -> RuleSet:
    path = ruleset_path(name)
    if str(path) in _seen:
        raise SpecError(f"rule set '{name}' includes itself", Location(path))
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "a rule set is a mapping with 'name', 'parts' and 'rules'")
    known = ("name", "description", "parts", "voices", "include", "rules")
    for key in data:
        if key not in known:
            raise doc.error((key,), f"unknown field{closest(key, known)}; accepted:"
                            f" {', '.join(known)}", at_key=True)
    uses: tuple[RuleUse, ...] = ()
    for i, inc in enumerate(_list(doc, ("include",))):
        if not isinstance(inc, str):
            raise doc.error(("include", i), "an included rule set is named by a string")
        try:
            included = load_ruleset(inc, (*_seen, str(path)))
        except SpecError as exc:
            if exc.location is not None:  # an error inside the included file: its place
                raise
            raise doc.error(("include", i), exc.message) from None
        uses = merge(uses, included.uses)
    entries = _list(doc, ("rules",))
    uses = merge(uses, (parse_use(doc, ("rules", i)) for i in range(len(entries))))
    parts = data.get("parts", 4)
    parts = tuple(parts) if isinstance(parts, list) else (parts,)
    if not all(isinstance(n, int) and n > 0 for n in parts):
        raise doc.error(("parts",), "parts is a number of voices or a list of them")
    voices = tuple(str(v) for v in data.get("voices", ()))
    return RuleSet(str(data.get("name", path.stem)), str(data.get("description", "")),
                   parts, voices, uses)


def _list(doc: YamlDoc, path: Path_) -> list[Any]:
    value: Any = doc.data
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, "expected a list")
    return value


def parse_use(doc: YamlDoc, path: Path_, extra: tuple[str, ...] = ()) -> RuleUse:
    """One entry of a rule list: 'rule-id' or {rule: id, param: value, severity: …}.
    `extra` names keys the caller handles itself (a spec's 'weight')."""
    entry: Any = doc.data
    for part in path:
        entry = entry[part]
    if isinstance(entry, str):
        entry = {"rule": entry}
    if not isinstance(entry, dict) or "rule" not in entry:
        raise doc.error(path, "a rule is written as {rule: ID, …} or just its ID")
    rule_id = entry["rule"]
    if not isinstance(rule_id, str) or rule_id not in RULES:
        raise doc.error((*path, "rule"), f"unknown rule '{rule_id}'"
                        f"{closest(str(rule_id), list(RULES))}; `partimento rules` lists them")
    rule = RULES[rule_id]
    params = rule.defaults()
    severity, weight = rule.severity, 1.0
    for key, value in entry.items():
        where = (*path, key)
        if key == "rule":
            continue
        if key == "severity":
            if value is False:  # YAML 1.1 reads a bare `off` (or `no`) as false
                value = "off"
            if value not in SEVERITIES:
                raise doc.error(where, f"severity is one of {', '.join(SEVERITIES)},"
                                f" not {value!r}")
            severity = value
        elif key == "weight" and "weight" in extra:
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise doc.error(where, "weight is a positive number")
            weight = float(value)
        else:
            spec = next((p for p in rule.params if p.name == key), None)
            if spec is None:
                names = [p.name for p in rule.params] + ["severity", *extra]
                raise doc.error(where, f"rule {rule_id} has no parameter '{key}'"
                                f"{closest(key, names)}; accepted: {', '.join(names)}",
                                at_key=True)
            try:
                params[key] = convert(spec, value)
            except ValueError as exc:
                raise doc.error(where, str(exc)) from None
    return RuleUse(rule, params, severity, weight, doc.where(path), frozenset(entry) - {"rule"})


def convert(spec: Param, value: Any) -> Any:
    """A YAML value as the parameter's type, or a ValueError saying what is accepted."""
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{spec.name} is a whole number, not {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{spec.name} is a number, not {value!r}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{spec.name} is true or false, not {value!r}")
        return value
    if kind == "pitch":
        return Pitch.parse(str(value))
    if kind == "voice":
        if not isinstance(value, str):
            raise ValueError(f"{spec.name} is a voice name such as soprano, not {value!r}")
        return value
    if kind == "choices":
        many = isinstance(spec.default, tuple)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v not in spec.choices:
                raise ValueError(f"{spec.name}: '{v}' is not one of {', '.join(spec.choices)}")
        return tuple(values) if many else values[0]
    return str(value)


def merge(base: Iterable[RuleUse], later: Iterable[RuleUse]) -> tuple[RuleUse, ...]:
    """Later uses override earlier ones of the same rule (and voice, where keyed)."""
    out: dict[tuple[str, Any], RuleUse] = {u.identity: u for u in base}
    for use in later:
        old = out.get(use.identity)
        if old is not None:
            explicit = {k: v for k, v in use.params.items() if k in use.given}
            use = replace(
                use, params={**old.params, **explicit},
                severity=use.severity if "severity" in use.given else old.severity,
                weight=use.weight if "weight" in use.given else old.weight,
                given=old.given | use.given,
            )
        out[use.identity] = use
    return tuple(out.values())


_SET_RE = re.compile(r"^([a-z0-9-]+)(?:@([A-Za-z0-9 _-]+))?\.([a-z-]+)=(.*)$")


def parse_override(text: str) -> RuleUse:
    """A command-line override: RULE[@VOICE].PARAM=VALUE, e.g. 'max-leap.semitones=9',
    'voice-range@soprano.high=F5', 'no-hidden-fifths-outer.severity=off'."""
    m = _SET_RE.match(text.strip())
    if not m:
        raise SpecError(f"--set '{text}': write RULE.PARAM=VALUE or RULE@VOICE.PARAM=VALUE,"
                        " e.g. max-leap.semitones=9")
    rule_id, voice, key, raw = m.groups()
    entry: dict[str, Any] = {"rule": rule_id, key: yaml_scalar(raw)}
    if voice:
        entry["voice"] = voice
    doc = YamlDoc({"set": [entry]}, "--set")
    try:
        return parse_use(doc, ("set", 0))
    except SpecError as exc:  # name the option as written, not a made-up YAML path
        raise SpecError(exc.message, field=f"--set {text}") from None


def yaml_scalar(raw: str) -> Any:

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def rule_usage() -> dict[str, dict[str, str]]:
    """For each rule set in constraints/: the severity of each rule it uses (a rule
    written once per voice counts once), for the documentation."""
    out: dict[str, dict[str, str]] = {}
    for name in available_sets():
        severities: dict[str, str] = {}
        for use in load_ruleset(name).uses:
            if severities.get(use.rule.id, "off") == "off":
                severities[use.rule.id] = use.severity
        out[name] = severities
    return out
