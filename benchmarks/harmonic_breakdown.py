"""Where free pieces' harmonic intervals part from the chorales': a diagnosis of the
harmonic-interval feature of style_distance.py.

The feature is the interval class (semitones mod 12) between every pair of voices,
weighted by how long it sounds, compared per piece with the training chorales of the
piece's mode by Jensen–Shannon distance. A piece can lie far from the chorales because
its pooled style differs (a bias every piece shares) or because it is short (few
sonorities, so its shares scatter by chance). This prints, for Bach's test chorales and
the free examples × seeds (the shipped model):

- the per-piece median distance; Bach's test chorales cut to the free pieces' number of
  sonorities (what length alone costs); and the free pieces with their pooled bias taken
  out (each class rescaled by the chorales' pooled share over the free pieces', per mode),
  and with it taken out of the sonorities on the beats alone, or off them alone;
- the mean per-piece divergence term of each class (the distance is its summed root), and
  the free pieces' median with one class's pooled bias taken out: what matching that
  class alone would buy;
- each class's pooled share, on the beats and between them, and per pair of voices;
- how often the beats are voiced in open position (the soprano more than an octave above
  the tenor).

    .venv/bin/python benchmarks/harmonic_breakdown.py --seeds 10 --jobs 2   # prints; writes nothing
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from examples_seeds import EXAMPLES
from style_distance import composed, js_distance, profile, reference, tasks_for

CLASSES = ("P1", "m2", "M2", "m3", "M3", "P4", "TT", "P5", "m6", "M6", "m7", "M7")
PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
Task = tuple[str, str, int]  # (source, name, seed) as style_distance's tasks
Sonorities = list[tuple[bool, float, tuple[int, ...]]]  # (on a beat, duration, MIDI)


def sonorities(score: Any, source: str) -> Sonorities:
    from composer.io.read import texture_from_music21

    texture, _ = texture_from_music21(score, source=source)
    return [(s.harmonic, float(s.duration), tuple(int(m) for m in texture.frame.midi[k]))
            for k, s in enumerate(texture.slices)]


def counts(son: Sonorities, beat: bool | None = None, pair: tuple[int, int] | None = None
           ) -> Counter:
    """Interval classes weighted by duration (`beat`: only on, or only off, the beats)."""
    out: Counter = Counter()
    for on, d, row in son:
        if beat is None or on == beat:
            for i, j in [pair] if pair else PAIRS:
                if row[i] >= 0 and row[j] >= 0:
                    out[(row[i] - row[j]) % 12] += d
    return out


def shares(c: Counter) -> np.ndarray:
    a = np.array([c.get(k, 0.0) for k in range(12)], float)
    return a / max(a.sum(), 1e-12)


def terms(c: Counter, r: Counter) -> np.ndarray:
    """Each class's term of the Jensen–Shannon divergence (base 2)."""
    a, b = shares(c), shares(r)
    m = (a + b) / 2
    out = np.zeros(12)
    for x in (a, b):
        nz = x > 0
        out[nz] += x[nz] * np.log2(x[nz] / m[nz]) / 2
    return out


def row(label: str, values: Sequence[float], scale: float = 100.0) -> str:
    return f"{label:26}" + "".join(f"{scale * v:7.2f}" for v in values)


def measure(task: tuple[str, str, int]) -> tuple[tuple[str, str, int], Any]:
    """One piece's profile (style_distance.py) and sonorities, or why it has none."""
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from composer.corpus import parse_chorale
    from composer.errors import PartimentoError
    from composer.spec.load import load_spec

    source, name, seed = task
    try:
        if source != "free-model":
            score = parse_chorale(name)
            return task, (profile(score, name), sonorities(score, name))
        with tempfile.TemporaryDirectory(prefix="harmonic.") as tmp:
            spec = replace(load_spec(EXAMPLES / f"{name}.yaml"), seed=seed)
            score = composed(spec, "model", Path(tmp))
            return task, (profile(score, name), sonorities(score, name))
    except PartimentoError as exc:
        return task, f"{type(exc).__name__}: {exc}"


def measured(argv: list[str], doc: str, measure: Callable[[Task], tuple[Task, Any]]
             ) -> dict[Task, Any]:
    """`measure` of the training chorales, Bach's test chorales and the free examples ×
    `--seeds` (`--jobs` processes), each piece that has a measure."""
    import multiprocessing

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=4, help="per example (default 4)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    args.limit = args.train_limit = args.examples = None
    args.seed = 0
    tasks = [t for t in tasks_for(args)[0] if t[0] in ("train", "bach", "free-model")]
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        return {t: m for t, m in pool.imap_unordered(measure, tasks, chunksize=1)
                if not isinstance(m, str)}


