"""How often the drawn beats move: the chain's own marginals, not the beats' alone.

The figure level leans every combination that moves a voice within its beat by one
log-odds, so that a piece's beats move, in expectation, as often as Bach's chorales in
its meter do (`composer.surface.counts.moving_share`). Read from each beat's scores
alone, that expectation ignores the pair compatibilities between neighbouring beats (a
suspension's preparation, the horizontal rules across the border), which refuse more
moving combinations than holding ones: the drawn pieces then moved less often than
the lean aimed at. Here the expectation is the exact marginal of the chain the sampler
draws from (forward–backward, at the sampler's temperature).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from composer.surface.counts import LEAN_LIMIT

STEPS = 14  # bisection steps: 2·LEAN_LIMIT / 2**14, far finer than a draw can tell


def moving_marginals(unary: Sequence[np.ndarray], pair: Sequence[np.ndarray],
                     moves: Sequence[np.ndarray], temperature: float = 1.0) -> np.ndarray:
    """[T]: per slot, the probability that the chain P(x) ∝ exp(score(x) / temperature)
    takes one of the values `moves` marks there (pair[t]: [K_t, K_t+1] log-scores, −inf
    where refused, or a boolean mask)."""
    weights = [np.exp((u - u.max()) / temperature) for u in unary]
    links = [p.astype(np.float64) if p.dtype == np.bool_
             else np.exp((p - _top(p)) / temperature) for p in pair]
    ahead = [weights[0] / weights[0].sum()]
    for link, w in zip(links, weights[1:], strict=True):
        a = (ahead[-1] @ link) * w
        ahead.append(a / max(a.sum(), 1e-300))
    behind = [np.ones(len(weights[-1]))]
    for link, w in zip(reversed(links), reversed(weights[1:]), strict=True):
        b = link @ (w * behind[-1])
        behind.append(b / max(b.max(), 1e-300))
    behind.reverse()
    out = np.zeros(len(unary))
    for t, (a, b, m) in enumerate(zip(ahead, behind, moves, strict=True)):
        p = a * b
        out[t] = (p * m).sum() / max(p.sum(), 1e-300)
    return out


def meter_lean(unary: Sequence[np.ndarray], pair: Sequence[np.ndarray],
               moves: Sequence[np.ndarray], wanted: float, temperature: float = 1.0
               ) -> float:
    """The one log-odds β, within ±LEAN_LIMIT, to add to every value `moves` marks so
    that the chain's expected count of moving slots is `wanted` (bisection: the count
    grows with β). A slot whose values all move (or none) counts as it is."""
    low, high = -LEAN_LIMIT, LEAN_LIMIT
    for _ in range(STEPS):
        mid = (low + high) / 2
        leaned = [u + mid * m for u, m in zip(unary, moves, strict=True)]
        if moving_marginals(leaned, pair, moves, temperature).sum() < wanted:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _top(p: np.ndarray) -> float:
    finite = p[np.isfinite(p)]
    return float(finite.max()) if finite.size else 0.0
