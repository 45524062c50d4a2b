"""Grammars are data: forms and harmony live in grammars/*.yaml, read here once.

A harmony grammar names the chords of a mode, sorts them into regions (tonic,
predominant, dominant, applied), says which region may follow which, which chord an
applied chord must resolve to, and which pairs of chords make each cadence. The weight
of each allowed progression comes from the corpus (grammars/harmony-weights.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from composer.content import content_dir
from composer.music import Chord, Key
from composer.yamlfile import load_yaml

WEIGHTS_FILE = "harmony-weights.json"


@dataclass(frozen=True)
class Numeral:
    name: str
    degree: int
    quality: str
    raise_root: int = 0

    def chord(self, key: Key) -> Chord:
        root = key.degree(self.degree)
        if self.raise_root:
            root = root.up(0, self.raise_root)
        return Chord(root, self.quality)


@dataclass(frozen=True, eq=False)
class HarmonyGrammar:
    name: str
    mode: str
    numerals: tuple[Numeral, ...]
    region: tuple[str, ...]  # per numeral
    allowed: np.ndarray  # bool [N, N]: do the moves list numeral i → numeral j?
    weights: np.ndarray  # float [N, N]: corpus count plus one; × `unlisted` where not listed
    start: tuple[int, ...]
    cadences: dict[str, tuple[tuple[int, int], ...]]
    related: dict[str, tuple[tuple[int, int], ...]]  # cadences in closely related keys
    unlisted: float = 0.0  # the weight of an unlisted progression or first chord

    def start_logp(self) -> np.ndarray:
        """log-weight of each numeral as the first chord: 0 for a listed start."""
        with np.errstate(divide="ignore"):
            out = np.full(len(self.numerals), np.log(self.unlisted))
        out[list(self.start)] = 0.0
        return out

    def index(self, name: str) -> int:
        return next(i for i, n in enumerate(self.numerals) if n.name == name)

    def transition_logp(self) -> np.ndarray:
        """log P(j | i); −inf only where the grammar has no weight for unlisted moves."""
        w = self.weights
        total = w.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            return np.log(np.where(total > 0, w / np.maximum(total, 1e-12), 0.0))


def _load(mode: str) -> HarmonyGrammar:
    doc = load_yaml(content_dir("grammars") / f"harmony-{mode}.yaml")
    data = doc.data
    numerals = tuple(Numeral(name, int(v[0]), str(v[1]), int(v[2]) if len(v) > 2 else 0)
                     for name, v in data["chords"].items())
    names = [n.name for n in numerals]
    region_of = {chord: region for region, chords in data["regions"].items() for chord in chords}
    region = tuple(region_of[n] for n in names)
    n = len(numerals)
    allowed = np.zeros((n, n), bool)
    for i, a in enumerate(names):
        targets = data.get("resolutions", {}).get(a)
        for j, b in enumerate(names):
            if targets is not None:
                allowed[i, j] = b in targets
            else:
                allowed[i, j] = region[j] in data["moves"][region[i]]
    weights = np.ones((n, n))
    cadences, related = ({kind: tuple((names.index(a), names.index(b)) for a, b in pairs)
                          for kind, pairs in data.get(part, {}).items()}
                         for part in ("cadences", "related-cadences"))
    for a, b in (f for part in (cadences, related) for pairs in part.values() for f in pairs):
        allowed[a, b] = True  # a cadence's two chords may always follow each other
    learned = content_dir("grammars") / WEIGHTS_FILE
    if learned.exists():
        counts = json.loads(learned.read_text()).get(mode, {})
        for a, row in counts.items():
            for b, c in row.items():
                if a in names and b in names:
                    weights[names.index(a), names.index(b)] += float(c)
    unlisted = float(data.get("unlisted", 0.0))
    weights = np.where(allowed, weights, unlisted * weights)
    return HarmonyGrammar(data["name"], mode, numerals, region, allowed, weights,
                          tuple(names.index(s) for s in data["start"]), cadences, related,
                          unlisted)


@lru_cache(maxsize=2)
def harmony_grammar(mode: str) -> HarmonyGrammar:
    return _load(mode)


@dataclass(frozen=True)
class FormGrammar:
    forms: dict[str, tuple[str, dict[str, str]]]  # name → (sections, default cadences)
    inner_cadences: tuple[str, ...]
    phrase_bars: dict[int, int]


@lru_cache(maxsize=1)
def form_grammar() -> FormGrammar:
    data = load_yaml(content_dir("grammars") / "forms.yaml").data
    forms = {name: (str(f["sections"]), dict(f.get("cadences", {})))
             for name, f in data["forms"].items()}
    return FormGrammar(forms, tuple(data["inner-cadences"]),
                       {int(k): int(v) for k, v in data["phrase-bars"].items()})