def main(argv: list[str]) -> int:
    got = measured(argv, __doc__, measure)
    ref = reference([p for t, (p, _) in got.items() if t[0] == "train"])
    son = {t: s for t, (_, s) in got.items()}
    mode = {t: p.mode for t, (p, _) in got.items()}
    free = sorted(t for t in got if t[0] == "free-model")
    bach = sorted(t for t in got if t[0] == "bach")
    train = sorted(t for t in got if t[0] == "train")
    ours = {t: counts(son[t]) for t in free}

    def dist(t: tuple, c: Counter) -> float:
        return js_distance(c, ref[mode[t]]["harmonic"])

    pooled = {m: sum((ours[t] for t in free if mode[t] == m), Counter()) for m in ref}
    ratio = {m: shares(ref[m]["harmonic"]) / np.maximum(shares(pooled[m]), 1e-12)
             for m in ref if pooled[m]}

    def unbiased(classes: Sequence[int] = range(12), beat: bool | None = None) -> float:
        """The free pieces' median with the pooled bias of these classes taken out (of
        the sonorities on, or off, the beats only, each rescaled by that share's own
        ratio, where `beat` is given)."""
        if beat is None:
            scale, keep = ratio, {t: Counter() for t in free}
        else:
            part = {m: sum((counts(son[t], beat) for t in train if mode[t] == m), Counter())
                    for m in ref}
            ours_part = {m: sum((counts(son[t], beat) for t in free if mode[t] == m),
                                Counter()) for m in ref}
            scale = {m: shares(part[m]) / np.maximum(shares(ours_part[m]), 1e-12)
                     for m in ref if ours_part[m]}
            keep = {t: counts(son[t], not beat) for t in free}
        got = []
        for t in free:
            c = counts(son[t], beat) if beat is not None else ours[t]
            got.append(dist(t, keep[t] + Counter(
                {k: v * (scale[mode[t]][k] if k in classes else 1.0) for k, v in c.items()})))
        return float(np.median(got))

    rng = np.random.default_rng(0)
    cut = []
    for t in free:
        for b in rng.choice(len(bach), 5):
            s = son[bach[b]]
            n = min(len(son[t]), len(s))
            start = int(rng.integers(0, len(s) - n + 1))
            cut.append(dist(bach[b], counts(s[start:start + n])))
    print(f"per-piece harmonic distance, median: Bach's test chorales"
          f" {np.median([dist(t, counts(son[t])) for t in bach]):.4f}; cut to the free"
          f" pieces' number of sonorities {np.median(cut):.4f}; free pieces"
          f" {np.median([dist(t, ours[t]) for t in free]):.4f}, their pooled bias taken out"
          f" {unbiased():.4f} (on the beats only {unbiased(beat=True):.4f}, off them only"
          f" {unbiased(beat=False):.4f})")
    print("\n" + " " * 26 + "".join(f"{c:>7}" for c in CLASSES))
    for label, group in (("Bach test", bach), ("free", free)):
        mean = np.mean([terms(counts(son[t]), ref[mode[t]]["harmonic"]) for t in group], 0)
        print(row(f"{label}: divergence x1000", mean, 1000))
    print(row("median x1000, 1 unbiased", [unbiased((k,)) for k in range(12)], 1000))
    for label, group in (("training", train), ("free", free)):
        whole = sum(sum(counts(son[t]).values()) for t in group)
        for beat in (True, False):
            c = sum((counts(son[t], beat) for t in group), Counter())
            print(row(f"{label} {'on' if beat else 'off'} beats"
                      f" ({sum(c.values()) / whole:.0%})", shares(c)))
    for i, j in PAIRS:
        for label, group in (("training", train), ("free", free)):
            c = sum((counts(son[t], pair=(i, j)) for t in group), Counter())
            print(row(f"{label} {'SATB'[i]}{'SATB'[j]}", shares(c)))
    for label, group in (("training", train), ("free", free)):
        beats = np.array([r for t in group for on, _, r in son[t] if on and min(r) >= 0])
        print(f"{label}: beats in open position {(beats[:, 0] - beats[:, 2] > 12).mean():.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
