"""The chorale model: its data (grids that decode to the corpus's own notes, a split fixed
by BWV number), training (the loss falls; a resumed run goes on exactly as an unbroken
one), the shipped checkpoint as the sampler's scorer, and the one-line errors a user
sees for a missing or damaged model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from composer.chords import Chord
from composer.cli import main
from composer.content import content_dir
from composer.corpus import parse_chorale
from composer.io.read import texture_from_music21
from composer.music import Key, Pitch, PitchClass
from composer.neural.data import (
    OffGrid,
    corpus_names,
    encode_chorale,
    encode_grid,
    load_chorales,
    off_grid,
    spans_of,
    split_of,
    transpositions,
)
from composer.rules.vertical import STANDARD_RANGES
from composer.texture import REST

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
SHIPPED = content_dir("models") / "chorale.pt"
OFF_GRID = ["bach/bwv36.4-2", "bach/bwv432"]  # each holds a pair of thirty-second notes


# The data ------------------------------------------------------------------------------

@pytest.mark.slow
def test_every_chorale_decodes_to_its_own_notes():
    names = corpus_names()
    chorales = {c.name: c for c in load_chorales(names)}
    assert off_grid(names) == OFF_GRID and sorted(set(names) - set(chorales)) == OFF_GRID
    for name in names:
        _, origin = texture_from_music21(parse_chorale(name), source=name)
        lines = [spans_of(events) for events in origin.events]
        if name in OFF_GRID:
            with pytest.raises(OffGrid):
                encode_grid(lines)
            continue
        ch = chorales[name]
        assert [ch.grid.spans(v) for v in range(4)] == lines, name
        # Each beat's notes are the ones the grid sounds where the beat begins.
        assert (ch.grid.midi[ch.beats.cell] == ch.beats.midi).all(), name


def test_held_and_repeated_notes_stay_apart():
    ch = encode_chorale("bach/bwv269")
    _, origin = texture_from_music21(parse_chorale("bach/bwv269"))
    lines = [spans_of(events) for events in origin.events]
    repeats = [(v, a) for v, line in enumerate(lines) for a, b in zip(line, line[1:],
                                                                     strict=False)
               if a.midi == b.midi and a.offset + a.duration == b.offset]
    assert repeats  # the chorale strikes some note twice in a row
    v, first = repeats[0]
    start = int(first.offset * 4)
    end = start + int(first.duration * 4)
    assert ch.grid.midi[start, v] == ch.grid.midi[end, v] and ch.grid.onset[end, v]
    assert [ch.grid.spans(v) for v in range(4)] == lines


def test_split_by_bwv_number():
    assert [split_of(n) for n in ("bach/bwv10.7", "bach/bwv101.7", "bach/bwv269",
                                  "bach/bwv248.12-2")] == ["test", "validation", "train",
                                                           "train"]
    by_work = defaultdict(set)
    for name in corpus_names():
        by_work[name.split("bwv")[1].split(".")[0].split("-")[0]].add(split_of(name))
    assert all(len(splits) == 1 for splits in by_work.values())
    counts = {s: sum(split_of(n) == s for n in corpus_names())
              for s in ("train", "validation", "test")}
    assert counts == {"train": 290, "validation": 27, "test": 33}


def test_transpositions_keep_every_voice_in_range():
    ch = encode_chorale("bach/bwv269")
    shifts = transpositions(ch.grid.midi)
    assert 0 in shifts and len(shifts) == len({k % 12 for k in shifts}) > 1
    ranges = [[Pitch.parse(n).midi for n in STANDARD_RANGES[v]] for v in STANDARD_RANGES]
    for k in shifts:
        for v, (low, high) in enumerate(ranges):
            notes = ch.grid.midi[:, v][ch.grid.midi[:, v] != REST].astype(int) + k
            assert k == 0 or low - 2 <= notes.min() and notes.max() <= high + 2


# Training ------------------------------------------------------------------------------

@pytest.fixture
def one_thread():
    """As `partimento train` runs by default: small matrices, one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_lowers_the_loss_and_resumes_exactly(tmp_path, one_thread):
    import torch

    from composer.neural.train import TrainConfig, train

    config = TrainConfig(name="smoke", epochs=3, limit=3, seed=5)
    whole = train(config, tmp_path / "whole", runs=tmp_path / "runs-a")
    history = whole.card["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["validation"] < history[0]["validation"] - 0.3
    assert history[-1]["train"] < history[0]["train"]
    state = torch.load(tmp_path / "whole" / "smoke.pt", weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in state.values())
    # Two epochs, stop, resume for a third: the same weights as three at once.
    train(replace(config, epochs=2), tmp_path / "parts", runs=tmp_path / "runs-b")
    train(config, tmp_path / "parts", runs=tmp_path / "runs-b", resume=True)
    resumed = torch.load(tmp_path / "parts" / "smoke.pt", weights_only=True)
    assert all(torch.equal(state[k], resumed[k]) for k in state)
    other = train(replace(config, seed=6, epochs=1), tmp_path / "other",
                  runs=tmp_path / "runs-c")
    assert not torch.equal(other.model.state_dict()["plan_net.0.weight"],
                           state["plan_net.0.weight"])


# The shipped model -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def scorer():
    from composer.neural.scorer import load_scorer

    return load_scorer(SHIPPED)


def test_shipped_checkpoint_is_a_plain_state_dict_with_its_card():
    import torch

    from composer.neural.model import FORMAT

    assert SHIPPED.stat().st_size < 20 * 2**20
    state = torch.load(SHIPPED, weights_only=True)
    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert card["format_version"] == FORMAT == int(state["format_version"])
    assert card["model"]["parameters"] == sum(t.numel() for k, t in state.items()
                                              if k != "format_version")
    for split, works in card["data"]["splits"].items():
        assert all(split_of(w) == split for w in works)
    assert card["figures"]["test_nll"] < 1.0  # nats per note; a uniform guess is 3.7


def test_the_numpy_network_is_the_torch_network(scorer):
    """Composing runs the network in numpy: on a real chorale's beats (every key it is
    transposed to), the same log-probabilities as the torch module that was trained."""
    import torch

    from composer.neural.features import PlanArrays
    from composer.neural.model import ChoraleNet, ModelConfig
    from composer.neural.train import examples, to_batch

    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    model = ChoraleNet(ModelConfig(**card["model"]["config"]))
    model.load_state_dict(torch.load(SHIPPED, weights_only=True))
    model.eval()
    arrays = examples([encode_chorale("bach/bwv269")], transpose=True)
    with torch.inference_mode():
        expected = model(to_batch(arrays)).numpy()
    plan = PlanArrays(**{f: arrays[f] for f in PlanArrays.__dataclass_fields__})
    got = scorer.model.log_probs(arrays["prev"], arrays["prev_roles"], plan, arrays["target"])
    assert got.shape == expected.shape and len(got) > 500
    assert np.abs(got - expected).max() < 1e-4


def test_the_shipped_npz_is_the_pt_exported_bit_for_bit(tmp_path):
    from composer.neural.weights import digest, export, read_npz, read_pt

    arrays, source = read_npz(SHIPPED.with_suffix(".npz"))
    state = read_pt(SHIPPED)
    assert source == digest(SHIPPED)  # re-export after retraining: see composer/neural/weights.py
    assert arrays.keys() == state.keys()
    assert all(arrays[k].dtype == state[k].dtype and np.array_equal(arrays[k], state[k])
               for k in state)
    copy = tmp_path / "m.pt"
    shutil.copy(SHIPPED, copy)
    assert export(copy).read_bytes() == SHIPPED.with_suffix(".npz").read_bytes()


def test_a_pt_with_a_stale_npz_is_read_through_torch(tmp_path):
    from composer.neural.scorer import load_scorer
    from composer.neural.weights import read_npz, write_npz

    model = tmp_path / "m.pt"
    shutil.copy(SHIPPED, model)
    shutil.copy(SHIPPED.with_suffix(".json"), model.with_suffix(".json"))
    arrays, _ = read_npz(SHIPPED.with_suffix(".npz"))
    zeros = {k: np.zeros_like(a) if a.ndim else a for k, a in arrays.items()}
    write_npz(zeros, model.with_suffix(".npz"), source="0" * 64)  # not this .pt's
    loaded = load_scorer(model).model.plan.out_weight
    assert np.abs(loaded).sum() > 0
    # The .npz on its own is a model too.
    write_npz(arrays, model.with_suffix(".npz"), source="")
    assert np.array_equal(load_scorer(model.with_suffix(".npz")).model.plan.out_weight, loaded)


def test_composing_with_the_shipped_model_imports_no_torch(tmp_path):
    probe = ("import sys; from composer.cli import main; code = main({}); "
             "print(code, 'torch' in sys.modules)")
    argv = ["compose", str(EXAMPLES / "harmonize-melody.yaml"), "-o", str(tmp_path / "ode")]
    r = subprocess.run([sys.executable, "-c", probe.format(argv)], capture_output=True,
                       text=True, timeout=300)
    assert r.stdout.splitlines()[-1] == "0 False", r.stderr
    assert (tmp_path / "ode.musicxml").exists()


def _frames(chords: list[Chord], key: Key):
    from composer.rules import Context
    from composer.solve.domains import SlotProblem, Solver, voice_ranges
    from composer.spec.load import load_spec

    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    ctx = Context(spec.voices, key, spec.meter)
    solver, ranges = Solver(spec.rules, ctx), voice_ranges(spec.rules, ctx)
    return [solver.domain(SlotProblem(c, key, (None,) * 4, ranges)).frame for c in chords]


def test_scores_are_normalised_note_by_note(scorer):
    from composer.sample.scorer import SlotInfo
    from composer.texture import Frame

    key = Key.parse("D major")
    tonic, dominant = Chord(PitchClass.parse("D"), "major"), Chord(PitchClass.parse("A"),
                                                                   "dominant-seventh")
    a, b1, b2 = _frames([tonic, dominant, tonic], key)
    b = Frame.concat([b1, b2])  # two chords in one slot, as the sampler offers them
    slot = SlotInfo(key, 2.0, 4, 1, 5, False, "authentic")
    pair, alone = scorer.transition(a, b, slot), scorer.unary(b, slot)
    assert pair.shape == (len(a), len(b)) and alone.shape == (len(b),)
    assert np.isfinite(pair).all() and np.isfinite(alone).all()
    # Each voice's distribution sums to one, and the batched pair scores are exactly
    # the sum over voices of log p(note | previous beat, plan, voices before it).
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(a), 50), rng.integers(0, len(b), 50)
    notes = scorer.note_log_probs(a.take(i), b.take(j), slot)
    assert np.allclose(np.exp(notes).sum(-1), 1.0, atol=1e-5)
    window = scorer.window(slot)
    picked = [notes[k, v, int(np.flatnonzero(window[v] == b.midi[j[k], v])[0])]
              for k in range(50) for v in range(4)]
    assert np.allclose(pair[i, j] + alone[j], np.reshape(picked, (50, 4)).sum(1), atol=1e-3)


