"""How fast Partimento composes, beside two peers that solve the same problems.

In one run it prints, side by side:

- Partimento composing a 16-bar and a 64-bar SATB chorale in process (the spec of
  `constraints/examples/chorale-d-major.yaml`, several seeds, median; the first, cold
  call apart), with the statistical scorer and with the shipped model side by side, the
  growth from 16 to 64 bars, and a whole `partimento compose` process with either
  (`--model none`, and the default) with its peak memory;
- music21's figured-bass realizer on the same bass lines, figured from the chords and
  inversions Partimento chose, under its comparable rules: the graph that `realize()`
  builds plus one realization taken from it (`generateRandomRealization` itself fails on
  Python 3.11, music21 issue #1646, so one progression is walked by hand); beside it
  Partimento harmonizing the same bass line, on a first call (every enumeration of
  voicings emptied first, as in a new process) and on later calls. The two run in rounds,
  each in a new process, and the speed-up is the median over the rounds of the two
  side by side, since this machine's speed changes from one minute to the next;
- the same voicing problem posed to plain python-constraint: one `Problem` with a
  variable per slot and voice and every rule as a constraint, solved by `getSolution()`.

Each peer runs in a child process under a time cap.

    .venv/bin/python benchmarks/compose_speed.py           # writes its section of RESULTS.md
    .venv/bin/python benchmarks/compose_speed.py --quick   # smoke run; writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from results import write_section

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
LENGTHS = (16, 64)  # bars: the target is set for the first, growth measured to the second
TARGET_S = 0.5  # for 16 bars, the statistical scorer
TARGET_MODEL_S = 1.0  # for 16 bars, the shipped model
TARGET_PROCESS_S = 4.0  # a whole `partimento compose` process, 16 bars, the shipped model
TARGET_MB = 600  # its peak memory
TARGET_SPEEDUP = 10.0
SCORERS = ("statistical", "model")  # `--model none`, and the default
SPEC = """\
title: Chorale in D
key: D major
meter: 4/4
bars: {bars}
tempo: 72
form: chorale
cadences: {{end: authentic}}
rules:
  include: [common-practice]
