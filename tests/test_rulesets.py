"""Rule sets and overrides: YAML files in constraints/, `--set`, and how uses merge.

Error messages are golden: they are what a user reads, naming file, line, column and
field, and what would be accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import SpecError
from composer.rules import RULES
from composer.spec.rulesets import (
    RuleUse,
    available_sets,
    load_ruleset,
    merge,
    parse_override,
    rule_usage,
)


def _use(ruleset, rule_id: str, voice: str | None = None) -> RuleUse:
    return next(u for u in ruleset.uses if u.identity == (rule_id, voice))


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# The shipped rule sets ----------------------------------------------------------------

def test_shipped_sets_load_with_their_shapes():
    assert {"common-practice", "first-species"} <= set(available_sets())
    cp = load_ruleset("common-practice")
    assert cp.parts == (4,) and cp.voices == ("soprano", "alto", "tenor", "bass")
    assert {u.identity for u in cp.uses if u.rule.id == "voice-range"} == {
        ("voice-range", v) for v in cp.voices}
    assert str(_use(cp, "voice-range", "soprano").params["high"]) == "A5"
    fs = load_ruleset("first-species")
    assert fs.parts == (2,) and _use(fs, "leap-recovery").severity == "warning"
    assert all(u.rule.id in RULES for s in (cp, fs) for u in s.uses)


def test_rule_usage_lists_each_rule_once_per_set():
    usage = rule_usage()
    assert usage["common-practice"]["voice-range"] == "error"
    assert usage["first-species"]["leap-recovery"] == "warning"
    assert "consonant-intervals" not in usage["common-practice"]


# --set --------------------------------------------------------------------------------

def test_set_a_parameter():
    cp = load_ruleset("common-practice").with_overrides([parse_override("max-leap.semitones=9")])
    assert _use(cp, "max-leap").params["semitones"] == 9
    assert _use(cp, "max-leap").severity == "error"
    assert len(cp.uses) == len(load_ruleset("common-practice").uses)


def test_set_a_parameter_of_one_voice_keeps_the_others():
    cp = load_ruleset("common-practice").with_overrides(
        [parse_override("voice-range@soprano.high=F5")])
    soprano = _use(cp, "voice-range", "soprano")
    assert (str(soprano.params["low"]), str(soprano.params["high"])) == ("C4", "F5")
    assert str(_use(cp, "voice-range", "alto").params["high"]) == "D5"


@pytest.mark.parametrize("text, severity, active", [
    ("no-hidden-fifths-outer.severity=off", "off", False),
    ("no-hidden-fifths-outer.severity=warning", "warning", True),
    ("no-hidden-fifths-outer.severity=error", "error", True),
])
def test_set_a_severity(text, severity, active):
    cp = load_ruleset("common-practice").with_overrides([parse_override(text)])
    use = _use(cp, "no-hidden-fifths-outer")
    assert use.severity == severity and use.params == {"step": True}
    assert (use in cp.active) is active


def test_later_overrides_win_and_touch_only_what_they_name():
    cp = load_ruleset("common-practice").with_overrides([
        parse_override("spacing.upper=14"),
        parse_override("spacing.severity=warning"),
        parse_override("spacing.lower=24"),
    ])
    spacing = _use(cp, "spacing")
    assert (spacing.params, spacing.severity) == ({"upper": 14, "lower": 24}, "warning")


def test_set_adds_a_rule_the_set_does_not_use():
    cp = load_ruleset("common-practice")
    assert ("repeated-notes", None) not in {u.identity for u in cp.uses}
    more = cp.with_overrides([parse_override("repeated-notes.max=2")])
    assert _use(more, "repeated-notes").params == {"max": 2}


def test_merge_without_overrides_is_the_identity():
    uses = load_ruleset("common-practice").uses
    assert merge(uses, ()) == uses
    assert merge((), uses) == uses


@pytest.mark.parametrize("text, message", [
    ("max-leap", "--set 'max-leap': write RULE.PARAM=VALUE or RULE@VOICE.PARAM=VALUE, e.g."
                 " max-leap.semitones=9"),
    ("max-leap.semitones=wide", "--set max-leap.semitones=wide: semitones is a whole number,"
                                " not 'wide'"),
    ("max-leap.semitone=9", "--set max-leap.semitone=9: rule max-leap has no parameter"
                            " 'semitone' (did you mean 'semitones'?); accepted: semitones,"
                            " voice, severity"),
    ("max-lep.semitones=9", "--set max-lep.semitones=9: unknown rule 'max-lep' (did you mean"
                            " 'max-leap'?); `partimento rules` lists them"),
    ("spacing.severity=fatal", "--set spacing.severity=fatal: severity is one of error,"
                               " warning, off, not 'fatal'"),
    ("voice-range@soprano.high=H9", "--set voice-range@soprano.high=H9: 'H9' is not a pitch"
                                    " (accepted: C4, F#5, Bb3, E-2)"),
])
def test_bad_overrides_say_what_is_wrong(text, message):
    with pytest.raises(SpecError) as info:
        parse_override(text)
    assert str(info.value) == message


# A rule set of one's own --------------------------------------------------------------

def test_own_rule_set_includes_and_overrides(tmp_path):
    path = _write(tmp_path, """\
