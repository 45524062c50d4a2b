"""Revising a saved piece: the chosen bars (and voices) drawn again, every other note the
same when read back from the written MusicXML, every hard rule holding across the borders,
and the region drawn from the model conditioned on the kept music (chi-square)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from music21 import converter
from test_sampler import N_DRAWS, chi_square_p, exact, valid_chain

from composer.cli import main
from composer.errors import SpecError, UnsatisfiableError
from composer.grading.checker import check_texture
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.music import Pitch
from composer.pipeline import Composition, compose, document
from composer.revision import read_piece, revise
from composer.rules import RULES
from composer.sample.kept import Kept
from composer.sample.reuse import Reuse
from composer.sample.sampler import Chain, backward
from composer.solve.given import held_when_composing
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet, RuleUse

EXAMPLES = Path(__file__).parent.parent / "constraints" / "examples"
COMPOSABLE = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem != "unsatisfiable")


def written_notes(path: Path) -> dict[str, list[tuple[int, float, str, float]]]:
    """Each part's notes and rests as read back: (bar, offset in bar, pitch, length)."""
    score = converter.parse(str(path))
    out = {}
    for part in score.parts:
        out[part.partName] = [
            (n.measureNumber, float(n.offset), n.pitch.nameWithOctave if n.isNote else "rest",
             float(n.quarterLength))
            for n in part.recurse().notesAndRests]
    return out


def hard_violations(comp: Composition, path: Path) -> list[str]:
    spec = comp.spec
    held = held_when_composing(spec.rules, spec.melody is not None)  # as composing holds them
    ruleset = RuleSet("spec", "", (len(spec.voices),), spec.voices,
                      tuple(u for u in held if u.severity == "error"))
    texture, _ = read_score(path, spec.voices)
    return [f"{v.rule} bar {v.bar}" for v in check_texture(texture, ruleset, str(path)).violations
            if v.severity == "error"]


def composed(name: str, seed: int, folder: Path) -> tuple[Composition, Path]:
    comp = compose(replace(load_spec(EXAMPLES / f"{name}.yaml"), seed=seed))
    written = write_outputs(comp.piece, folder / f"{name}-{seed}", document(comp))
    return comp, written[2]  # OUT.json


