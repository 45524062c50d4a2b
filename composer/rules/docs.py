"""The rules described for people: `partimento rules` and docs/rules.md.

Both are rendered from the rules themselves (summary, explanation, parameters, example)
and from the rule sets that use them, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from composer.rules.base import Param, Rule

# Where a rule is used: rule-set name -> severity there ('off' when it is switched off).
Usage = Mapping[str, Mapping[str, str]]

WIDTH = 88

# `--set` examples that the generic one below would get wrong: voice-range is written
# once per voice, and `fixed` only makes sense with all its parameters, in a spec.
_SET_EXAMPLES: dict[str, str | None] = {
    "voice-range": "voice-range@soprano.high=F5",
    "fixed": None,
    "single-climax": "single-climax.voice=soprano",  # no rule set uses it: switch it on
}

OVERRIDING = """\
A rule set (`constraints/*.yaml`), a spec and the command line all change a rule the
same way: a later use of a rule overrides an earlier one, parameter by parameter, and
`severity: off` switches it off. Rules written once per voice (`voice-range`,
`max-leap`, `max-order`) are told apart by their `voice`.

    # a rule set of your own: partimento check --rules mine.yaml
    name: mine
    parts: 4
    include: [common-practice]
    rules:
      - {rule: max-leap, semitones: 9}
      - {rule: voice-range, voice: soprano, high: F5}
      - {rule: no-hidden-fifths-outer, severity: off}

    # a spec: hard rules must hold, soft ones weigh the choice
    rules:
      include: [common-practice]
      hard:
        - {rule: voice-range, voice: soprano, high: F5}
      soft:
        - {rule: no-hidden-fifths-outer, weight: 2.0}

    # the command line, for one check
    partimento check exercise.musicxml --set max-leap.semitones=9 \\
        --set voice-range@soprano.high=F5 --set no-hidden-fifths-outer.severity=off

Severities: `error` and `warning` are both reported (and make `check` exit 1);
`off` removes the rule."""


def _value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _yaml_value(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return _value(value)


def set_example(rule: Rule) -> str | None:
    """A `--set` that changes one of the rule's parameters, as a user would type it."""
    if rule.id in _SET_EXAMPLES:
        return _SET_EXAMPLES[rule.id]
    key: Param | None = next((p for p in rule.params if p.name == rule.keyed_by), None)
    param = next((p for p in rule.params if p.kind != "voice" and p.default is not None), None)
    if param is None:
        return None
    at = f"@{key.default}" if key is not None and key.default is not None else ""
    return f"{rule.id}{at}.{param.name}={_yaml_value(param.default)}"


def _used_in(rule: Rule, usage: Usage) -> str:
    where = [f"{name}" + ("" if sev == rule.severity else f" ({sev})")
             for name, uses in usage.items() if (sev := uses.get(rule.id))]
    return ", ".join(where)


def _wrap(text: str, indent: int, hanging: int | None = None) -> list[str]:
    """Lines of at most WIDTH characters; words (and hyphenated words) stay whole."""
    return textwrap.wrap(text, WIDTH, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent if hanging is None else hanging),
                         break_on_hyphens=False, break_long_words=False)


def _severity(rule: Rule) -> str:
    """'default severity warning' — and, for a rule composing holds stricter, ', an error
    when composing'."""
    stricter = f", {'an ' if rule.composing == 'error' else 'a '}{rule.composing} when" \
        " composing" if rule.composing else ""
    return f"default severity {rule.severity}{stricter}"


def rule_text(rule: Rule, usage: Usage | None = None) -> str:
    lines = [f"{rule.id}  ({rule.scope.value}, {_severity(rule)})",
             *_wrap(rule.summary, 2), *_wrap(rule.explanation, 2)]
    if rule.params:
        lines.append("  parameters:")
        for p in rule.params:
            choices = f" [{' | '.join(p.choices)}]" if p.choices else ""
            lines += _wrap(f"{p.name} = {_value(p.default)}{choices}: {p.doc}", 4, 6)
    if rule.example:
        lines += _wrap(f"example: {rule.example}", 2, 4)
    if usage and (used := _used_in(rule, usage)):
        lines.append(f"  in rule sets: {used}")
    changes = [f"--set {rule.id}.severity=warning|off"]
    if (example := set_example(rule)) is not None:
        changes.insert(0, f"--set {example}")
    lines.append(f"  change: {'  ·  '.join(changes)}")
    return "\n".join(lines)


def rules_text(rules: Mapping[str, Rule], usage: Usage | None = None) -> str:
    body = "\n\n".join(rule_text(r, usage) for r in rules.values())
    return f"{body}\n\nChanging a rule\n\n{textwrap.indent(OVERRIDING, '  ')}"


def rule_markdown(rule: Rule, usage: Usage | None = None) -> str:
    lines = [f"## `{rule.id}`", "",
             f"*{rule.scope.value} · {_severity(rule)}*", "",
             rule.summary, "", rule.explanation, ""]
    if rule.params:
        lines += ["| parameter | default | meaning |", "| --- | --- | --- |"]
        for p in rule.params:
            choices = f" (one of: {', '.join(p.choices)})" if p.choices else ""
            lines.append(f"| `{p.name}` | {_value(p.default)} | {p.doc}{choices} |")
        lines.append("")
    if rule.example:
        lines += [f"Example: {rule.example}", ""]
    if usage and (used := _used_in(rule, usage)):
        lines += [f"In rule sets: {used}.", ""]
    changes = [f"`--set {rule.id}.severity=warning|off`"]
    if (example := set_example(rule)) is not None:
        changes.insert(0, f"`--set {example}`")
    lines += [f"Change it: {' or '.join(changes)}.", ""]
    return "\n".join(lines)


def rules_markdown(rules: Mapping[str, Rule], usage: Usage | None = None,
                   sets: Sequence[tuple[str, str]] = ()) -> str:
    """The whole of docs/rules.md; `sets` lists (name, description) of the rule sets."""
    head = [
        "# Rules",
        "",
        "Generated by `partimento rules --format markdown > docs/rules.md`; a test keeps it in",
        "step with the code. Each rule is defined once and used both by `partimento check`",
        "and by the composer. Scopes: *vertical* judges one slice, *horizontal* the motion",
        "between two neighbouring slices, *melodic* one voice's line, *global* the whole",
        "piece.",
        "",
        "| rule | summary |",
        "| --- | --- |",
        *[f"| [`{r.id}`](#{r.id}) | {r.summary} |" for r in rules.values()],
        "",
    ]
    if sets:
        head += ["## Rule sets", "", "| rule set | for |", "| --- | --- |",
                 *[f"| `{name}` | {description} |" for name, description in sets], ""]
    head += ["## Changing a rule", "", OVERRIDING, ""]
    return "\n".join(head + [rule_markdown(r, usage) for r in rules.values()])
