"""The figure network (composer/neural/surface_*.py): the numpy pass that composing runs
is the torch module that was trained, it knows Bach's figures on the validation chorales
better than a uniform choice and than the figure counts of the same training chorales,
and a piece composed with it keeps every hard rule, read back from disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from composer.content import content_dir
from composer.neural.data import load_chorales
from composer.neural.surface_data import chorale_places, figure_counts, surface_examples
from composer.neural.surface_net import (
    SurfaceNet,
    load_figure_scorer,
    surface_path,
)
from composer.neural.weights import read_npz
from composer.surface.counts import StatisticalFigureScorer
from composer.surface.figures import NAMES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
SHIPPED = surface_path(content_dir("models") / "chorale.pt")


@pytest.fixture(scope="module")
def chorales():
    return {s: [c for c in load_chorales() if c.split == s] for s in ("train", "validation")}


@pytest.fixture(scope="module")
def scorer():
    return load_figure_scorer(SHIPPED)


def test_the_shipped_figure_network_has_its_card():
    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert card["model"]["figures"] == list(NAMES)
    assert card["data"]["split_rule"].startswith("BWV number modulo 10")
    assert card["training"]["command"].startswith("partimento train --surface")
    arrays, _ = read_npz(SHIPPED)
    assert card["model"]["parameters"] == sum(a.size for k, a in arrays.items() if k != "figures")


def test_the_numpy_network_is_the_torch_network(scorer, chorales):
    """Composing runs the network in numpy from the places as `choose` builds them: on
    a real chorale's beats, the same log-probabilities as the torch module with the
    same weights."""
    import torch

    from composer.neural.surface_train import SurfaceModule, _fields

    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    model = SurfaceModule(card["model"]["config"]["hidden"], card["model"]["config"]["depth"],
                          0.0)
    arrays, _ = read_npz(SHIPPED)
    model.load_state_dict({k: torch.from_numpy(a) for k, a in arrays.items() if k != "figures"})
    model.eval()
    chorale = chorales["validation"][0]
    with torch.inference_mode():
        expected = model(_fields(surface_examples([chorale]))).numpy()
    places, labels = chorale_places(chorale)
    got = scorer.log_scores(places)[labels < len(NAMES)]
    assert got.shape == expected.shape and len(got) > 100
    assert np.abs(got - expected).max() < 1e-4
    assert isinstance(scorer.net, SurfaceNet)


def test_bach_figures_are_likelier_under_the_network_than_under_the_counts(scorer, chorales):
    """On the validation chorales (not trained on), the network gives Bach's own figures
    a higher likelihood than a uniform choice and than the counts of the same training
    chorales, read in the same places."""
    val = chorales["validation"]
    counted = StatisticalFigureScorer.from_counts(figure_counts(chorales["train"]))
    net = counts = 0.0
    n = 0
    for chorale in val:
        places, labels = chorale_places(chorale)
        keep = labels < len(NAMES)
        rows = np.flatnonzero(keep)
        net -= scorer.log_scores(places)[rows, labels[rows]].sum()
        counts -= counted.log_scores(places)[rows, labels[rows]].sum()
        n += len(rows)
    assert n > 4000
    assert net / n < counts / n < np.log(len(NAMES))
    assert net / n < 0.9 * counts / n  # not a rounding error: a tenth lower at least


@pytest.mark.parametrize("example", ["harmonize-melody", "chorale-d-major"])
def test_pieces_with_the_neural_surface_keep_every_hard_rule(example, tmp_path):
    """Composed with the shipped model (its figure network scoring the figures), written,
    read back from disk and checked: no hard rule broken, and the voices do move."""
    from dataclasses import replace

    from composer.grading.checker import check_texture
    from composer.io.read import read_score
    from composer.io.write import write_outputs
    from composer.neural.scorer import default_scorer
    from composer.pipeline import compose, document
    from composer.solve.given import held_when_composing
    from composer.spec.load import load_spec
    from composer.spec.rulesets import RuleSet

    assert default_scorer().surface is not None
    spec = load_spec(EXAMPLES / f"{example}.yaml")
    held = held_when_composing(spec.rules, spec.melody is not None)
    ruleset = RuleSet("spec", "", (len(spec.voices),), spec.voices,
                      tuple(u for u in held if u.severity == "error"))
    for seed in (0, 1):
        comp = compose(replace(spec, seed=seed))
        assert comp.surface is not None
        moving = sum(f not in ("hold", "given") for beat in comp.surface.figures for f in beat)
        assert moving > 5
        written = write_outputs(comp.piece, tmp_path / f"{example}-{seed}", document(comp))
        texture, _ = read_score(written[0], spec.voices)
        assert check_texture(texture, ruleset, str(written[0])).violations == ()


@pytest.mark.parametrize("damage", ["garbage", "other-vocabulary"])
def test_a_bad_figure_network_is_one_line_and_exit_2(damage, tmp_path, capsys):
    """A model whose figure network beside it is damaged, or was trained on another
    figure vocabulary, is refused in one line naming the file, asking to retrain."""
    import shutil

    from composer.cli import main
    from composer.neural.weights import write_npz

    models = content_dir("models")
    for suffix in (".pt", ".npz", ".json"):
        shutil.copy(models / f"chorale{suffix}", tmp_path / f"m{suffix}")
    shutil.copy(SHIPPED.with_suffix(".json"), tmp_path / "m-surface.json")
    if damage == "garbage":
        (tmp_path / "m-surface.npz").write_bytes(b"not a zip file")
    else:
        arrays, _ = read_npz(SHIPPED)
        write_npz({**arrays, "figures": arrays["figures"][::-1]}, tmp_path / "m-surface.npz", "")
    code = main(["compose", str(EXAMPLES / "harmonize-melody.yaml"), "--model",
                 str(tmp_path / "m.pt"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "m-surface.npz" in err
    assert ("retrain" in err) == (damage == "other-vocabulary")
    assert not list(tmp_path.glob("out*"))