seed: {seed}
"""
# The plain-python-constraint encoding covers these hard rules of common-practice; the
# others hold by construction there: chord-tones and voice-range (the domains),
# dissonance-treatment (chord tones only), cadence (root-position cadence chords).
ENCODED = ("spacing", "no-voice-crossing", "complete-chord", "no-doubled-leading-tone",
           "no-parallel-fifths", "no-parallel-octaves", "no-parallel-unisons",
           "no-hidden-fifths-outer", "no-hidden-octaves-outer", "no-voice-overlap", "max-leap",
           "no-augmented-melodic", "leading-tone-resolves", "seventh-resolves-down")


# Partimento, in process ----------------------------------------------------------------

def write_spec(folder: Path, bars: int, seed: int = 0) -> Path:
    path = folder / f"chorale-{bars}.yaml"
    path.write_text(SPEC.format(bars=bars, seed=seed))
    return path


def time_partimento(folder: Path, lengths: Sequence[int], seeds: Sequence[int], scorer: str
                    ) -> tuple[dict[str, Any], dict[int, Any]]:
    """Times per length (the first call of the process apart) and seed 0's compositions,
    with the statistical scorer or the shipped model."""
    from composer.pipeline import compose
    from composer.spec.load import load_spec

    t0 = time.perf_counter()
    specs = {bars: load_spec(write_spec(folder, bars)) for bars in lengths}
    if scorer == "model":
        from composer.neural.scorer import default_scorer

        the_scorer: Any = default_scorer()
    else:
        from composer.sample.scorer import StatisticalScorer

        the_scorer = StatisticalScorer.from_corpus(specs[lengths[0]].voices)
    out: dict[str, Any] = {"setup": time.perf_counter() - t0, "times": {}, "slots": {}}
    pieces: dict[int, Any] = {}
    for bars in lengths:
        times = []
        for seed in seeds:
            t0 = time.perf_counter()
            comp = compose(replace(specs[bars], seed=seed), the_scorer)
            times.append(time.perf_counter() - t0)
            pieces.setdefault(bars, comp)
        if "cold" not in out:
            # The first call of the process, caches still empty.
            out["cold"] = times.pop(0) if len(times) > 1 else times[0]
        out["times"][bars] = times
        out["slots"][bars] = len(pieces[bars].plan.slots)
    return out, pieces


TINY_LENGTHS = {0.5: "8", 1: "4", 1.5: "4.", 2: "2", 3: "2.", 4: "1"}


def tinynotation(pitch: Any, quarters: float) -> str:
    """A pitch and duration in TinyNotation ('c' is C4, 'C' C3, "c'" C5)."""
    octave, step = divmod(pitch.diatonic, 7)
    accidental = pitch.midi - (12 * (octave + 1) + [0, 2, 4, 5, 7, 9, 11][step])
    name = "cdefgab"[step]
    name = name + "'" * (octave - 4) if octave >= 4 else name.upper() * (4 - octave)
    return name + ("#" if accidental > 0 else "-") * abs(accidental) + TINY_LENGTHS[quarters]


def write_bass_spec(folder: Path, comp: Any) -> Path:
    """The spec of a composed piece with its bass line given (the chords left to
    Partimento) and block chords written, as the realizer writes them."""
    bass = " ".join(tinynotation(v[-1], float(s.duration))
                    for v, s in zip(comp.voicings, comp.plan.slots, strict=True))
    bars = comp.spec.bars
    path = folder / f"bass-{bars}.yaml"
    path.write_text(SPEC.format(bars=bars, seed=0).replace(
        "rules:", f'surface: plain\nmelody:\n  voice: bass\n  tinynotation: "{bass}"\nrules:'))
    return path


def bass_main(data: dict[str, Any]) -> dict[str, Any]:
    """Child: Partimento harmonizing a bass line (the realizer's task), after one free
    piece has warmed the process as importing music21 warms the realizer's. A first call
    enumerates every voicing over the bass anew, as the realizer does (the memo is
    emptied before each seed, as a new process starts); later calls find them made."""
    from composer.pipeline import compose
    from composer.sample.scorer import StatisticalScorer
    from composer.solve.domains import forget_enumerations
    from composer.spec.load import load_spec

    warm, spec = load_spec(Path(data["warm"])), load_spec(Path(data["bass"]))
    scorer = StatisticalScorer.from_corpus(spec.voices)
    compose(warm, scorer)
    out: dict[str, list[float]] = {"first": [], "later": []}
    for part in ("first", "later"):
        for seed in range(data["seeds"]):
            if part == "first":
                forget_enumerations()
            t0 = time.perf_counter()
            compose(replace(spec, seed=seed), scorer)
            out[part].append(time.perf_counter() - t0)
    return out


def time_in_child(folder: Path, lengths: Sequence[int], seeds: int, scorer: str
                  ) -> tuple[dict[str, Any], dict[int, Any]]:
    """`time_partimento` in a fresh process, so that each scorer starts cold and neither
    inherits what the other imported; seed 0's pieces come back pickled."""
    import pickle

    path = folder / f"pieces-{scorer}.pickle"
    child = run_child([sys.executable, str(Path(__file__).resolve()), "--partimento", scorer,
                       str(path), "--lengths", ",".join(map(str, lengths)), "--seeds",
                       str(seeds)], 3600)
    res = child.result()
    if res is None:
        raise SystemExit(f"compose_speed: composing with the {scorer} failed:\n"
                         f"{child.output[-3000:]}")
    res["times"] = {int(b): t for b, t in res["times"].items()}
    res["slots"] = {int(b): n for b, n in res["slots"].items()}
    return res, pickle.loads(path.read_bytes())


def partimento_main(scorer: str, path: Path, lengths: Sequence[int], seeds: int
                    ) -> dict[str, Any]:
    """Child: time Partimento with one scorer; seed 0's pieces go to path, pickled."""
    import pickle

    with tempfile.TemporaryDirectory(prefix="compose_speed.") as tmp:
        out, pieces = time_partimento(Path(tmp), lengths, range(seeds), scorer)
    path.write_bytes(pickle.dumps(pieces))
    out["torch"] = "torch" in sys.modules  # composing must not need it
    return out


# Child processes -------------------------------------------------------------------------

@dataclass(frozen=True)
class Child:
    rc: int | None  # None: stopped at the cap
    wall: float
    rss_mb: float  # peak resident memory
    output: str

    def result(self) -> dict[str, Any] | None:
        """The child's RESULT line, or None when it printed none."""
        lines = [ln for ln in self.output.splitlines() if ln.startswith("RESULT ")]
        return json.loads(lines[-1][7:]) if self.rc == 0 and lines else None


def run_child(command: list[str], cap: float) -> Child:
    """Run a command under a wall-clock cap; its own peak memory comes from wait4."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > cap:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                killed = True
                break
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Child(None if killed else proc.returncode, wall, usage.ru_maxrss / 1024, text)


def peer(kind: str, data: dict[str, Any], folder: Path, cap: float) -> Child:
    path = folder / f"{kind}-{len(data.get('slots', ()))}-{data.get('resolve', '')}.json"
    path.write_text(json.dumps(data))
    child = run_child([sys.executable, str(Path(__file__).resolve()), "--peer", kind,
                       str(path)], cap)
    if child.rc not in (0, None):
        print(f"compose_speed: the {kind} peer failed ({child.rc}):\n{child.output[-3000:]}",
              file=sys.stderr)
    return child


def _median_run(children: list[Child]) -> Child:
    """Of a peer's runs, the one of median total among those that finished (else the
    first)."""
    done = [(sum(r[k] for k in ("build", "graph", "one")), n, c)
            for n, c in enumerate(children) if (r := c.result()) is not None]
    return sorted(done)[len(done) // 2][2] if done else children[0]


def time_process(spec: Path, out: Path, repeats: int, scorer: str) -> list[Child]:
    command = [str(Path(sys.executable).parent / "partimento"), "compose", str(spec), "-o",
               str(out), *(["--model", "none"] if scorer == "statistical" else [])]
    runs = [run_child(command, 120) for _ in range(repeats)]
    for run in runs:
        if run.rc != 0:
            raise SystemExit(f"compose_speed: {' '.join(command)} failed:\n{run.output[-2000:]}")
    return runs


# music21's figured-bass realizer ---------------------------------------------------------

def m21_name(pitch: Any, octave: bool = True) -> str:
    accidental = ("#" if pitch.alter > 0 else "-") * abs(pitch.alter)
    return "CDEFGAB"[pitch.step] + accidental + (str(pitch.octave) if octave else "")


def figures(chord: Any, bass: Any, key: Any) -> str:
    """The figures of a chord over its bass ('6,5,3'), with an accidental wherever a
    tone leaves the key's scale (music21 reads the figures against the natural minor)."""
    out = []
    for tone in chord.tones:
        if tone.pc == bass.pc:
            continue
        scale = key.degree((tone.step - key.tonic.step) % 7 + 1)
        sign = ""
        if tone.alter != scale.alter:
            if tone.alter == 0:
                sign = "n"
            else:  # music21 sets a plain note's accidental, and shifts an altered one
                delta = tone.alter if scale.alter == 0 else tone.alter - scale.alter
                sign = ("#" if delta > 0 else "-") * abs(delta)
        out.append(((tone.step - bass.step) % 7 + 1, sign))
    return ",".join(f"{sign}{number}" for number, sign in sorted(out, reverse=True))