name: strict
description: common practice, stricter
parts: [4]
include: [common-practice]
rules:
  - {rule: max-leap, semitones: 7}
  - {rule: voice-range, voice: bass, low: G2}
  - {rule: no-hidden-fifths-outer, severity: off}   # a bare off is YAML's false
  - {rule: complete-chord, fifth: true, severity: warning}
  - repeated-notes
""")
    mine = load_ruleset(path)
    assert (mine.name, mine.parts, mine.voices) == ("strict", (4,), ())
    assert _use(mine, "max-leap").params["semitones"] == 7
    bass = _use(mine, "voice-range", "bass")
    assert (str(bass.params["low"]), str(bass.params["high"])) == ("G2", "C4")
    assert _use(mine, "no-hidden-fifths-outer").severity == "off"
    assert _use(mine, "complete-chord").params == {"fifth": True}
    assert _use(mine, "complete-chord").severity == "warning"
    assert _use(mine, "repeated-notes").params == {"max": 1}
    assert str(_use(mine, "max-leap").origin) == f"{path}:6:5"


# Each case: the YAML, and the exact message after the file's path.
BAD_YAML = {
    "wrong parameter value": (
        "parts: 4\nrules:\n  - {rule: max-leap, semitones: wide}\n",
        ":3:33: rules[0].semitones: semitones is a whole number, not 'wide'"),
    "unknown parameter": (
        "parts: 4\nrules:\n  - {rule: spacing, uper: 10}\n",
        ":3:21: rules[0].uper: rule spacing has no parameter 'uper' (did you mean 'upper'?);"
        " accepted: upper, lower, severity"),
    "tab": (
        "parts: 4\nrules:\n  - {rule: max-leap,\n\tsemitones: 9}\n",
        ":4:1: rules[0].semitones: a tab is used for indentation; indent with spaces"),
    "unknown field": (
        "name: mine\nrule:\n  - chord-tones\n",
        ":2:1: rule: unknown field (did you mean 'rules'?); accepted: name, description,"
        " parts, voices, include, rules"),
    "wrong severity": (
        "rules:\n  - {rule: spacing, severity: fatal}\n",
        ":2:31: rules[0].severity: severity is one of error, warning, off, not 'fatal'"),
    "alias": (
        "common: &c {rule: spacing}\nrules: [*c]\n",
        ":1:9: anchors and aliases (& and *) are not accepted"),
    "python tag": (
        "rules:\n  - !!python/object/apply:os.system [echo hi]\n",
        ":2:5: rules[0]: the tag !!python/object/apply:os.system is not accepted: write"
        " plain values"),
    "set tag": (
        "rules: !!set {chord-tones: null}\n",
        ":1:8: rules: the tag !!set is not accepted: write plain values"),
    "entry without a rule": (
        "rules:\n  - chord-tones\n  - {semitones: 9}\n",
        ":3:5: rules[1]: a rule is written as {rule: ID, …} or just its ID"),
    "duplicate key": (
        "rules:\n  - {rule: max-leap, semitones: 9, semitones: 10}\n",
        ":2:36: rules[0].semitones: this key is given twice"),
    "unknown included set": (
        "include: [common-practise]\n",
        ":1:11: include[0]: unknown rule set 'common-practise' (did you mean"
        " 'common-practice'?); available: common-practice, first-species"),
    "parts": (
        "parts: four\n",
        ":1:8: parts: parts is a number of voices or a list of them"),
    "not YAML": (
        "rules: [chord-tones\nparts: 4\n",
        ":2:6: not valid YAML: expected ',' or ']', but got ':'"),
    "not a mapping": (
        "- chord-tones\n",
        ":1:1: a rule set is a mapping with 'name', 'parts' and 'rules'"),
}


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_bad_rule_sets_are_located_exactly(case, tmp_path):
    text, message = BAD_YAML[case]
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_ruleset(path)
    assert str(info.value) == path + message


def test_missing_rule_set_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_ruleset(str(tmp_path / "nowhere.yaml"))
    assert str(info.value) == f"{tmp_path / 'nowhere.yaml'}: no such file"


def test_a_set_that_includes_itself(tmp_path):
    path = _write(tmp_path, f"include: ['{tmp_path / 'mine.yaml'}']\n")
    with pytest.raises(SpecError, match="includes itself"):
        load_ruleset(path)
