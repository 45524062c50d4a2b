"""The sampler against brute force: on chains small enough to enumerate, its draws must
follow the scorer's distribution conditioned on the rules (a chi-square test), every draw
must be valid, and the passes must agree with enumeration."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest

from composer.errors import UnsatisfiableError
from composer.sample.sampler import (
    Automaton,
    Chain,
    NoSolution,
    backward,
    best,
    change_budget_automaton,
    feasible,
    product,
    run_length_automaton,
    sample,
    single_climax_automaton,
)

Seq = tuple[int, ...]
N_DRAWS = 20_000


def random_chain(rng: np.random.Generator, sizes: list[int], density: float,
                 forbidden: float = 0.15) -> Chain:
    """Random Markov scores, with −inf where a hard rule would forbid a value or a pair."""
    unary = [np.where(rng.random(k) < forbidden, -np.inf, rng.normal(size=k)) for k in sizes]
    pair = [np.where(rng.random((a, b)) < density, rng.normal(size=(a, b)), -np.inf)
            for a, b in itertools.pairwise(sizes)]
    return Chain(unary, pair)


def score(chain: Chain, x: Seq) -> float:
    total = sum(float(chain.unary[t][v]) for t, v in enumerate(x))
    return total + sum(float(chain.pair[t][x[t], x[t + 1]]) for t in range(len(x) - 1))


def exact(chain: Chain, temperature: float = 1.0,
          allowed: Callable[[Seq], bool] = lambda x: True) -> dict[Seq, float]:
    """The conditional distribution by enumeration: P(x) ∝ exp(score / T) on valid x."""
    weights = {}
    for x in itertools.product(*(range(k) for k in chain.sizes)):
        s = score(chain, x)
        if s > -np.inf and allowed(x):
            weights[x] = s / temperature
    if not weights:
        return {}
    top = max(weights.values())
    total = sum(math.exp(w - top) for w in weights.values())
    return {x: math.exp(w - top) / total for x, w in weights.items()}


def chi_square_p(draws: np.ndarray, probs: dict[Seq, float]) -> float:
    """p-value of the draws under `probs`; bins expecting fewer than 5 draws are pooled,
    and a draw outside the support gives 0. The chi-square tail is the Wilson–Hilferty
    approximation, so the test needs no scipy."""
    counts = Counter(tuple(int(v) for v in row) for row in draws)
    if set(counts) - set(probs):
        return 0.0
    n = len(draws)
    bins: list[tuple[float, int]] = []
    pooled_e, pooled_o = 0.0, 0
    for x, p in probs.items():
        if n * p < 5:
            pooled_e, pooled_o = pooled_e + n * p, pooled_o + counts[x]
        else:
            bins.append((n * p, counts[x]))
    if pooled_e > 0:
        bins.append((pooled_e, pooled_o))
    stat = sum((o - e) ** 2 / e for e, o in bins)
    return chi_square_sf(stat, len(bins) - 1)


def chi_square_sf(x: float, df: int) -> float:
    if df < 1:
        return 1.0
    v = 2 / (9 * df)
    z = ((x / df) ** (1 / 3) - (1 - v)) / math.sqrt(v)
    return 0.5 * math.erfc(z / math.sqrt(2))


def valid_chain(seed: int, sizes: list[int], density: float) -> Chain:
    """The first chain from seed onwards that has a solution (tests want a real support)."""
    for s in itertools.count(seed):
        chain = random_chain(np.random.default_rng(s), sizes, density)
        if any(score(chain, x) > -np.inf for x in itertools.product(*map(range, sizes))):
            return chain
    raise AssertionError("unreachable")


@pytest.mark.parametrize(("x", "df", "p"), [(3.841, 1, 0.05), (18.307, 10, 0.05),
                                           (29.588, 10, 0.001), (124.34, 100, 0.05)])
def test_the_chi_square_tail_is_accurate_enough(x: float, df: int, p: float) -> None:
    assert chi_square_sf(x, df) == pytest.approx(p, rel=0.25)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_draws_follow_the_exact_conditional_distribution(temperature: float) -> None:
    chain = valid_chain(1, [3, 3, 3, 3], density=0.6)
    probs = exact(chain, temperature)
    assert len(probs) >= 8
    draws = backward(chain, temperature=temperature).draw(np.random.default_rng(2), N_DRAWS)
    assert chi_square_p(draws, probs) > 0.001


def naive_draw(chain: Chain, rng: np.random.Generator) -> list[int]:
    """Left to right from the local scores, restarting on a dead end: the usual mistake."""
    while True:
        x: list[int] = []
        for t in range(chain.length):
            local = chain.unary[t] + (chain.pair[t - 1][x[-1]] if t else 0.0)
            if not np.isfinite(local).any():
                break
            w = np.exp(local - local.max())
            x.append(int(np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right")))
        else:
            return x


def test_naive_sampling_with_restarts_is_biased_and_the_test_sees_it() -> None:
    no = -np.inf
    chain = Chain([np.zeros(2), np.zeros(3), np.zeros(2)],
                  [np.array([[0, 0, 0], [0, no, no]]),
                   np.array([[0, 0], [0, no], [no, no]])])  # value 2 of slot 1 is a dead end
    probs = exact(chain)
    assert len(probs) == 5 and all(p == pytest.approx(0.2) for p in probs.values())
    rng = np.random.default_rng(3)
    naive = np.array([naive_draw(chain, rng) for _ in range(N_DRAWS)])
    assert chi_square_p(naive, probs) < 1e-6
    ours = backward(chain).draw(rng, N_DRAWS)
    assert chi_square_p(ours, probs) > 0.001


def breaking_slot(chain: Chain) -> int | None:
    """The earliest slot no valid beginning reaches, by plain sets; None if solvable."""
    reached = {v for v in range(chain.sizes[0]) if chain.unary[0][v] > -np.inf}
    for t in range(chain.length):
        if t:
            reached = {j for j in range(chain.sizes[t]) if chain.unary[t][j] > -np.inf
                       and any(chain.pair[t - 1][i, j] > -np.inf for i in reached)}
        if not reached:
            return t
    return None


def test_draws_never_dead_end_and_unsolvable_chains_name_the_break() -> None:
    rng = np.random.default_rng(4)
    outcomes: Counter[str] = Counter()
    for _ in range(300):
        sizes = [int(k) for k in rng.integers(1, 7, size=rng.integers(1, 11))]
        chain = random_chain(rng, sizes, density=0.3)
        expected = breaking_slot(chain)
        if expected is None:
            draws = backward(chain).draw(rng, 50)
            assert all(score(chain, tuple(row)) > -np.inf for row in draws)
            outcomes["solved"] += 1
        else:
            with pytest.raises(NoSolution) as caught:
                sample(chain, rng)
            assert caught.value.slot == expected
            outcomes["unsolvable"] += 1
    assert outcomes["solved"] > 50 and outcomes["unsolvable"] > 50


@pytest.mark.parametrize(("chain", "slot"), [
    (Chain([np.full(2, -np.inf), np.zeros(2)], [np.ones((2, 2), bool)]), 0),
    (Chain([np.zeros(2)] * 5, [np.ones((2, 2), bool)] * 2 + [np.zeros((2, 2), bool)]
           + [np.ones((2, 2), bool)]), 3),
    (Chain([np.zeros(2), np.zeros(2), np.zeros(0)], [np.ones((2, 2)), np.ones((2, 0))]), 2),
])
def test_no_solution_names_the_first_slot_that_cannot_be_reached(chain: Chain, slot: int) -> None:
    for attempt in (lambda: sample(chain, np.random.default_rng(0)), lambda: best(chain),
                    lambda: feasible(chain)):
        with pytest.raises(NoSolution, match=f"slot {slot}") as caught:
            attempt()
        assert caught.value.slot == slot
        assert isinstance(caught.value, UnsatisfiableError)


def test_feasible_keeps_exactly_the_values_of_complete_solutions() -> None:
    rng = np.random.default_rng(5)
    checked = 0
    while checked < 40:
        sizes = [int(k) for k in rng.integers(1, 5, size=5)]
        chain = random_chain(rng, sizes, density=0.35)
        support = exact(chain) if breaking_slot(chain) is None else {}
        if not support:
            continue
        masks = feasible(chain)
        for t, mask in enumerate(masks):
            assert set(np.flatnonzero(mask)) == {x[t] for x in support}
        checked += 1


def test_best_is_the_most_probable_sequence_and_log_z_the_partition_function() -> None:
    for seed in range(20):
        chain = valid_chain(100 * seed, [4, 3, 4, 3, 2], density=0.5)
        weights = {x: score(chain, x) for x in exact(chain)}
        assert tuple(best(chain)) == max(weights, key=weights.__getitem__)
        log_z = math.log(sum(math.exp(w) for w in weights.values()))
        assert backward(chain).log_z == pytest.approx(log_z, abs=1e-5)


def test_the_same_seed_gives_the_same_draws() -> None:
    chain = valid_chain(7, [5, 5, 5, 5, 5, 5], density=0.5)
    one = [sample(chain, np.random.default_rng(11)) for _ in range(3)]
    two = [sample(chain, np.random.default_rng(11)) for _ in range(3)]
    assert one == two
    many = backward(chain).draw(np.random.default_rng(12), 200)
    assert (many == backward(chain).draw(np.random.default_rng(12), 200)).all()
    assert not (many == backward(chain).draw(np.random.default_rng(13), 200)).all()


def test_masks_and_float32_scores_give_the_same_chain() -> None:
    chain = valid_chain(8, [6, 6, 6, 6], density=0.4)
    masks = Chain(chain.unary, [p > -np.inf for p in chain.pair])
    as_scores = Chain(chain.unary, [np.where(p > -np.inf, 0.0, -np.inf) for p in chain.pair])
    assert backward(masks).log_z == pytest.approx(backward(as_scores).log_z)
    for a, b in zip(feasible(masks), feasible(chain), strict=True):
        assert (a == b).all()
    single = Chain(chain.unary, [p.astype(np.float32) for p in chain.pair])
    assert backward(single).log_z == pytest.approx(backward(chain).log_z, abs=1e-4)


def test_malformed_chains_and_automata_are_refused() -> None:
    with pytest.raises(ValueError, match="pair\\[0\\] has shape"):
        Chain([np.zeros(2), np.zeros(3)], [np.zeros((3, 2))])
    with pytest.raises(ValueError, match="NaN"):
        Chain([np.array([0.0, np.nan])], [])
    with pytest.raises(ValueError, match="need 1 pair arrays"):
        Chain([np.zeros(2), np.zeros(2)], [])
    chain = Chain([np.zeros(2)] * 3, [np.zeros((2, 2))] * 2)
    with pytest.raises(ValueError, match="reads 2 slots"):
        backward(chain, automaton=change_budget_automaton([np.zeros(2, bool)] * 2, 1))
    with pytest.raises(ValueError, match="temperature"):
        sample(chain, np.random.default_rng(0), temperature=0.0)


# --- non-local rules as automata ---------------------------------------------------------

Rule = tuple[Automaton, Callable[[Seq], bool]]


def max_order(rng: np.random.Generator, sizes: list[int]) -> Rule:
    continues = [rng.random((a, b)) < 0.6 for a, b in itertools.pairwise(sizes)]

    def ok(x: Seq) -> bool:
        run = longest = 1
        for t in range(len(x) - 1):
            run = run + 1 if continues[t][x[t], x[t + 1]] else 1
            longest = max(longest, run)
        return longest <= 2

    return run_length_automaton(continues, order=2), ok


def a_prime(rng: np.random.Generator, sizes: list[int]) -> Rule:
    differs = [rng.random(k) < 0.5 for k in sizes]

    def ok(x: Seq) -> bool:
        return 1 <= sum(bool(differs[t][v]) for t, v in enumerate(x)) <= 2

    return change_budget_automaton(differs, max_changes=2, min_changes=1), ok


def climax(rng: np.random.Generator, sizes: list[int]) -> Rule:
    heights = [rng.integers(0, 5, size=k) for k in sizes]

    def ok(x: Seq) -> bool:
        chosen = [int(heights[t][v]) for t, v in enumerate(x)]
        return max(chosen) == 3 and chosen.count(3) == 1

    return single_climax_automaton(heights, climax=3), ok


def both(rng: np.random.Generator, sizes: list[int]) -> Rule:
    (first, ok1), (second, ok2) = max_order(rng, sizes), a_prime(rng, sizes)
    return product(first, second), lambda x: ok1(x) and ok2(x)


def even_sum(rng: np.random.Generator, sizes: list[int]) -> Rule:
    steps = [np.array([[v % 2 for v in range(k)], [(v + 1) % 2 for v in range(k)]])
             for k in sizes]
    return Automaton.over_values(0, [True, False], steps), lambda x: sum(x) % 2 == 0


@pytest.mark.parametrize("rule", [max_order, a_prime, climax, both, even_sum])
def test_automata_hold_and_keep_the_distribution_exact(rule: Callable[..., Rule]) -> None:
    sizes = [3, 3, 3, 3, 3]
    chain = valid_chain(9, sizes, density=0.75)
    everything = len(exact(chain))
    for seed in itertools.count(10):  # the first rule that bites, and leaves a choice
        automaton, ok = rule(np.random.default_rng(seed), sizes)
        probs = exact(chain, allowed=ok)
        if 8 <= len(probs) < everything:
            break
    draws = backward(chain, automaton=automaton).draw(np.random.default_rng(14), N_DRAWS)
    assert all(ok(tuple(row)) for row in draws)
    assert chi_square_p(draws, probs) > 0.001
    for t, mask in enumerate(feasible(chain, automaton=automaton)):
        assert set(np.flatnonzero(mask)) == {x[t] for x in probs}
    weights = {x: score(chain, x) for x in probs}
    assert tuple(best(chain, automaton=automaton)) == max(weights, key=weights.__getitem__)


def test_an_automaton_that_never_accepts_breaks_at_the_last_slot() -> None:
    chain = Chain([np.zeros(3)] * 4, [np.zeros((3, 3))] * 3)
    no_climax = single_climax_automaton([np.array([0, 1, 2])] * 4, climax=5)
    with pytest.raises(NoSolution, match="non-local") as caught:
        sample(chain, np.random.default_rng(0), automaton=no_climax)
    assert caught.value.slot == 3