def bass_line(comp: Any, resolve: bool) -> dict[str, Any]:
    key = comp.spec.key
    return {"key": m21_name(key.tonic, octave=False), "mode": key.mode,
            "meter": str(comp.spec.meter), "resolve": resolve,
            "slots": [(m21_name(comp.voicings[s.index][-1]), float(s.duration),
                       figures(s.chord, comp.voicings[s.index][-1], s.key))
                      for s in comp.plan.slots]}


def music21_main(data: dict[str, Any]) -> dict[str, Any]:
    """Child: music21's rules set as close to common-practice as they go — parallel and
    (outer) hidden fifths and octaves, crossing, overlap, upper voices within an octave,
    complete chords, leaps within an octave, nothing above the soprano's A5; its
    dominant-seventh resolution on or off."""
    from music21 import key, meter, note, pitch
    from music21.figuredBass import realizer, rules

    t0 = time.perf_counter()
    line = realizer.FiguredBassLine(key.Key(data["key"], data["mode"]),
                                    meter.TimeSignature(data["meter"]))
    for name, length, figure in data["slots"]:
        line.addElement(note.Note(name, quarterLength=length), figure)
    fb_rules = rules.Rules()
    fb_rules.partMovementLimits = [(1, 12), (2, 12), (3, 12)]
    fb_rules.upperPartsMaxSemitoneSeparation = 12
    fb_rules.resolveDominantSeventhProperly = data["resolve"]
    fb_rules.resolveDiminishedSeventhProperly = data["resolve"]
    t1 = time.perf_counter()
    realization = line.realize(fb_rules, numParts=4, maxPitch=pitch.Pitch("A5"))
    t2 = time.perf_counter()
    solutions = realization.getNumSolutions()  # not timed; fails once a score is made
    counted = time.perf_counter()
    progression = walk(realization._segmentList)
    score = None
    if progression is not None:
        realization.keyboardStyleOutput = False  # four staves, as a chorale
        score = realization.generateRealizationFromPossibilityProgression(progression)
    t3 = time.perf_counter()
    return {"build": t1 - t0, "graph": t2 - t1, "one": t3 - counted,
            "parts": len(score.parts) if score is not None else 0,
            "solutions": f"{solutions:.3g}"}


