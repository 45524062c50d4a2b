"""The command line: the only place that prints or exits.

A user's mistake (a PartimentoError) becomes one line on stderr and exit code 2 (or
1 for rules that cannot hold); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from composer.errors import PartimentoError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Partimento: compose four-part music under rules, and grade harmony exercises.",
    pretty_exceptions_enable=False,
)

DEFAULT_SETS = ("common-practice", "first-species")


class Format(StrEnum):
    text = "text"
    json = "json"


class DocFormat(StrEnum):
    text = "text"
    markdown = "markdown"


def _ruleset(name: str | None, overrides: list[str] | None):
    from composer.rulesets import load_ruleset, parse_override

    ruleset = load_ruleset(name or DEFAULT_SETS[0])
    if overrides:
        ruleset = ruleset.with_overrides(parse_override(o) for o in overrides)
    return ruleset


def _check_one(path: Path, rules: str | None, overrides: list[str] | None,
               annotate: Path | None):
    from composer.checker import annotate as write_annotated
    from composer.checker import check_texture
    from composer.io import read_score

    if rules is None:  # pick the standard set for the number of voices
        texture, origin = read_score(path)
        from composer.rulesets import load_ruleset

        sets = [load_ruleset(n) for n in DEFAULT_SETS]
        fitting = [s for s in sets if len(texture.voices) in s.parts]
        if not fitting:
            counts = " or ".join(str(n) for s in sets for n in s.parts)
            raise PartimentoError(f"{path}: has {len(texture.voices)} voices; the standard"
                                  f" rule sets grade {counts} (name another with --rules)")
        ruleset = _ruleset(fitting[0].name, overrides)
        if ruleset.voices and len(ruleset.voices) == len(texture.voices):
            texture, origin = read_score(path, ruleset.voices)
    else:
        ruleset = _ruleset(rules, overrides)
        texture, origin = read_score(path, ruleset.voices or None)
    report = check_texture(texture, ruleset, str(path))
    if annotate is not None:
        write_annotated(report, texture, origin, annotate)
    return report


@app.command()
def check(
    scores: Annotated[list[Path], typer.Argument(help="MusicXML, MIDI or ABC files")],
    rules: Annotated[str | None, typer.Option(
        "--rules", "-r", help="rule set name in constraints/ or a YAML path"
                              " [default: common-practice for 4 voices, first-species for 2]"
    )] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
    annotate: Annotated[Path | None, typer.Option(
        help="write a copy of the score with the offending notes coloured (one score only)"
    )] = None,
    override: Annotated[list[str] | None, typer.Option(
        "--set", help="override a rule: RULE.PARAM=VALUE, RULE@VOICE.PARAM=VALUE,"
                      " RULE.severity=warning|off (repeatable)"
    )] = None,
    explain: Annotated[bool, typer.Option(help="explain each rule broken")] = True,
) -> None:
    """Grade four-part (or two-part) exercises: exit 0 clean, 1 violations, 2 bad input."""
    if annotate is not None and len(scores) > 1:
        raise PartimentoError("--annotate takes one score at a time")
    worst = 0
    for path in scores:
        try:
            report = _check_one(path, rules, override, annotate)
        except PartimentoError as exc:
            if len(scores) == 1:
                raise
            typer.echo(f"partimento: error: {exc}", err=True)
            worst = 2
            continue
        if fmt is Format.json:
            typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            typer.echo(report.to_text(explain))
        if report.violations and worst == 0:
            worst = 1
    raise typer.Exit(worst)


@app.command("rules")
def rules_command(
    rule_id: Annotated[str | None, typer.Argument(help="one rule id")] = None,
    fmt: Annotated[DocFormat, typer.Option("--format", "-f")] = DocFormat.text,
) -> None:
    """List every rule with its summary, explanation, parameters and an example."""
    from composer.errors import closest
    from composer.rules import RULES
    from composer.rules.docs import rule_markdown, rule_text, rules_markdown

    if rule_id is not None:
        if rule_id not in RULES:
            raise PartimentoError(f"unknown rule '{rule_id}'{closest(rule_id, list(RULES))};"
                                  " `partimento rules` lists them")
        render = rule_markdown if fmt is DocFormat.markdown else rule_text
        typer.echo(render(RULES[rule_id]))
    elif fmt is DocFormat.markdown:
        typer.echo(rules_markdown(RULES), nl=False)
    else:
        typer.echo("\n\n".join(rule_text(r) for r in RULES.values()))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (callable from tests)."""
    try:
        app(args=argv, prog_name="partimento")
    except SystemExit as exc:  # how the command-line layer reports every exit code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except PartimentoError as exc:
        typer.echo(f"partimento: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("partimento: interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())
