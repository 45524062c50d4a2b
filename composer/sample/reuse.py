"""What revising again reuses: a bounded store, owned by its caller (a studio worker),
of what a revision computes though the revision does not change it — the harmony chain
of the kept chords, the offered voicings of the region's slots, the beats' figures (the
kept beats', and the region's on voicings drawn before).

Revising the same bars over and over (a user trying one draw after another) asks the
same questions of the same spec and the same kept music each time; only the seed
differs, and none of these depend on it. Each entry is keyed by everything it is made
from, so a reused value is the one the uncached path would make: the music is the same
with or without a Reuse (tests/test_revise.py compares them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec

T = TypeVar("T")
_NONE = object()  # no value kept
SIZE = 256  # small values kept (a beat's figures): a few regions' worth
BIG = 8  # large values kept (a harmony chain is some 4 MB for 16 bars, its scores)
TOKENS = 64  # specs (with their kept music) told apart


class Reuse:
    """The values last made, by key, the small and the large each within their bound;
    the least recently used goes first."""

    def __init__(self, size: int = SIZE, big: int = BIG) -> None:
        self._bounds = {False: size, True: big}
        self._values: dict[bool, OrderedDict[Hashable, Any]] = {
            False: OrderedDict(), True: OrderedDict()}
        self._tokens: OrderedDict[Hashable, int] = OrderedDict()
        self._issued = 0

    def __len__(self) -> int:
        return sum(len(values) for values in self._values.values())

    def token(self, key: Hashable | None) -> int | None:
        """A small number that stands for a large key (a spec and its rules), so that
        the keys made of it hash at once; never the same number for two keys (None for
        None, or a key that cannot be compared)."""
        if key is None:
            return None
        try:
            token = self._tokens.pop(key, None)  # (put back last: the latest used)
        except TypeError:
            return None
        if token is None:
            self._issued += 1
            token = self._issued
        self._tokens[key] = token
        if len(self._tokens) > TOKENS:
            self._tokens.popitem(last=False)
        return token

    def get(self, key: Hashable | None, make: Callable[[], T], big: bool = False) -> T:
        """The value kept under `key`, else made now and kept (a None key: made, not
        kept — something in it could not be compared); `big`: among the large ones."""
        if key is None:
            return make()
        values = self._values[big]
        try:
            value = values.pop(key, _NONE)  # (put back last: the latest used)
        except TypeError:
            return make()
        if value is _NONE:
            value = make()
        values[key] = value
        if len(values) > self._bounds[big]:
            values.popitem(last=False)
        return value


def made(reuse: Reuse | None, key: Hashable | None, make: Callable[[], T],
         big: bool = False) -> T:
    """`make()`, through `reuse` where there is one."""
    return make() if reuse is None else reuse.get(key, make, big)


def spec_key(spec: Spec) -> Hashable | None:
    """The spec less its seed, as a key: its fields and every rule use's (a use's params
    are a mapping); None where some value cannot be compared."""
    try:
        key = (replace(spec, seed=0, rules=()), tuple(_use_key(u) for u in spec.rules))
        hash(key)
    except TypeError:
        return None
    return key


def _use_key(use: RuleUse) -> Hashable:
    return (use.rule.id, _frozen(use.params), use.severity, use.weight, use.given,
            use.exempt)


def _frozen(value: Any) -> Hashable:
    """A param's value as a key, its type with it (so that True, 1 and 1.0 differ)."""
    if isinstance(value, Mapping):
        inner: Hashable = tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    elif isinstance(value, list | tuple):
        inner = tuple(_frozen(v) for v in value)
    elif isinstance(value, set | frozenset):
        inner = frozenset(_frozen(v) for v in value)
    else:
        inner = value
    return type(value), inner