def walk(segments: list[Any]) -> list[Any] | None:
    """One possibility progression through the realizer's graph, chosen at random from
    what leads on (what `generateRandomRealization` would do, without its failing
    `random.sample` of a dict's keys); None when the graph has no complete path."""
    rng = random.Random(0)
    if len(segments) == 1:
        return [rng.choice(segments[0].correctA)] if segments[0].correctA else None
    options = [p for p, nexts in segments[0].movements.items() if nexts]
    progression = []
    for k in range(len(segments) - 1):
        if not options:
            return None
        progression.append(rng.choice(options))
        nexts = segments[k].movements[progression[-1]]
        follow = segments[k + 1].movements if k + 2 < len(segments) else None
        options = [p for p in nexts if follow is None or follow.get(p)]
    if not options:
        return None
    return [*progression, rng.choice(options)]


# The same problem in plain python-constraint ----------------------------------------------

def constraint_data(comp: Any) -> dict[str, Any]:
    """The voicing problem of a composed piece with its chords fixed: per slot, each
    voice's chord tones within its range, and what the rules need to know of the chord."""
    from composer.music import Pitch
    from composer.rules import Context
    from composer.solve.domains import voice_ranges
    from composer.texture import chord_arrays

    spec = comp.spec
    ranges = voice_ranges(spec.rules, Context(spec.voices, spec.key, spec.meter))
    params = {u.rule.id: u.params for u in spec.hard}
    missing = set(ENCODED) - set(params)
    assert not missing, f"the encoding assumes these rules are hard: {sorted(missing)}"
    slots = []
    for s, after in zip(comp.plan.slots, [*comp.plan.slots[1:], None], strict=True):
        roles, leading, root = chord_arrays([s.chord], [s.key])
        domains = [[(p.midi, p.diatonic) for p in sorted(
            Pitch.parse(f"{t.name}{o}") for t in s.chord.tones for o in range(1, 7))
            if lo <= p.midi <= hi] for lo, hi in ranges]
        if s.cadence or (after is not None and after.cadence):  # as compose: on the root
            domains[-1] = [p for p in domains[-1] if p[0] % 12 == s.chord.root.pc]
        slots.append({"roles": roles[0].tolist(), "leading": int(leading[0]),
                      "root": int(root[0]), "domains": domains})
    return {"spacing": [params["spacing"]["upper"], params["spacing"]["lower"]],
            "leap": params["max-leap"]["semitones"], "slots": slots}


Value = tuple[int, int]  # (midi, diatonic)
Check = tuple[Callable[..., bool], tuple[int, ...]]


def _perfect(hi: Value, lo: Value, kind: tuple[int, int]) -> bool:
    return abs(hi[1] - lo[1]) % 7 == kind[0] and abs(hi[0] - lo[0]) % 12 == kind[1]


def _motion_ok(ah: Value, al: Value, bh: Value, bl: Value, outer: bool, adjacent: bool) -> bool:
    """Parallel fifths, octaves, unisons; hidden fifths and octaves (outer voices);
    overlap (adjacent voices): the rules of composer/rules/motion.py, one pair at a time."""
    both_move = ah[0] != bh[0] and al[0] != bl[0]
    new = ah[0] % 12 != bh[0] % 12 or al[0] % 12 != bl[0] % 12
    for kind in ((4, 7), (0, 0)):
        before, into = _perfect(ah, al, kind), _perfect(bh, bl, kind)
        same_size = kind == (4, 7) or (ah[0] == al[0]) == (bh[0] == bl[0])
        if before and into and same_size and both_move and new:
            return False
        similar = (bh[0] > ah[0] and bl[0] > al[0]) or (bh[0] < ah[0] and bl[0] < al[0])
        if outer and similar and into and not before and abs(bh[1] - ah[1]) > 1:
            return False
    if adjacent:
        moved = ah[0] != bh[0] or al[0] != bl[0]
        crossing = bh[0] < bl[0] or ah[0] < al[0]
        if moved and not crossing and ah[0] != al[0] and (bh[0] < al[0] or bl[0] > ah[0]):
            return False
    return True


