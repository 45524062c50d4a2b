"""The form while composing: repeated sections repeat, a varied repeat (A′) changes a
few slots, a single climax is struck once; every written file passes the checker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from exercises import exercise

from composer.errors import UnsatisfiableError
from composer.grading.checker import check_texture
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.pipeline import compose, document
from composer.planning.chain import harmony_chain
from composer.planning.grammar import form_grammar
from composer.rules import RULES
from composer.rules.contour import struck_notes
from composer.sample.form import form_of
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet, parse_use
from composer.spec.yamlfile import YamlDoc

EXAMPLES = Path(__file__).resolve().parent.parent / "constraints" / "examples"
CLIMAX = "    - {rule: single-climax, voice: soprano}\n"


def _hard_report(path: Path, spec):
    """Grade the written file with the spec's hard rules, as the checker sees them."""
    texture, _ = read_score(path, spec.voices)
    return check_texture(texture, RuleSet("spec", "", (len(spec.voices),), spec.voices,
                                          spec.hard), str(path)), texture


def _composed(spec, folder: Path):
    comp = compose(spec)
    written = write_outputs(comp.piece, folder / "piece", document(comp))
    report, texture = _hard_report(written[0], spec)
    assert report.violations == (), report.to_text()
    return comp, texture


def _parts(comp) -> dict[int, list[int]]:
    """The slots of each section of the form, in order."""
    out: dict[int, list[int]] = {}
    for s in comp.plan.slots:
        out.setdefault(comp.plan.phrases[s.phrase].part, []).append(s.index)
    return out


def _values(comp, slots):
    return [(comp.plan.slots[t].numeral, comp.voicings[t]) for t in slots]


def _with_hard(example: str, folder: Path, entry: str = CLIMAX, **changes: str) -> Path:
    text = (EXAMPLES / example).read_text()
    text = text.replace("  include: [common-practice]\n",
                        f"  include: [common-practice]\n  hard:\n{entry}", 1)
    for old, new in changes.items():
        text = text.replace(old, new)
    path = folder / example
    path.write_text(text)
    return path


@pytest.mark.parametrize("seed", [5, 0])
def test_aaba_repeats_the_first_a_slot_for_slot(seed, tmp_path):
    spec = replace(load_spec(EXAMPLES / "minor-aaba.yaml"), seed=seed)
    comp, _ = _composed(spec, tmp_path)
    parts = _parts(comp)
    first, second, fourth = parts[0], parts[1], parts[3]
    assert len(first) == len(second) == 14
    assert _values(comp, second) == _values(comp, first)
    # The last A closes the piece with its cadence held a whole bar: its last two slots
    # (the cadence's two chords) are laid out otherwise and composed afresh.
    assert len(fourth) == 12
    assert _values(comp, fourth[:-2]) == _values(comp, first[:10])
    reasons = [p.reason for p in comp.plan.phrases]
    assert "repeats section A (bars 1–4) slot for slot" in reasons[2]
    assert "slot for slot, except at bar 15 beat 4, bar 16 beat 1, laid out otherwise" \
        in reasons[6]
    assert not any("repeats" in r or "varies" in r for r in reasons[:2] + reasons[4:6])


ROUNDED = """\
title: Rounded binary
key: G major
meter: 4/4
bars: 12
form: rounded-binary
rules:
  include: [common-practice]
seed: {seed}
"""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_varied_repeat_changes_between_one_and_n_slots(seed, tmp_path):
    path = tmp_path / "rounded.yaml"
    path.write_text(ROUNDED.replace("{seed}", str(seed)))
    spec = load_spec(path)
    comp, _ = _composed(spec, tmp_path)
    (rep,) = form_of(spec, harmony_chain(spec)).repeats
    assert rep.varied and rep.section == "A'" and rep.model == "A"
    n = max(1, int(form_grammar().max_share * len(rep.pairs)))
    assert (rep.min_changes, rep.max_changes) == (1, n)
    changed = sum(_values(comp, [a]) != _values(comp, [b]) for a, b in rep.pairs)
    assert 1 <= changed <= n
    assert f"varies section A (bars 1–4): 1 to {n} of its {len(rep.pairs)} slots change" \
        in comp.plan.phrases[4].reason


def test_sections_of_unequal_length_do_not_repeat(tmp_path):
    path = tmp_path / "uneven.yaml"
    path.write_text((EXAMPLES / "minor-aaba.yaml").read_text().replace("bars: 16", "bars: 15"))
    spec = load_spec(path)
    form = form_of(spec, harmony_chain(spec))
    assert form.repeats == ()  # A has 3 bars, the later As 4
    assert [text for _, text in form.notes] == ["does not repeat section A (bars 1–3):"
                                                " it has 4 bars, not 3"] * 2


@pytest.mark.parametrize("seed", range(5))
def test_single_climax_holds_on_the_soprano(seed, tmp_path):
    spec = replace(load_spec(_with_hard("chorale-d-major.yaml", tmp_path)), seed=seed)
    assert any(u.rule.id == "single-climax" for u in spec.hard)
    _, texture = _composed(spec, tmp_path)  # the checker finds no single-climax violation
    soprano = [m for _, m in struck_notes(texture, 0)]
    assert soprano.count(max(soprano)) == 1


def test_single_climax_and_repeats_together(tmp_path):
    spec = load_spec(_with_hard("minor-aaba.yaml", tmp_path))
    comp, texture = _composed(spec, tmp_path)
    parts = _parts(comp)
    assert _values(comp, parts[1]) == _values(comp, parts[0])
    soprano = [m for _, m in struck_notes(texture, 0)]
    assert soprano.count(max(soprano)) == 1


def test_a_given_melody_that_peaks_twice_is_refused(tmp_path):
    path = _with_hard("harmonize-melody.yaml", tmp_path)
    with pytest.raises(UnsatisfiableError) as caught:
        compose(load_spec(path))
    line = path.read_text().splitlines().index(CLIMAX.rstrip("\n")) + 1
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: rule single-climax")
    assert "strikes its highest note, A4, 4 times (bars 1, 2, 5, 6)" in message


def _only_climax(voice: str = "soprano") -> RuleSet:
    use = parse_use(YamlDoc({"rules": [{"rule": "single-climax", "voice": voice}]}, "test"),
                    ("rules", 0))
    return RuleSet("test", "", (1,), (voice,), (use,))


def test_the_checker_reports_the_second_stroke_of_the_climax():
    texture = exercise("D major", "4/4", soprano="d'4 e' f'# e' | d' f'# e'2 | d'1")
    report = check_texture(texture, _only_climax())
    assert [(v.rule, v.bar, v.beat, v.voices) for v in report.violations] == [
        ("single-climax", 2, 2.0, ("soprano",))]
    assert "highest note, F#5, again" in report.violations[0].message


def test_a_climax_held_over_the_bar_is_struck_once():
    texture = exercise("D major", "4/4", soprano="d'4 e' f'#2~ | f'#4 e' d'2 | d'1")
    assert check_texture(texture, _only_climax()).violations == ()


def test_the_rule_is_documented():
    rule = RULES["single-climax"]
    assert rule.summary == "The highest note of the line is struck once."
    assert [p.name for p in rule.params] == ["voice"]
