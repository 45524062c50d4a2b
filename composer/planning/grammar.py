"""Grammars are data: forms and harmony live in grammars/*.yaml, read here once.

A harmony grammar names the chords of a mode, sorts them into regions (tonic,
predominant, dominant, applied), says which region may follow which, which chord an
applied chord must resolve to, and which pairs of chords make each cadence. The weight
of each allowed progression comes from the corpus (grammars/harmony-weights.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from composer.chords import Chord
from composer.content import content_dir
from composer.music import Key, Mode, PitchClass
from composer.rules.structure import CADENCES, classify_cadence, related_keys
from composer.spec.yamlfile import load_yaml

WEIGHTS_FILE = "harmony-weights.json"
FREE_FILE = "free-chords.json"  # per mode, a log-weight per numeral for free pieces


@dataclass(frozen=True)
class Numeral:
    name: str
    degree: int
    quality: str
    raise_root: int = 0
    # A numeral of a related key's phrase: that key's tonic as a degree of the home key
    # and its mode (composer/planning/keys.py); None: a numeral of the home key.
    local: tuple[int, Mode] | None = None

    def chord(self, key: Key) -> Chord:
        if self.local is not None:
            key = Key(key.degree(self.local[0]), self.local[1])
        root = key.degree(self.degree)
        if self.raise_root:
            root = root.up(0, self.raise_root)
        return Chord(root, self.quality)


@dataclass(frozen=True, eq=False)
class CadenceTable:
    """The (penultimate, last) numeral pairs of some cadences, in order, with each pair's
    log weight (`HarmonyGrammar.cadence_logp`), and the last chords they close on."""

    pairs: tuple[tuple[int, int], ...]
    before: np.ndarray  # int [F]
    last: np.ndarray  # int [F]
    logp: np.ndarray  # float [F]
    finals: list[int]  # sorted


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
    resolutions: dict[int, frozenset[int]] = field(default_factory=dict)  # i → what i goes to
    moves: dict[str, tuple[str, ...]] = field(default_factory=dict)  # region → regions
    # Where each key's block of numerals starts, and the end (keys.keyed_grammar); empty:
    # the home key's numerals only.
    blocks: tuple[int, ...] = ()
    # float [N]: a log-weight per numeral added at every slot of a free piece (no given
    # melody), fitted so that free plans' chords are shared out as the chorales' are
    # (`benchmarks/fit_free_chords.py`); zeros where none is fitted.
    free: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def why(self, before: int | None, this: int) -> str:
        """The grammar rule that lets numeral `this` follow `before` (None: it opens)."""
        name = self.numerals[this].name
        if before is None:
            return (f"opens on {name}, the grammar's start" if this in self.start
                    else f"opens on {name}, an unlisted start (rare)")
        prev = self.numerals[before].name
        if not self.allowed[before, this]:
            return f"{prev}–{name}, a progression the grammar does not list (rare)"
        if this in self.resolutions.get(before, ()):
            return f"{prev} resolves to {name}"
        if self.region[this] not in self.moves.get(self.region[before], (self.region[this],)):
            return f"{prev}–{name}, a cadence's two chords"  # (allowed only as a cadence)
        return f"{self.region[before]} → {self.region[this]} ({prev}–{name})"

    def start_logp(self) -> np.ndarray:
        """log-weight of each numeral as the first chord: 0 for a listed start."""
        with np.errstate(divide="ignore"):
            out = np.full(len(self.numerals), np.log(self.unlisted))
        out[list(self.start)] = 0.0
        return out

    def index(self, name: str) -> int:
        return next(i for i, n in enumerate(self.numerals) if n.name == name)

    def cadence_kinds(self) -> tuple[str, ...]:
        """Every cadence a phrase may close with: in the home key, then in each closely
        related key ('half in vi')."""
        return CADENCES + tuple(f"{kind} in {name}" for name in _related(self.mode)
                                for kind in CADENCES)

    def cadence_pairs(self, kind: str) -> tuple[tuple[int, int], ...]:
        """The (penultimate, last) numerals that make the cadence: the formulas the
        grammar lists, then every other pair the checker's `cadence` rule hears as that
        cadence (the last chord in root position, as the composer places it). A keyed
        grammar is built afresh for each piece: its pairs are worked out once per shape
        (the same numerals of the same mode) and kept for every later piece."""
        known = self._heard
        if kind not in known:
            listed = self.cadences.get(kind) or self.related.get(kind) or ()
            known[kind] = _cadence_pairs(self._shape, kind, tuple(listed))
        return known[kind]

    def cadence_table(self, kinds: tuple[str, ...]) -> CadenceTable:
        """The pairs of every cadence of `kinds` in order, as arrays with their log
        weights: a chain marks them at slot after slot, piece after piece."""
        known = self._tables
        if kinds not in known:
            pairs = tuple(f for k in kinds for f in self.cadence_pairs(k))
            at = np.array([a for a, _ in pairs], np.int64)
            to = np.array([b for _, b in pairs], np.int64)
            known[kinds] = CadenceTable(pairs, at, to, np.array(
                [self.cadence_logp(f) for f in pairs], np.float64), sorted(set(to.tolist())))
        return known[kinds]

    def cadence_logp(self, pair: tuple[int, int]) -> float:
        """0 for a formula the grammar lists, the unlisted weight's log for one that is
        only heard as the cadence."""
        return 0.0 if pair in self._listed_formulas else self._unlisted_logp

    @cached_property
    def _unlisted_logp(self) -> float:
        return float(np.log(self.unlisted)) if self.unlisted else -np.inf

    @cached_property
    def _shape(self) -> Shape:
        return Shape(self.mode, self.numerals, self.region)

    @cached_property
    def _heard(self) -> dict[str, tuple[tuple[int, int], ...]]:
        return {}  # cadence_pairs' answers for this grammar, by kind

    @cached_property
    def _tables(self) -> dict[tuple[str, ...], CadenceTable]:
        return {}  # cadence_table's answers for this grammar, by kinds

    @cached_property
    def _listed_formulas(self) -> frozenset[tuple[int, int]]:
        return frozenset(pair for part in (self.cadences, self.related)
                         for pairs in part.values() for pair in pairs)

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
    for i, j in (f for part in (cadences, related) for pairs in part.values() for f in pairs):
        allowed[i, j] = True  # a cadence's two chords may always follow each other
    learned = content_dir("grammars") / WEIGHTS_FILE
    if learned.exists():
        counts = json.loads(learned.read_text()).get(mode, {})
        for a, row in counts.items():
            for b, c in row.items():
                if a in names and b in names:
                    weights[names.index(a), names.index(b)] += float(c)
    unlisted = float(data.get("unlisted", 0.0))
    weights = np.where(allowed, weights, unlisted * weights)
    resolutions = {names.index(a): frozenset(names.index(b) for b in to if b in names)
                   for a, to in data.get("resolutions", {}).items() if a in names}
    return HarmonyGrammar(data["name"], mode, numerals, region, allowed, weights,
                          tuple(names.index(s) for s in data["start"]), cadences, related,
                          unlisted, resolutions,
                          {r: tuple(to) for r, to in data["moves"].items()},
                          free=free_weights(mode, names))


def free_weights(mode: str, names: list[str]) -> np.ndarray:
    """The fitted log-weight of each numeral in a free piece (0 where none is stored).

    A free plan is a chain pinned at both ends of every short phrase: it opens on the
    tonic and closes on a cadence every two bars or so, and so it overdraws the chords
    that lead there (in minor the tonic, V and vii°, where the chorales take III, VI,
    VII, iv and v, and modulate to the relative major). The progression weights alone
    cannot say so; a weight per chord, fitted on the plans themselves, can. In major
    only V7/IV is stored, set by hand (benchmarks/fit_free_chords.py says why)."""
    path = content_dir("grammars") / FREE_FILE
    stored = json.loads(path.read_text()).get(mode, {}) if path.exists() else {}
    return np.array([float(stored.get(n, 0.0)) for n in names])


REFERENCE = {"major": Key(PitchClass.parse("C"), "major"),
              "minor": Key(PitchClass.parse("A"), "minor")}


def _related(mode: str) -> dict[str, Key]:
    """The closely related keys of a mode, by the numeral of their tonic: 'V', 'vi'."""
    home = REFERENCE[mode]
    out = {}
    for key in related_keys(home)[1:]:
        degree = next(d for d in range(1, 8) if home.degree(d).pc == key.tonic.pc)
        name = ("I", "II", "III", "IV", "V", "VI", "VII")[degree - 1]
        out[name if key.mode == "major" else name.lower()] = key
    return out


@dataclass(frozen=True)
class Shape:
    """What a grammar's cadence pairs depend on: its mode, numerals and their regions.
    Keyed grammars of the same keys are equal shapes; the hash is taken once (a keyed
    grammar has a hundred numerals or more)."""

    mode: str
    numerals: tuple[Numeral, ...]
    region: tuple[str, ...]

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.mode, self.numerals, self.region))

    @cached_property
    def chords(self) -> tuple[Chord, ...]:
        """Each numeral's chord in the mode's reference key."""
        return tuple(n.chord(REFERENCE[self.mode]) for n in self.numerals)

    @cached_property
    def places(self) -> dict[Chord, tuple[int, ...]]:
        """The numerals that spell each chord (a keyed grammar spells the same chord in
        several blocks), in order."""
        out: dict[Chord, list[int]] = {}
        for i, chord in enumerate(self.chords):
            out.setdefault(chord, []).append(i)
        return {chord: tuple(at) for chord, at in out.items()}

    @cached_property
    def aliases(self) -> frozenset[int]:
        """An applied numeral that spells a plain one (V/iv and the major tonic in
        minor) does not close a cadence under its applied name."""
        plain = {y for y, r in zip(self.chords, self.region, strict=True) if r != "applied"}
        return frozenset(b for b, (y, r) in enumerate(zip(self.chords, self.region,
                                                          strict=True))
                         if r == "applied" and y in plain)


@lru_cache(maxsize=1024)
def _cadence_pairs(grammar: Shape, kind: str, listed: tuple[tuple[int, int], ...]
                   ) -> tuple[tuple[int, int], ...]:
    base, _, where = kind.partition(" in ")
    key = _related(grammar.mode)[where] if where else REFERENCE[grammar.mode]
    given, alias, places = set(listed), grammar.aliases, grammar.places
    heard = sorted((a, b) for x, y in _closes(grammar, key).get(base, ())
                   for a in places[x] for b in places[y]
                   if (a, b) not in given and b not in alias)
    return tuple(listed) + tuple(heard)


@lru_cache(maxsize=256)
def _closes(grammar: Shape, key: Key) -> dict[str, tuple[tuple[Chord, Chord], ...]]:
    """Each pair of the grammar's distinct chords by the cadence the checker hears it
    make in `key` (the last chord in root position): classified once for every kind,
    and once for the chords of one root and quality (all that a cadence reads of them:
    a keyed grammar spells a hundred chords of a few dozen such)."""
    out: dict[str, list[tuple[Chord, Chord]]] = {}
    kinds: dict[tuple[int, str, int, str], str | None] = {}
    for x in grammar.places:
        for y in grammar.places:
            asked = (x.root.pc, x.quality, y.root.pc, y.quality)
            if (kind := kinds.get(asked, "")) == "":
                kind = kinds[asked] = classify_cadence(x, y, y.root.pc, key)
            if kind is not None:
                out.setdefault(kind, []).append((x, y))
    return {kind: tuple(pairs) for kind, pairs in out.items()}


@lru_cache(maxsize=2)
def harmony_grammar(mode: str) -> HarmonyGrammar:
    return _load(mode)


@dataclass(frozen=True)
class FormGrammar:
    forms: dict[str, tuple[str, dict[str, str]]]  # name → (sections, default cadences)
    inner_cadences: tuple[str, ...]
    phrase_bars: dict[int, int]
    # A varied repeat (A′) changes at most this share of its model's slots, and at least
    # `min_changes` of them.
    max_share: float = 0.25
    min_changes: int = 1


@lru_cache(maxsize=1)
def form_grammar() -> FormGrammar:
    data = load_yaml(content_dir("grammars") / "forms.yaml").data
    forms = {name: (str(f["sections"]), dict(f.get("cadences", {})))
             for name, f in data["forms"].items()}
    variation = data.get("variation", {})
    return FormGrammar(forms, tuple(data["inner-cadences"]),
                       {int(k): int(v) for k, v in data["phrase-bars"].items()},
                       float(variation.get("max-share", 0.25)),
                       int(variation.get("min-changes", 1)))