def _line_ok(a: Value, b: Value, leap: int, lt: int, lt_goal: bool, seventh: int) -> bool:
    """Max leap, augmented steps, the leading tone and the seventh resolving: the rules
    of composer/rules/melodic.py for one voice from one slot to the next."""
    semis, steps = b[0] - a[0], b[1] - a[1]
    if abs(semis) > leap:
        return False
    size = abs(steps)
    if size and abs(semis) - ((0, 2, 4, 5, 7, 9, 11)[size % 7] + 12 * (size // 7)) >= 1:
        return False
    if lt_goal and a[0] % 12 == lt and semis not in (0, 1):
        return False
    step_down = steps == -1 and semis in (-1, -2)
    return not (a[0] % 12 == seventh and semis != 0 and not step_down)


def checks(data: dict[str, Any]) -> list[Check]:
    """Every constraint of the problem; variable 4·slot + voice (soprano first)."""
    slots, (upper, lower), leap = data["slots"], data["spacing"], data["leap"]
    out: list[Check] = []
    for t, s in enumerate(slots):
        v = [4 * t + i for i in range(4)]
        for i in range(4):
            for j in range(i + 1, 4):
                out.append((lambda hi, lo: hi[0] >= lo[0], (v[i], v[j])))
                if s["leading"] >= 0:
                    out.append((lambda a, b, lt=s["leading"]: not a[0] % 12 == b[0] % 12 == lt,
                                (v[i], v[j])))
            if i < 3:
                limit = lower if i == 2 else upper
                out.append((lambda hi, lo, m=limit: hi[0] - lo[0] <= m, (v[i], v[i + 1])))
        need = {r for r in s["roles"] if r in (1, 2, 4)}  # root, third, seventh
        out.append((lambda *p, r=s["roles"], need=need: need <= {r[x[0] % 12] for x in p},
                    tuple(v)))
        if t + 1 == len(slots):
            continue
        nxt = slots[t + 1]
        w = [4 * (t + 1) + i for i in range(4)]
        for i in range(4):
            for j in range(i + 1, 4):
                out.append((lambda ah, al, bh, bl, o=(i, j) == (0, 3), adj=j == i + 1:
                            _motion_ok(ah, al, bh, bl, o, adj), (v[i], v[j], w[i], w[j])))
        lt, goal = s["leading"], (s["leading"] + 1) % 12
        resolves = lt >= 0 and s["root"] != nxt["root"] and (
            nxt["root"] == goal or (nxt["root"] == (goal + 9) % 12 and nxt["roles"][goal] > 0))
        seventh = s["roles"].index(4) if 4 in s["roles"] and s["roles"] != nxt["roles"] else -1
        for i in range(4):
            out.append((lambda a, b, lt=lt, lt_goal=resolves and i in (0, 3), sev=seventh:
                        _line_ok(a, b, leap, lt, lt_goal, sev), (v[i], w[i])))
    return out


def constraint_main(data: dict[str, Any]) -> dict[str, Any]:
    """Child: plain backtracking (python-constraint's default solver, with forward
    checking) over the whole piece at once."""
    from constraint import FunctionConstraint, Problem

    t0 = time.perf_counter()
    problem = Problem()
    for t, s in enumerate(data["slots"]):
        for i, domain in enumerate(s["domains"]):
            problem.addVariable(4 * t + i, [tuple(p) for p in domain])
    found = checks(data)
    for func, variables in found:
        problem.addConstraint(FunctionConstraint(func), list(variables))
    t1 = time.perf_counter()
    solution = problem.getSolution()
    t2 = time.perf_counter()
    return {"build": t1 - t0, "solve": t2 - t1, "variables": 4 * len(data["slots"]),
            "constraints": len(found),
            "solution": None if solution is None else [solution[k] for k in sorted(solution)]}


def satisfied(data: dict[str, Any], values: Sequence[Value]) -> int:
    """How many of the problem's constraints an assignment breaks."""
    return sum(not func(*(tuple(values[x]) for x in variables)) for func, variables in
               checks(data))


def rule_violations(comp: Any, voicings: Sequence[Sequence[Value]]) -> Counter[str]:
    """The hard rules an assignment breaks, judged by Partimento's own rule definitions
    (the vertical filter on each slot, the pair matrix on each neighbouring pair)."""
    from composer.music import Pitch
    from composer.rules import Context
    from composer.solve.domains import candidate_frame, vertical_filter
    from composer.solve.pairs import pair_matrix

    spec = comp.spec
    ctx = Context(spec.voices, spec.key, spec.meter)
    frames = [candidate_frame([tuple(Pitch(*p) for p in v)], s.chord, s.key)
              for s, v in zip(comp.plan.slots, voicings, strict=True)]
    broken: Counter[str] = Counter()
    for use in spec.hard:
        for f in frames:
            broken[use.rule.id] += int(not vertical_filter(f, [use], ctx)[0][0])
        for a, b in zip(frames, frames[1:], strict=False):
            broken[use.rule.id] += int(not pair_matrix(a, b, [use], ctx)[0][0, 0])
    return +broken


def run_constraint(comp: Any, folder: Path, cap: float) -> tuple[Child, int, str]:
    """Pose a piece's voicing problem to python-constraint in a child; (the child, the
    number of constraints, what Partimento's rules say of its solution)."""
    data = constraint_data(comp)
    ours = [(p.midi, p.diatonic) for v in comp.voicings for p in v]
    if satisfied(data, ours):  # the encoding must accept what the rules accept
        raise SystemExit(f"compose_speed: the python-constraint encoding rejects Partimento's"
                         f" piece ({satisfied(data, ours)} constraints): a bug here")
    child = peer("constraint", data, folder, cap)
    res = child.result()
    if res is None:
        return child, len(checks(data)), "–"
    if res["solution"] is None:
        return child, res["constraints"], "no solution exists"
    slots = range(len(data["slots"]))
    broken = rule_violations(comp, [res["solution"][4 * t:4 * t + 4] for t in slots])
    verdict = ", ".join(f"{r} ×{n}" for r, n in broken.items()) or "no rule"
    return child, res["constraints"], f"Partimento's rules: its solution breaks {verdict}"


# Report ------------------------------------------------------------------------------------

def _capped(child: Child, cap: float, seconds: float | None) -> str:
    if child.rc is None:
        return f"did not finish within {cap:g} s"
    return "failed (see stderr)" if seconds is None else f"{seconds:.2f}"


def _m21_rows(bars: int, free: float, first: float, ours: float,
              runs: list[tuple[bool, Child]], cap: float) -> tuple[list[str], float | None]:
    """Table rows for one length, and the fastest total that produced a realization."""
    rows: list[str] = []
    best: float | None = None
    for resolve, child in runs:
        res = child.result()
        total = None if res is None else float(res["build"] + res["graph"] + res["one"])
        made = _realized(child) is not None
        if made and total is not None:
            best = total if best is None else min(best, total)
        detail = "– | – | –" if res is None else (
            f"{res['graph']:.2f} | {res['one']:.2f} | {res['solutions']}")
        faster = f"{total / first:.1f}× / {total / ours:.1f}×" if made and total else "–"
        rows.append(f"| {bars} | {free:.3f} | {first:.3f} | {ours:.3f} |"
                    f" {'on' if resolve else 'off'} |"
                    f" {_capped(child, cap, total)}{'' if made or not res else ' (none)'} |"
                    f" {detail} | {faster} |")
    return rows, best


def _realized(child: Child) -> float | None:
    """The realizer's total time, where its run produced a realization."""
    res = child.result()
    return float(res["build"] + res["graph"] + res["one"]) if res and res["parts"] else None


def _paired(rounds: list[dict[str, Child]]) -> tuple[dict[str, float], float | None]:
    """Partimento's bass-line times (first and later calls, median over every round's
    seeds) and the median over the rounds of the realizer's fastest realization in a
    round against Partimento's first calls in the same round."""
    ours = [r["ours"].result() for r in rounds]
    if any(o is None for o in ours):
        raise SystemExit("compose_speed: Partimento failed on the bass line:\n"
                         + next(r["ours"].output[-3000:] for r in rounds
                                if r["ours"].result() is None))
    times = {part: statistics.median([t for o in ours for t in o[part]])  # type: ignore[index]
             for part in ("first", "later")}
    ratios = []
    for r, o in zip(rounds, ours, strict=True):
        made = [t for t in (_realized(r["on"]), _realized(r["off"])) if t is not None]
        if made:
            ratios.append(min(made) / statistics.median(o["first"]))  # type: ignore[index]
    return times, statistics.median(ratios) if ratios else None


def report(args: argparse.Namespace, runs: dict[str, dict[str, Any]],
           process: dict[str, list[Child]], m21: dict[int, list[tuple[bool, Child]]],
           bass_rounds: dict[int, list[dict[str, Child]]],
           pc: dict[int, tuple[Child, int, str]]) -> str:
    import music21

    lengths = args.lengths
    short, long = lengths[0], lengths[-1]
    meds = {name: {bars: statistics.median(r["times"][bars]) for bars in lengths}
            for name, r in runs.items()}
    ours = runs["statistical"]  # the peers are compared with the statistical scorer
    med, slots = meds["statistical"], ours["slots"]
    model = runs.get("model")

    def cells(name: str, bars: int) -> str:
        times = runs[name]["times"][bars]
        return f"{meds[name][bars]:.3f} | {min(times):.3f} | {max(times):.3f}"

    def growth(name: str) -> str:
        n = runs[name]["slots"]
        ratio, more = meds[name][long] / meds[name][short], n[long] / n[short]
        return (f"{long} bars take {ratio:.2f}× the time of {short} bars for {more:.2f}× the"
                f" slots: {'linear' if ratio < 1.3 * more else 'NOT linear'}")

    names = [n for n in SCORERS if n in runs]
    lines = [
        f"Command: `{' '.join(['python', 'benchmarks/compose_speed.py', *args.argv])}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, music21 {music21.__version__}; load average"
        f" {args.load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end  ",
        f"Spec: `constraints/examples/chorale-d-major.yaml` at {short} and {long} bars, seeds"
        f" 0–{args.seeds - 1}; the peers work on seed 0's pieces (statistical scorer)",
        "",
        "### Partimento in process (s)",
        "",
        "Each scorer in a process of its own: the statistical scorer (`--model none`) and"
        " the shipped model (`models/chorale.npz`, run in numpy; the default).",
        "",
        "| bars | slots | " + " | ".join(f"{n} median | min | max" for n in names) + " |",
        "| ---: | ---: | " + " | ".join("---: | ---: | ---:" for _ in names) + " |",
        *(f"| {b} | {slots[b]} | " + " | ".join(cells(n, b) for n in names) + " |"
          for b in lengths),
        "",
        f"The first call of the process ({short} bars, seed 0, empty caches) is left out"
        " above: " + "; ".join(f"{n} {runs[n]['cold']:.3f} s (loading the specs and the"
                               f" scorer {runs[n]['setup']:.3f} s)" for n in names) + ".",
        f"Statistical: {growth('statistical')}. {short} bars in {med[short]:.3f} s —"
        f" {'met' if med[short] < TARGET_S else 'NOT met'} (target < {TARGET_S:g} s for"
        f" {short}).",
    ]
    if model is not None:
        m = meds["model"][short]
        lines.append(
            f"Model: {growth('model')}. {short} bars in {m:.3f} s —"
            f" {'met' if m < TARGET_MODEL_S else 'NOT met'} (target < {TARGET_MODEL_S:g} s"
            f" for {short}); torch {'WAS' if model['torch'] else 'was not'} imported.")
    for name, children in process.items():
        walls = [c.wall for c in children]
        wall, mb = statistics.median(walls), max(c.rss_mb for c in children)
        line = (f"A whole `partimento compose` process, {short} bars, {name}"
                f"{' (`--model none`)' if name == 'statistical' else ' (the default)'},"
                f" writing MusicXML, MIDI and JSON ({len(children)} runs):"
                f" {wall:.2f} s median ({max(walls):.2f} slowest), peak memory {mb:.0f} MB.")
        if name == "model":
            line += (f" Targets: < {TARGET_PROCESS_S:g} s"
                     f" {'met' if wall < TARGET_PROCESS_S else 'NOT met'}, < {TARGET_MB} MB"
                     f" {'met' if mb < TARGET_MB else 'NOT met'}.")
        lines += ["", line]
    lines += [
        "",
        "### music21's figured-bass realizer on the same bass lines (s)",
        "",
        "Each piece's bass line, figured from the chords and inversions Partimento chose."
        " `Rules()` as close to `common-practice` as they go: parallel fifths and octaves,"
        " hidden fifths and octaves (outer voices), no crossing or overlap, upper voices"
        " within 12 semitones, complete chords, leaps of at most 12 semitones, nothing above"
        " A5; its dominant- and diminished-seventh resolution on or off. Total = building the"
        " line + `realize()` (the graph of every allowed voicing and move) + one realization"
        " walked through it and written as a four-part score. Partimento's task is the same"
        " bass line given as the bass voice's melody, unfigured (it chooses the chords"
        " itself, under every rule of `common-practice`), written as block chords"
        " (`surface: plain`), in process, after one free piece has warmed the process (as"
        " importing music21 warms the realizer's), median over the seeds: a first call on"
        " the line, when python-constraint enumerates every voicing over the bass anew as"
        " the realizer does (the memo emptied before each seed, as a new process starts),"
        " and later calls, which find those enumerations made; beside them the free piece."
        f" Both run in {args.repeats} round(s), each peer in a new process in every round,"
        " so that they meet the same spells of the machine's speed: the table shows the"
        " realizer's median run, and how much faster Partimento is is the median over the"
        " rounds of the realizer's fastest realization against Partimento's first calls in"
        " the same round.",
        "",
        "| bars | Partimento, free piece | this bass line, first call | later calls |"
        " resolution | music21 total | graph | one realization | realizations |"
        " Partimento faster (first / later) |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    best, paired = {}, {}
    for bars in lengths:
        times, paired[bars] = _paired(bass_rounds[bars])
        rows, best[bars] = _m21_rows(bars, med[bars], times["first"], times["later"],
                                     m21[bars], args.music21_cap)
        lines += rows
        if paired[bars] is not None:
            lines.append(f"| {bars} | paired by round | | | | | | | |"
                         f" {paired[bars]:.1f}× (first) |")
    if best[short] is not None and paired[short] is not None:
        speedup = paired[short]
        verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
        times, _ = _paired(bass_rounds[short])
        lines += ["", f"{short} bars: on the same bass line Partimento's first call is"
                  f" {speedup:.1f}× as fast as music21's realizer, paired by round — {verdict}"
                  f" (target ≥ {TARGET_SPEEDUP:g}×, judged on the first call); later calls"
                  f" {best[short] / times['later']:.1f}×, the free piece"
                  f" {best[short] / med[short]:.1f}× (against the realizer's median run)."]
    lines += [
        "",
        "### Plain python-constraint on the whole voicing problem (s)",
        "",
        "One `Problem` (default solver: backtracking with forward checking) with Partimento's"
        " chords fixed and every voice free: a variable per slot × voice, its domain the"
        " chord tones in the voice's range (cadence chords on their root, as compose does),"
        " and each hard rule of `common-practice` as constraints on one, two or four"
        f" variables: {', '.join(ENCODED)}. Partimento's own piece satisfies every"
        " constraint, so a solution exists; `getSolution()` is asked for one.",
        "",
        "| bars | variables | constraints | Partimento | python-constraint | note |",
        "| ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for bars in lengths:
        child, constraints, note = pc[bars]
        res = child.result()
        text = (f"no solution within {args.constraint_cap:g} s" if child.rc is None
                else _capped(child, args.constraint_cap, res["solve"] if res else None))
        lines.append(f"| {bars} | {4 * slots[bars]} | {constraints} | {med[bars]:.3f} | {text}"
                     f" | {note} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 2 seeds, 1 process run, short caps; writes nothing")
    ap.add_argument("--lengths", type=lambda t: tuple(int(b) for b in t.split(",")),
                    default=LENGTHS, help="bars of the short and the long piece (default 16,64)")
    ap.add_argument("--seeds", type=int, help="seeds per length (default 7; 2 with --quick)")
    ap.add_argument("--repeats", type=int, help="whole-process runs (default 3)")
    ap.add_argument("--music21-cap", type=float, help="seconds (default 300; 30 with --quick)")
    ap.add_argument("--constraint-cap", type=float,
                    help="seconds (default 60; 5 with --quick)")
    ap.add_argument("--results", type=Path, help=f"write the section here (default:"
                    f" {RESULTS.name}, unless --quick)")
    ap.add_argument("--scorers", type=lambda t: tuple(t.split(",")), default=SCORERS,
                    help="statistical, model or both (default statistical,model)")
    ap.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)  # a child: KIND DATA.json
    ap.add_argument("--partimento", nargs=2, help=argparse.SUPPRESS)  # a child: SCORER OUT
    args = ap.parse_args(argv)
    quick = args.quick
    args.seeds = args.seeds or (2 if quick else 7)
    args.repeats = args.repeats or (1 if quick else 3)
    args.music21_cap = args.music21_cap or (30.0 if quick else 300.0)
    args.constraint_cap = args.constraint_cap or (5.0 if quick else 60.0)
    args.argv, args.load = argv, os.getloadavg()
    if "statistical" not in args.scorers or set(args.scorers) - set(SCORERS):
        ap.error("--scorers: statistical, and optionally model")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.peer:
        kind, path = args.peer
        run = {"music21": music21_main, "constraint": constraint_main, "bass": bass_main}[kind]
        print("RESULT " + json.dumps(run(json.loads(Path(path).read_text()))), flush=True)
        return 0
    if args.partimento:
        scorer, path = args.partimento
        print("RESULT " + json.dumps(partimento_main(scorer, Path(path), args.lengths,
                                                     args.seeds)), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="compose_speed.") as tmp:
        folder = Path(tmp)
        runs, process, pieces = {}, {}, {}
        for scorer in args.scorers:
            print(f"Partimento in process, {scorer} …", file=sys.stderr)
            runs[scorer], made = time_in_child(folder, args.lengths, args.seeds, scorer)
            pieces.setdefault("statistical", made)
            print(f"a whole `partimento compose` process, {scorer} …", file=sys.stderr)
            process[scorer] = time_process(write_spec(folder, args.lengths[0]),
                                           folder / "out", args.repeats, scorer)
        m21, bass, pc = {}, {}, {}
        for bars, comp in pieces["statistical"].items():
            print(f"music21's realizer and Partimento on its bass line, {bars} bars …",
                  file=sys.stderr)
            task = {"warm": str(write_spec(folder, args.lengths[0])), "seeds": args.seeds,
                    "bass": str(write_bass_spec(folder, comp))}
            # In rounds, each peer in a new process, so that both meet the same spells of
            # this machine's changing speed.
            rounds = [{"on": peer("music21", bass_line(comp, True), folder, args.music21_cap),
                       "off": peer("music21", bass_line(comp, False), folder,
                                   args.music21_cap),
                       "ours": peer("bass", task, folder, args.music21_cap)}
                      for _ in range(args.repeats)]
            m21[bars] = [(resolve, _median_run([r[k] for r in rounds]))
                         for resolve, k in ((True, "on"), (False, "off"))]
            bass[bars] = rounds
            print(f"python-constraint, {bars} bars …", file=sys.stderr)
            pc[bars] = run_constraint(comp, folder, args.constraint_cap)
    body = report(args, runs, process, m21, bass, pc)
    print(body)
    target = args.results or (None if args.quick else RESULTS)
    if target is not None:
        write_section(target, "compose_speed.py", "Composing speed (`compose_speed.py`)", body)
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