def test_the_same_seed_composes_the_same_piece_with_the_model(scorer):
    from composer.pipeline import compose
    from composer.spec.load import load_spec

    spec = load_spec(EXAMPLES / "harmonize-melody.yaml")
    one = compose(replace(spec, seed=3), scorer).voicings
    assert compose(replace(spec, seed=3), scorer).voicings == one
    assert compose(replace(spec, seed=4), scorer).voicings != one


# What a user sees ---------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["missing", "corrupt", "no card", "version", "other model"])
def test_a_bad_model_is_one_line_and_exit_2(damage, tmp_path, capsys):
    model = tmp_path / "m.pt"
    if damage != "missing":
        shutil.copy(SHIPPED, model)
        shutil.copy(SHIPPED.with_suffix(".json"), model.with_suffix(".json"))
    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    if damage == "corrupt":
        model.write_bytes(model.read_bytes()[:5000])
    elif damage == "no card":
        model.with_suffix(".json").unlink()
    elif damage == "version":
        card["format_version"] = 99
    elif damage == "other model":
        card["model"]["config"]["hidden"] = 64
    if damage in ("version", "other model"):
        model.with_suffix(".json").write_text(json.dumps(card))
    code = main(["compose", str(EXAMPLES / "harmonize-melody.yaml"), "-o",
                 str(tmp_path / "out"), "--model", str(model)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("partimento: error: ")
    assert "m.pt" in err or "m.json" in err
    assert {"missing": "no such model file", "corrupt": "not a readable model file",
            "no card": "model card is missing", "version": "format version 99",
            "other model": "do not fit"}[damage] in err
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("damage", ["corrupt", "other model"])
def test_a_bad_npz_is_one_line_and_exit_2(damage, tmp_path, capsys):
    model = tmp_path / "m.npz"
    shutil.copy(SHIPPED.with_suffix(".npz"), model)
    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    if damage == "corrupt":
        model.write_bytes(model.read_bytes()[:5000])
    else:
        card["model"]["config"]["embed"] = 8
    model.with_suffix(".json").write_text(json.dumps(card))
    code = main(["compose", str(EXAMPLES / "harmonize-melody.yaml"), "-o",
                 str(tmp_path / "out"), "--model", str(model)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "m.npz" in err
    assert {"corrupt": "not a readable model file", "other model": "do not fit"}[damage] in err


def test_model_none_composes_with_the_statistical_scorer(tmp_path):
    code = main(["compose", str(EXAMPLES / "harmonize-melody.yaml"), "-o",
                 str(tmp_path / "ode"), "--model", "none"])
    assert code == 0 and (tmp_path / "ode.musicxml").exists()


def test_check_and_rules_do_not_import_torch():
    probe = ("import sys; from composer.cli import main; main({}); "
             "print('torch' in sys.modules, 'composer.neural.model' in sys.modules)")
    for argv in (["check", str(EXAMPLES / "exercise.musicxml")], ["rules"]):
        r = subprocess.run([sys.executable, "-c", probe.format(argv)], capture_output=True,
                           text=True, timeout=120)
        assert r.stdout.splitlines()[-1] == "False False", r.stderr
