"""Every voicing offered: the pairs judged by the voicings' names are those judged afresh
from the frames, and the check that a run connects at all (composer/solve/connect.py)
agrees with the sampler's arc consistency on real Essen tunes, those that strict harmony
cannot serve and those it can."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from composer.planning.chain import harmony_chain
from composer.rules import Context
from composer.sample.sampler import Chain, NoSolution, feasible
from composer.solve.candidates import _inner_notes, candidates, fixed_notes
from composer.solve.given import composing_rules
from composer.solve.pairs import pair_matrix
from composer.spec.load import load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "constraints" / "examples"


@pytest.mark.parametrize("name", ["harmonize-melody.yaml", "chorale-melody.yaml"])
def test_every_voicing_judged_by_name_is_judged_as_from_the_frames(name: str) -> None:
    spec = load_spec(EXAMPLES / name)
    ctx = Context(spec.voices, spec.key, spec.meter)
    chain = harmony_chain(spec, fixed_notes(spec, ctx))
    run = range(1, 9)
    every = candidates(spec, chain, None, slots=run, cap=None)
    compared = 0
    for k, t in enumerate(run[:-1]):
        _, offset, duration, _ = chain.times[t]
        if _inner_notes(spec, ctx, offset, duration):  # its last moment is not its frame
            continue
        ok, penalty = pair_matrix(every.frames[k], every.frames[k + 1], spec.rules, ctx)
        harmony = chain.pair[t][np.ix_(every.blocks[k].numeral_of_values(),
                                       every.blocks[k + 1].numeral_of_values())]
        expected = np.zeros(ok.shape, np.float32)
        expected += np.where(ok, -penalty, -np.inf).astype(np.float32) + harmony
        assert np.array_equal(every.pair[k], expected)
        compared += int(np.isfinite(expected).sum())
    assert compared > 1000


def _tune_spec(folder: Path, stem: str, number: int):
    from music21 import corpus
    from music21 import stream as m21stream

    from composer.batches.templates import tune_spec
    from composer.io.abc import carry_abc_accidentals

    part = corpus.parse(f"essenFolksong/{stem}", number=number).parts[0]
    carry_abc_accidentals(part)
    tune = folder / f"{stem}-{number}.musicxml"
    m21stream.Score([copy.deepcopy(part)]).write("musicxml", fp=str(tune))
    spec = tune.with_suffix(".yaml")
    spec.write_text(tune_spec(part, tune, stem, 0))
    return load_spec(spec)


@pytest.mark.parametrize(("stem", "number", "connects"), [
    ("altdeu20", 26, False), ("ballad10", 26, False), ("altdeu20", 301, True)])
def test_a_run_connects_exactly_where_the_sampler_finds_a_sequence(
        tmp_path: Path, stem: str, number: int, connects: bool) -> None:
    """Strict harmony (composing's first try), every voicing offered, no scorer."""
    spec = _tune_spec(tmp_path, stem, number)
    spec = replace(spec, rules=composing_rules(spec, weigh=False))
    chain = harmony_chain(spec, fixed_notes(spec, Context(spec.voices, spec.key, spec.meter)),
                          strict=True)
    every = candidates(spec, chain, None, cap=None)
    try:
        feasible(Chain(every.unary, every.pair))
        found = True
    except NoSolution:
        found = False
    assert found == connects
    if connects:
        again = candidates(spec, chain, None, cap=None, connected=True)
        assert all(np.array_equal(a, b) for a, b in zip(again.pair, every.pair, strict=True))
    else:
        with pytest.raises(NoSolution):
            candidates(spec, chain, None, cap=None, connected=True)
    # An explanation only asks whether the run connects: the same values, no pair scored.
    try:
        only = candidates(spec, chain, None, cap=None, connected=True, connect_only=True)
    except NoSolution:
        assert not connects
    else:
        assert connects and only.pair == ()
        assert all(np.array_equal(a, b) for a, b in zip(only.unary, every.unary, strict=True))


@pytest.mark.parametrize(("stem", "number", "scored"), [
    ("altdeu20", 26, False),  # its final cadence cannot be voiced strictly
    ("ballad10", 51, True)])  # its sixth slot cannot follow its fifth
def test_strict_harmony_gives_up_where_the_tune_breaks_without_voicing_it_all(
        tmp_path: Path, stem: str, number: int, scored: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Essen tunes that strict harmony cannot serve: the strict try fails having
    offered every voicing only of the slots where the tune breaks, and a tune that breaks
    at its final cadence is not scored at all."""
    import composer.pipeline as pipeline
    from composer.errors import UnsatisfiableError
    from composer.neural.scorer import default_scorer

    spec = _tune_spec(tmp_path, stem, number)
    asked: list[tuple[bool, range | None, int | None]] = []
    offer = pipeline.candidates

    def recorded(spec, chain, scorer, **kw):  # type: ignore[no-untyped-def]
        asked.append((scorer is not None, kw.get("slots"), kw.get("cap", 64)))
        return offer(spec, chain, scorer, **kw)

    monkeypatch.setattr(pipeline, "candidates", recorded)
    with pytest.raises(UnsatisfiableError):
        pipeline._compose(spec, composing_rules(spec, weigh=False), default_scorer(), None,
                          strict=True)
    assert any(read for read, *_ in asked) == scored
    every = [slots for _, slots, cap in asked if cap is None]
    assert every and all(s is not None and len(s) == 2 for s in every)
