"""`partimento rules` and docs/rules.md say the same thing, and what they say runs.

When this fails after a rule changed, regenerate the page:
    .venv/bin/partimento rules --format markdown > docs/rules.md
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from composer.cli import main
from composer.rules import RULES
from composer.rules.docs import OVERRIDING, set_example
from composer.spec.rulesets import load_ruleset, parse_override

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_docs_rules_md_is_what_the_command_prints():
    r = subprocess.run([sys.executable, "-m", "composer", "rules", "--format", "markdown"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert DOCS.read_text(encoding="utf-8") == r.stdout, (
        "docs/rules.md is out of date: run"
        " `.venv/bin/partimento rules --format markdown > docs/rules.md`")


@pytest.fixture(scope="module")
def listing() -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["rules"]) == 0
    return out.getvalue()


@pytest.mark.parametrize("rule_id", list(RULES))
def test_each_rule_is_told_fully_in_text_and_markdown(rule_id, listing, capsys):
    rule = RULES[rule_id]
    assert main(["rules", rule_id]) == 0
    text = capsys.readouterr().out
    composing = ", an error when composing" if rule.composing == "error" else ""
    assert text.startswith(f"{rule_id}  ({rule.scope.value}, default severity {rule.severity}"
                           f"{composing})")
    assert text.strip() in listing  # the same block as in the full listing
    markdown = DOCS.read_text(encoding="utf-8")
    section = markdown.split(f"## `{rule_id}`\n", 1)[1].split("\n## ", 1)[0]
    assert f"| [`{rule_id}`](#{rule_id}) | {rule.summary} |" in markdown
    assert rule.example, f"{rule_id} has no example"
    for said in (rule.summary, rule.explanation, rule.example):
        assert _squash(said) in _squash(text)
        assert said in section
    for p in rule.params:
        assert f"    {p.name} = " in text and _squash(p.doc) in _squash(text)
        assert f"| `{p.name}` |" in section and p.doc in section
    change = f"--set {rule_id}.severity=warning|off"
    assert change in text and change in section


@pytest.mark.parametrize("rule_id", list(RULES))
def test_each_set_example_is_a_working_override(rule_id):
    rule = RULES[rule_id]
    example = set_example(rule)
    if example is None:  # nothing to set but its severity; a fixed note needs all its params
        assert rule_id == "fixed" or all(p.default is None for p in rule.params)
        return
    use = parse_override(example)
    name, value = example.split(".", 1)[1].split("=")
    assert use.rule.id == rule_id and name in use.given
    assert str(use.params[name]).lower().replace("(", "[").replace(")", "]").replace(
        "'", "").replace(" ", "") == value.lower()


def _blocks(text: str) -> list[str]:
    """The indented code blocks of OVERRIDING, each without its comment line."""
    blocks = re.findall(r"(?:^    .*\n?)+", text, flags=re.M)
    return ["\n".join(line[4:] for line in b.splitlines()[1:]) for b in blocks]


def test_the_overriding_examples_run(tmp_path, capsys):
    ruleset, spec, command = _blocks(OVERRIDING)
    (tmp_path / "mine.yaml").write_text(ruleset)
    mine = load_ruleset(str(tmp_path / "mine.yaml"))
    uses = {u.identity: u for u in mine.uses}
    assert uses[("max-leap", None)].params["semitones"] == 9
    assert str(uses[("voice-range", "soprano")].params["high"]) == "F5"
    assert uses[("no-hidden-fifths-outer", None)].severity == "off"

    rules = yaml.safe_load(spec)["rules"]
    assert set(rules) == {"include", "hard", "soft"}
    assert all(u["rule"] in RULES for part in ("hard", "soft") for u in rules[part])

    args = shlex.split(command.replace("\\\n", " "))
    assert args[:3] == ["partimento", "check", "exercise.musicxml"]
    sets = [parse_override(a) for flag, a in zip(args[3::2], args[4::2], strict=True)
            if flag == "--set"]
    overridden = load_ruleset("common-practice").with_overrides(sets)
    assert {u.identity: (dict(u.params), u.severity) for u in overridden.uses} == {
        u.identity: (dict(u.params), u.severity) for u in mine.uses}


def test_markdown_for_one_rule_is_its_section(capsys):
    assert main(["rules", "max-leap", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.strip() in DOCS.read_text(encoding="utf-8")
