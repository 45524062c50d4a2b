"""How often, and how many voices at once, the drawn beats move: the chain's own
marginals, not the beats' alone.

The figure level leans every combination that moves a voice within its beat by one
log-odds, so that a piece's beats move, in expectation, as often as Bach's chorales in
its meter do (`composer.surface.counts.moving_share`), and every non-chord tone struck
beside another moving voice by a second, so that a moving beat moves as many voices as
his do on average (`composer.surface.counts.voices_per_moving_beat`: about one and a
half; without it the composed beats moved one voice at a time, the inner voices and the
bass far less often than his, and filled fewer of their thirds). Read from each beat's
scores alone, those expectations ignore the pair compatibilities between neighbouring
beats (a suspension's preparation, the horizontal rules across the border), which
refuse more moving combinations than holding ones; here they are the exact marginals
of the chain the sampler draws from (forward–backward, at the sampler's temperature).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from composer.surface.counts import LEAN_LIMIT

STEPS = 10  # bisection steps: 2·LEAN_LIMIT / 2**10, finer than a draw can tell
ROUNDS = 3  # of the two leans set in turn (each moves the other's aim only a little)
NEAR, NEAR_STEPS = 0.25, 5  # after the first round, each is sought this near its last
NEWTON_STEPS, DELTA = 6, 0.01  # Newton's steps at most; the finite difference (nats)
TOLERANCE = 1e-3  # of each aim: finer than a draw can tell


@dataclass(frozen=True)
class Lean:
    moving: float  # log-odds added to every combination that moves a voice
    together: float  # added for each non-chord tone moving beside another voice


def expected(unary: Sequence[np.ndarray], links: Sequence[np.ndarray],
             features: Sequence[np.ndarray], temperature: float = 1.0) -> np.ndarray:
    """[F]: the expected sum over slots of each feature (features[t]: [K_t, F]) under the
    chain P(x) ∝ exp(score(x) / temperature), `links` its pair weights (`pair_weights`)."""
    weights = [np.exp((u - u.max()) / temperature) for u in unary]
    ahead = [weights[0] / weights[0].sum()]
    for link, w in zip(links, weights[1:], strict=True):
        a = (ahead[-1] @ link) * w
        ahead.append(a / max(a.sum(), 1e-300))
    behind = [np.ones(len(weights[-1]))]
    for link, w in zip(reversed(links), reversed(weights[1:]), strict=True):
        b = link @ (w * behind[-1])
        behind.append(b / max(b.max(), 1e-300))
    behind.reverse()
    out = np.zeros(features[0].shape[1])
    for a, b, f in zip(ahead, behind, features, strict=True):
        p = a * b
        out += p @ f / max(p.sum(), 1e-300)
    return out


def pair_weights(pair: Sequence[np.ndarray], temperature: float = 1.0) -> list[np.ndarray]:
    """pair[t] (log-scores, −inf where refused, or a boolean mask) as weights."""
    return [p.astype(np.float64) if p.dtype == np.bool_
            else np.exp((p - _top(p)) / temperature) for p in pair]


def lean_to(unary: Sequence[np.ndarray], pair: Sequence[np.ndarray],
            movers: Sequence[np.ndarray], extra: Sequence[np.ndarray], moving: float,
            voices: float, temperature: float = 1.0) -> Lean:
    """The two log-odds (each within ±LEAN_LIMIT) under which the chain's expected count
    of slots that move is `moving` and its moving slots move `voices` voices on average:
    `movers[t]` [K_t] counts the voices each value moves (a given melody's among them),
    `extra[t]` those that the second lean raises. Each is found by bisection, the other
    held, in turn."""
    links = pair_weights(pair, temperature)
    features = [np.stack([m > 0, m], axis=1).astype(np.float64) for m in movers]

    def got(lean: Lean) -> np.ndarray:
        leaned = [u + lean.moving * (m > 0) + lean.together * e
                  for u, m, e in zip(unary, movers, extra, strict=True)]
        return expected(leaned, links, features, temperature)

    aim = np.array([moving, voices])

    def miss(x: np.ndarray) -> np.ndarray:
        sums = got(Lean(float(x[0]), float(x[1])))
        return np.array([sums[0], _per_moving(sums)]) - aim

    found = _newton(miss, aim)
    if found is not None:
        return found
    beta = gamma = 0.0
    for k in range(ROUNDS):
        near = None if k == 0 else NEAR
        beta = _bisect(lambda x, g=gamma: got(Lean(x, g))[0] < moving, beta, near)
        gamma = _bisect(lambda x, b=beta: _per_moving(got(Lean(b, x))) < voices, gamma,
                        near)
    return Lean(beta, gamma)


def _newton(miss, aim: np.ndarray) -> Lean | None:
    """Both leans at once by Newton's method on the two expectations (smooth and rising
    in each lean), the slopes by finite differences: about ten passes of the chain where
    bisection in turn takes forty. A lean that would pass its limit stays there (an aim
    out of reach, as a short revision between held beats may set, is met as nearly as
    the limit allows) and the other is sought alone. None where the slopes are flat or
    it does not settle: bisection then finds the nearest lean."""
    x = np.zeros(2)
    now = miss(x)
    for _ in range(NEWTON_STEPS):
        # Held at a limit: a lean there whose aim lies beyond it (rising expectations).
        held = np.abs(x) >= LEAN_LIMIT
        held &= np.sign(x) == -np.sign(now)
        if np.all(held | (np.abs(now) <= TOLERANCE * np.maximum(np.abs(aim), 1.0))):
            return Lean(float(x[0]), float(x[1]))
        slope = np.column_stack([(miss(x + h) - now) / DELTA for h in np.eye(2) * DELTA])
        free = ~held
        sub = slope[np.ix_(free, free)]
        if abs(np.linalg.det(sub)) < 1e-12:
            return None
        x[free] -= np.linalg.solve(sub, now[free])
        x = np.clip(x, -LEAN_LIMIT, LEAN_LIMIT)
        now = miss(x)
    return None


def _per_moving(sums: np.ndarray) -> float:
    return float(sums[1] / max(sums[0], 1e-9))


def _bisect(below, last: float, near: float | None) -> float:
    """The x within ±LEAN_LIMIT (or within `near` of `last`) where `below(x)` (true
    below the aim, false above) turns."""
    low, high = (-LEAN_LIMIT, LEAN_LIMIT) if near is None else \
        (max(last - near, -LEAN_LIMIT), min(last + near, LEAN_LIMIT))
    for _ in range(STEPS if near is None else NEAR_STEPS):
        mid = (low + high) / 2
        low, high = (mid, high) if below(mid) else (low, mid)
    return (low + high) / 2


def _top(p: np.ndarray) -> float:
    finite = p[np.isfinite(p)]
    return float(finite.max()) if finite.size else 0.0
