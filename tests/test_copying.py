"""`max-order` while composing: the automaton refuses exactly the corpus runs the checker
flags, the draws keep the chain's distribution conditioned on the rule, and composed
pieces pass the checker with no seed refused."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_sampler import chi_square_p, exact, random_chain

from composer.corpus import default_melody_index
from composer.grading.checker import check_texture
from composer.io.read import texture_from_music21
from composer.io.write import piece_to_music21
from composer.pipeline import compose
from composer.sample.copying import CopyGuard, copying_automaton, pitch_moves, sample_original
from composer.sample.sampler import Automaton, Chain, backward
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet, parse_use
from composer.spec.yamlfile import YamlDoc

EXAMPLES = Path(__file__).resolve().parent.parent / "constraints" / "examples"


def bwv269_soprano(notes: int, shift: int) -> list[int]:
    line = next(li for li in default_melody_index().lines
                if li.work == "bwv269" and li.voice == "soprano")
    return [p + shift for p in line.midi[:notes]]


def reads(aut: Automaton, choice: list[int]) -> bool:
    """Whether the automaton accepts a chosen sequence (per-value labels)."""
    s = aut.start
    for t, v in enumerate(choice):
        s = int(aut.tables[t][s, aut.labels[t][0, v]])
        if s < 0:
            return False
    return bool(aut.accept[s])


def test_the_automaton_refuses_a_transposed_chorale_and_allows_a_changed_one() -> None:
    bach = bwv269_soprano(10, shift=2)  # from G to A major
    changed = list(bach)
    changed[6] -= 3  # as in test_rules_crafted: no nine notes are Bach's any more
    pitches = [np.array([a, b]) for a, b in zip(bach, changed, strict=True)]
    chain = Chain([np.zeros(2)] * 10, [np.zeros((2, 2))] * 9)
    guard = CopyGuard.of("soprano", 8, pitches)
    every = set(guard.index.grams(9))
    aut = copying_automaton(guard.pitches, pitch_moves(chain, guard.pitches), every, 8)
    assert guard.copied([0] * 10) and not reads(aut, [0] * 10)
    assert not guard.copied([0] * 6 + [1] + [0] * 3) and reads(aut, [0] * 6 + [1] + [0] * 3)
    for choice in itertools.product((0, 1), repeat=10):  # it refuses what the rule flags
        assert reads(aut, list(choice)) == (not guard.copied(choice))
    assert all(not guard.copied(sample_original(chain, np.random.default_rng(s), [guard]))
               for s in range(5))


def small_instance(order: int) -> tuple[Chain, CopyGuard, dict]:
    """The first random chain over scale pitches on which the rule bites but leaves a
    choice, with the exact conditional distribution by enumeration."""
    for seed in itertools.count(0):
        rng = np.random.default_rng(seed)
        sizes = [3] * (order + 3)
        chain = random_chain(rng, sizes, density=0.8, forbidden=0.0)
        pitches = [rng.choice([60, 62, 64, 65, 67, 69], size=3) for _ in sizes]
        guard = CopyGuard.of("soprano", order, pitches)
        probs = exact(chain, allowed=lambda x, g=guard: not g.copied(x))
        if 8 <= len(probs) <= len(exact(chain)) - 8:
            return chain, guard, probs
    raise AssertionError("unreachable")


def test_the_whole_corpus_automaton_keeps_the_distribution_exact() -> None:
    chain, guard, probs = small_instance(order=2)
    every = set(guard.index.grams(3))
    aut = copying_automaton(guard.pitches, pitch_moves(chain, guard.pitches), every, 2)
    draws = backward(chain, automaton=aut).draw(np.random.default_rng(3), 20_000)
    assert all(not guard.copied(x) for x in draws)
    assert chi_square_p(draws, probs) > 0.001


def test_growing_the_automaton_from_counterexamples_keeps_the_draws_exact() -> None:
    """order 4 has too many patterns to carry whole: they are learned from draws."""
    chain, guard, probs = small_instance(order=4)
    rng = np.random.default_rng(4)
    draws = np.array([sample_original(chain, rng, [guard]) for _ in range(3000)])
    assert chi_square_p(draws, probs) > 0.001


def with_max_order(order: int, seed: int):
    use = parse_use(YamlDoc({"rules": [{"rule": "max-order", "voice": "soprano",
                                        "order": order}]}, "test"), ("rules", 0))
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    return replace(spec, rules=(*spec.rules, use), seed=seed), use


def copies(comp, use) -> tuple:
    spec = comp.spec
    texture, _ = texture_from_music21(piece_to_music21(comp.piece), spec.voices)
    ruleset = RuleSet("max-order", "", (len(spec.voices),), spec.voices, (use,))
    return check_texture(texture, ruleset).violations


@pytest.mark.parametrize("seed", range(10))
def test_order_8_composes_every_seed_and_the_checker_agrees(seed: int) -> None:
    spec, use = with_max_order(8, seed)
    assert copies(compose(spec), use) == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_3_composes_and_copies_nothing(seed: int) -> None:
    spec, use = with_max_order(3, seed)
    assert copies(compose(spec), use) == ()