def middle_bars(comp: Composition) -> tuple[int, int]:
    first = max(comp.plan.bars // 2 - 1, 1)
    return first, min(first + 1, comp.plan.bars)


def revised_and_compared(name: str, seed: int, folder: Path) -> bool:
    """Revise two middle bars; assert what must hold; say whether the region changed."""
    comp, saved = composed(name, seed, folder)
    bars = middle_bars(comp)
    new = revise(saved, bars=bars, seed=seed + 100)
    before = written_notes(folder / f"{name}-{seed}.musicxml")
    out = write_outputs(new.piece, folder / f"{name}-{seed}-revised", document(new))
    after = written_notes(out[0])
    assert hard_violations(comp, folder / f"{name}-{seed}.musicxml") == []
    assert hard_violations(new, out[0]) == []
    region = set(range(bars[0], bars[1] + 1))
    for part in before:
        kept_before = [n for n in before[part] if n[0] not in region]
        kept_after = [n for n in after[part] if n[0] not in region]
        assert kept_after == kept_before, f"{name} seed {seed}: {part} changed outside {bars}"
    return any([n for n in before[p] if n[0] in region] != [n for n in after[p] if n[0] in region]
               for p in before)


@pytest.mark.parametrize("name", ["chorale-d-major", "harmonize-melody"])
def test_outside_the_region_every_written_note_stays(name: str, tmp_path: Path) -> None:
    revised_and_compared(name, 0, tmp_path)


def test_a_revision_keeps_the_soprano_s_single_climax(tmp_path: Path) -> None:
    """A free soprano strikes its highest note once by default; two bars redrawn away
    from it stay below it, so the kept climax is still the only one; the bars holding it
    redrawn strike one climax again."""
    for seed in range(4):
        comp, saved = composed("chorale-d-major", seed, tmp_path)
        soprano = [n for n in comp.notes["soprano"] if n.pitch is not None]
        top = max(n.pitch.midi for n in soprano)
        climax_bar = comp.spec.meter.position(
            next(n.offset for n in soprano if n.pitch.midi == top)).bar
        bars = (3, 4) if climax_bar > 6 else (comp.plan.bars - 3, comp.plan.bars - 2)
        new = revise(saved, bars=bars, seed=seed + 50)
        peaks = [n for n in new.notes["soprano"] if n.pitch is not None
                 and n.pitch.midi >= top]
        assert [n.pitch.midi for n in peaks] == [top], (seed, bars, climax_bar)
        # Redrawing the bars that hold it strikes one climax again, above the kept notes.
        around = (max(climax_bar - 1, 1), climax_bar)
        again = [n.pitch.midi for n in revise(saved, bars=around, seed=seed).notes["soprano"]
                 if n.pitch is not None]
        assert again.count(max(again)) == 1, (seed, around)


def test_a_revised_region_moves_as_often_as_the_piece_around_it() -> None:
    """The surface leans a piece's beats to move as often as the chorales' in its meter;
    a revision aims its region at the same share, not at making up for the held beats
    kept around it (leaned for those as well, two redrawn bars of the D major chorale
    moved on 79% of their beats where the rest of the piece moved on 69%)."""
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    moving = {True: [], False: []}
    for seed in range(8):
        piece = compose(replace(spec, seed=seed)).to_json()
        for k in range(6):
            new = revise(piece, bars=(7, 8), seed=100 + k)
            assert new.surface is not None
            for slot, figures in zip(new.plan.slots, new.surface.figures, strict=True):
                moving[slot.position.bar in (7, 8)].append(
                    any(f not in ("hold", "given") for f in figures))
    region, rest = (float(np.mean(moving[inside])) for inside in (True, False))
    assert abs(region - rest) < 0.05, (region, rest)


@pytest.mark.slow
@pytest.mark.parametrize("name", COMPOSABLE)
def test_every_example_revised_for_ten_seeds(name: str, tmp_path: Path) -> None:
    changed = sum(revised_and_compared(name, seed, tmp_path) for seed in range(10))
    assert changed >= 6, f"{name}: the region changed in only {changed} of 10 seeds"


def test_the_region_follows_the_conditional_distribution_given_the_kept_music() -> None:
    """Keeping slots 0 and 4 of a chain (as a revision keeps the music around its region)
    leaves slots 1–3 distributed as the full chain's distribution conditioned on them."""
    chain = valid_chain(3, [3, 3, 3, 3, 3], density=0.7)
    full = exact(chain)
    borders = Counter((x[0], x[4]) for x in full)
    first, last = borders.most_common(1)[0][0]  # the border with the most completions
    given = {x: p for x, p in full.items() if x[0] == first and x[4] == last}
    total = sum(given.values())
    conditional = {x: p / total for x, p in given.items()}
    assert len(conditional) >= 4
    kept = [u.copy() for u in chain.unary]
    for t, value in ((0, first), (4, last)):
        kept[t] = np.where(np.arange(len(kept[t])) == value, kept[t], -np.inf)
    draws = backward(Chain(kept, chain.pair)).draw(np.random.default_rng(7), N_DRAWS)
    assert chi_square_p(draws, conditional) > 0.001
    assert {(x[0], x[4]) for x in map(tuple, draws)} == {(first, last)}


def test_only_the_chosen_voices_move_and_locked_notes_stay(tmp_path: Path) -> None:
    comp, saved = composed("chorale-d-major", 1, tmp_path)
    alto = comp.spec.voices.index("alto")
    lock = next(s for s in comp.plan.slots if s.position.bar == 4)
    new = revise(saved, bars=(3, 5), voices=["alto", "tenor"], seed=5,
                 locks=[(4, float(lock.position.beat), "alto")])
    for old_v, new_v, slot in zip(comp.voicings, new.voicings, comp.plan.slots, strict=True):
        assert (old_v[0], old_v[3]) == (new_v[0], new_v[3])  # soprano and bass
        if not 3 <= slot.position.bar <= 5:
            assert old_v == new_v
    assert new.voicings[lock.index][alto] == comp.voicings[lock.index][alto]
    assert [s.numeral for s in new.plan.slots] == [s.numeral for s in comp.plan.slots]


def test_plan_draws_the_chords_again_and_surface_only_keeps_every_voicing(tmp_path: Path
                                                                            ) -> None:
    comp, saved = composed("chorale-d-major", 2, tmp_path)
    numerals = [s.numeral for s in comp.plan.slots]
    inside = [s.index for s in comp.plan.slots if 5 <= s.position.bar <= 8]
    replanned = [revise(saved, bars=(5, 8), plan=True, seed=s) for s in range(4)]
    assert any([p.plan.slots[t].numeral for t in inside] != [numerals[t] for t in inside]
               for p in replanned)
    for p in replanned:
        assert [s.numeral for s in p.plan.slots if not 5 <= s.position.bar <= 8] == \
            [s.numeral for s in comp.plan.slots if not 5 <= s.position.bar <= 8]
    figures = [revise(saved, bars=(5, 8), surface_only=True, seed=s) for s in range(4)]
    assert all(f.voicings == comp.voicings for f in figures)
    assert any(f.surface != comp.surface for f in figures)


def test_a_kept_note_that_cannot_hold_is_named_as_a_conflict(tmp_path: Path) -> None:
    """The mechanism that keeps notes names them when they conflict: a kept alto a
    semitone off its chord."""
    comp, saved = composed("chorale-d-major", 0, tmp_path)
    piece = read_piece(saved)
    slot = comp.plan.slots[5]
    wrong = Pitch(comp.voicings[5][1].midi + 1, comp.voicings[5][1].diatonic)
    use = RuleUse(RULES["fixed"], {"voice": "alto", "bar": slot.position.bar,
                                   "beat": float(slot.position.beat), "pitch": wrong}, "error")
    kept = Kept(tuple(s["numeral"] for s in piece.slots), (use,), (None,) * len(piece.slots))
    with pytest.raises(UnsatisfiableError) as caught:
        compose(piece.spec, kept=kept)
    assert "fixed" in caught.value.conflicts
    assert f"bar {slot.position.bar}" in str(caught.value)
    reuse = Reuse()  # a studio worker's: asked twice, the same conflict both times
    for _ in range(2):
        with pytest.raises(UnsatisfiableError) as again:
            compose(piece.spec, kept=kept, reuse=reuse)
        assert str(again.value) == str(caught.value)


def test_the_command_line_revises_and_refuses_foreign_or_broken_pieces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comp, saved = composed("chorale-d-major", 3, tmp_path)
    assert main(["revise", str(saved), "--bars", "2-3", "--seed", "9",
                 "-o", str(tmp_path / "new")]) == 0
    assert json.loads((tmp_path / "new.json").read_text())["seed"] == 9
    doc = json.loads(saved.read_text())
    for mutate, words in (
            (lambda d: d.update(version=2), "version 2"),
            (lambda d: d.update(format="x"), "not a piece"),
            (lambda d: d["slots"][0].update(voicing=["C7", "A4", "D4", "D3"]),
             "no longer obeys its spec"),
            (lambda d: d["slots"][1].update(figures={"alto": "jig"}), "slot 2")):
        broken = json.loads(json.dumps(doc))
        mutate(broken)
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(broken))
        capsys.readouterr()
        assert main(["revise", str(path), "--bars", "5-6", "-o", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1
        assert not list(tmp_path.glob("x.*"))
    for args, words in ((["--bars", "40-41"], "bars 1-16"), (["--voices", "atlo"], "'alto'"),
                        (["--voices", "alto", "--lock", "3:9:alto"], "bar 3 has beats"),
                        (["--bars", "x"], "not a bar range")):
        capsys.readouterr()
        assert main(["revise", str(saved), *args, "-o", str(tmp_path / "y")]) == 2
        assert words in capsys.readouterr().err


def test_a_saved_piece_that_its_spec_no_longer_reads_is_a_spec_error(tmp_path: Path) -> None:
    _, saved = composed("chorale-d-major", 4, tmp_path)
    doc = json.loads(saved.read_text())
    doc["spec"]["yaml"] = doc["spec"]["yaml"].replace("key:", "kee:")
    with pytest.raises(SpecError):
        revise(doc, bars=(2, 3))


def test_drawing_the_region_alone_between_its_kept_neighbours_is_the_same_distribution(
        ) -> None:
    """A revision draws only slots 1–5 of a 7-slot chain (its region 2–4 and the kept
    neighbours 1 and 5): given the kept slots 0, 1, 5 and 6, that is the whole chain's
    conditional distribution, since every score is of a slot or of two neighbours."""
    chain = valid_chain(5, [2, 3, 3, 3, 3, 3, 2], density=0.75)
    full = exact(chain)
    kept = Counter((x[0], x[1], x[5], x[6]) for x in full).most_common(1)[0][0]
    given = {x[1:6]: p for x, p in full.items() if (x[0], x[1], x[5], x[6]) == kept}
    total = sum(given.values())
    assert len(given) >= 4
    unary = [u.copy() for u in chain.unary[1:6]]
    for k, value in ((0, kept[1]), (4, kept[2])):
        unary[k] = np.where(np.arange(len(unary[k])) == value, unary[k], -np.inf)
    draws = backward(Chain(unary, chain.pair[1:5])).draw(np.random.default_rng(3), N_DRAWS)
    assert chi_square_p(draws, {x: p / total for x, p in given.items()}) > 0.001


def test_revising_again_with_a_reuse_writes_the_same_music() -> None:
    """A studio worker keeps what one revision worked out for the next (the kept chain,
    the region's voicings, the kept beats): each revision of a chain of them, each from
    the last, of two pieces and different regions through one shared Reuse, is the very
    piece the plain revision makes, and the Reuse did keep something; a small one keeps
    no more than its size (a worker lives long) and still makes the same music."""
    reuse, small = Reuse(), Reuse(size=3, big=1)
    for name, seed in (("chorale-d-major", 0), ("harmonize-melody", 1)):
        doc = compose(replace(load_spec(EXAMPLES / f"{name}.yaml"), seed=seed)).to_json()
        asked: list[dict] = [{"bars": (7, 8)}, {"bars": (7, 8)}, {"bars": (1, 2)},
                             {"bars": (7, 8), "plan": True}, {"bars": (7, 8)},
                             {"bars": (7, 8), "voices": ["tenor"]},
                             {"bars": (7, 8), "locks": [(7, 1.0, "bass")]},
                             {"bars": (7, 8), "surface_only": True}, {"bars": (7, 8)}]
        for k, options in enumerate(asked):
            plain = revise(doc, seed=k, folder=EXAMPLES, **options)
            again = revise(doc, seed=k, folder=EXAMPLES, reuse=reuse, **options)
            assert again.to_json() == plain.to_json(), (name, k, options)
            tight = revise(doc, seed=k, folder=EXAMPLES, reuse=small, **options)
            assert tight.to_json() == plain.to_json(), (name, k, options)
            doc = plain.to_json()
    assert len(reuse) > 4 and len(small) == 4


def test_drawing_the_same_bars_again_and_again_with_a_reuse_writes_the_same_music() -> None:
    """A user trying draw after draw of the same bars: the region's beats come back on
    voicings drawn before, and are taken from the Reuse; each draw is still the very
    piece the plain revision makes (a beat also reads the chain's highest soprano note,
    which the region may change)."""
    reuse = Reuse()
    doc = compose(load_spec(EXAMPLES / "chorale-d-major.yaml")).to_json()
    for k in range(10):
        plain = revise(doc, bars=(7, 8), seed=k, folder=EXAMPLES)
        again = revise(doc, bars=(7, 8), seed=k, folder=EXAMPLES, reuse=reuse)
        assert again.to_json() == plain.to_json(), k
        doc = plain.to_json()
