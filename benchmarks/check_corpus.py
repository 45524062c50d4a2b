"""How often Bach "breaks" each common-practice rule, and how fast the checker is.

Checks every chorale of music21's corpus with the `common-practice` rule set and prints,
per rule, the violations found per 100 onset slices, with the time per chorale of each
stage (music21's parsing, conversion to our Texture, checking). Side by side, in the same
run, it times the peer that does the comparable job with music21 alone: its
`voiceLeading.VoiceLeadingQuartet` judging parallel fifths and octaves (or unisons) between
every pair of voices at every onset (`Verticality.getAllVoiceLeadingQuartets`), and it
times `partimento check FILE.musicxml` as a whole process against a process that parses
the same file with music21 and runs that peer.

    .venv/bin/python benchmarks/check_corpus.py              # all 371; writes RESULTS.md
    .venv/bin/python benchmarks/check_corpus.py --limit 20   # a quick look; writes nothing

Targets (from the issue): conversion + check under 0.5 s per chorale after start-up,
and `partimento check` on one chorale under 2 s as a whole process.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from results import write_section

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
RULESET = "common-practice"
TARGET_CHORALE_S = 0.5
TARGET_PROCESS_S = 2.0

# The peer as a whole process: music21 parses the file, then `peer_parallels` runs.
PEER_MAIN = """
import sys
import music21
print(peer_parallels(music21.converter.parse(sys.argv[1], forceSource=True)))
"""


@dataclass
class Tally:
    """What the corpus run gathers: per-stage times and per-rule counts."""

    parse: list[float] = field(default_factory=list)
    convert: list[float] = field(default_factory=list)
    check: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    slices: int = 0
    chorales: int = 0
    skipped: list[str] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, severity)
    touched: Counter[str] = field(default_factory=Counter)  # chorales with ≥ 1 of a rule


def peer_parallels(score: Any) -> tuple[int, int]:
    """music21 alone: parallel fifths and parallel octaves or unisons between every pair
    of voices moving from one onset to the next (rests and held notes excluded). Like
    ours, it leaves out instrumental parts where the four choir parts are named."""
    from music21 import note, stream

    choir: dict[str, Any] = {}
    for part in score.parts:  # the four choir parts, as ours grades them, where named
        words = (part.partName or "").lower().split()
        if words and words[0] in ("soprano", "alto", "tenor", "bass"):
            choir.setdefault(words[0], part)
    if len(choir) == 4 and len(score.parts) > 4:
        score = stream.Score(list(choir.values()))
    fifths = octaves = 0
    tree = score.asTimespans(classList=(note.Note,))
    for vertical in tree.iterateVerticalities():
        for q in vertical.getAllVoiceLeadingQuartets(includeRests=False, includeOblique=False):
            fifths += bool(q.parallelFifth())
            octaves += bool(q.parallelUnisonOrOctave())
    return fifths, octaves


def progress(label: str, i: int, n: int, name: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{label} {i}/{n} {name:<22}", end="" if i < n else "\n", file=sys.stderr,
              flush=True)
    elif i == n or i % 50 == 0:
        print(f"{label} {i}/{n}", file=sys.stderr, flush=True)


def run_corpus(names: Sequence[str]) -> Tally:
    from composer.corpus import parse_chorale
    from composer.errors import PartimentoError
    from composer.grading.checker import check_texture
    from composer.io.read import texture_from_music21
    from composer.spec.rulesets import load_ruleset

    ruleset = load_ruleset(RULESET)
    tally = Tally()
    for i, name in enumerate(names, 1):
        progress("checking", i, len(names), name)
        t0 = time.perf_counter()
        score = parse_chorale(name)
        t1 = time.perf_counter()
        try:
            texture, _ = texture_from_music21(score, ruleset.voices, source=name)
            t2 = time.perf_counter()
            report = check_texture(texture, ruleset, name)
        except PartimentoError as exc:
            tally.skipped.append(f"{name}: {exc}")
            continue
        t3 = time.perf_counter()
        tally.parse.append(t1 - t0)
        tally.convert.append(t2 - t1)
        tally.check.append(t3 - t2)
        tally.names.append(name)
        tally.slices += report.slices
        tally.chorales += 1
        tally.counts.update((v.rule, v.severity) for v in report.violations)
        tally.touched.update({v.rule for v in report.violations})
    return tally


def run_peer(names: Sequence[str]) -> tuple[list[float], list[float], tuple[int, int]]:
    """Per chorale: music21's parallels check and our conversion + full check, each on
    its own freshly parsed copy so that neither profits from the other's caches."""
    from composer.corpus import parse_chorale
    from composer.grading.checker import check_texture
    from composer.io.read import texture_from_music21
    from composer.spec.rulesets import load_ruleset

    ruleset = load_ruleset(RULESET)
    theirs, ours, found = [], [], [0, 0]
    for i, name in enumerate(names, 1):
        progress("peer", i, len(names), name)
        score = parse_chorale(name)
        t0 = time.perf_counter()
        counts = peer_parallels(score)
        theirs.append(time.perf_counter() - t0)
        found = [a + b for a, b in zip(found, counts, strict=True)]
        score = parse_chorale(name)
        t0 = time.perf_counter()
        texture, _ = texture_from_music21(score, ruleset.voices, source=name)
        check_texture(texture, ruleset, name)
        ours.append(time.perf_counter() - t0)
    return theirs, ours, (found[0], found[1])


def partimento_command() -> list[str]:
    script = Path(sys.executable).parent / "partimento"
    if script.exists():
        return [str(script)]
    found = shutil.which("partimento")
    if found is None:
        raise SystemExit("check_corpus: the `partimento` console script is not installed")
    return [found]


def timed(command: list[str], ok: Callable[[int], bool]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not ok(done.returncode):
        raise SystemExit(f"check_corpus: {' '.join(command)} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


Timing = tuple[str, int, list[tuple[float, float]], list[tuple[float, float]]]


def run_processes(names: Sequence[str], repeats: int) -> list[Timing]:
    """(chorale, notes, (wall, CPU) times of `partimento check`, of the music21 peer)."""
    import inspect

    from composer.corpus import parse_chorale

    ours_cmd = partimento_command()
    peer_src = "from __future__ import annotations\nfrom typing import Any\n" \
        + inspect.getsource(peer_parallels) + PEER_MAIN
    out = []
    with tempfile.TemporaryDirectory(prefix="check_corpus.") as tmp:
        for i, name in enumerate(names, 1):
            progress("process", i, len(names), name)
            score = parse_chorale(name)
            path = Path(tmp) / (name.replace("/", "_") + ".musicxml")
            score.write("musicxml", fp=str(path))
            notes = len(score.flatten().notes)
            ours = [timed([*ours_cmd, "check", str(path)], lambda rc: rc in (0, 1))
                    for _ in range(repeats)]
            peer = [timed([sys.executable, "-c", peer_src, str(path)], lambda rc: rc == 0)
                    for _ in range(repeats)]
            out.append((name, notes, ours, peer))
    return out


def spread(values: Sequence[float]) -> str:
    if not values:
        return "– | – | – | –"
    return (f"{1000 * statistics.fmean(values):.1f} | {1000 * statistics.median(values):.1f}"
            f" | {1000 * max(values):.1f} | {sum(values):.1f}")


def pair_sum(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=True)]


def active_rules() -> list[str]:
    from composer.spec.rulesets import load_ruleset

    return list(dict.fromkeys(u.rule.id for u in load_ruleset(RULESET).active))


def rule_table(tally: Tally) -> list[str]:
    rules = active_rules()
    per100 = 100 / max(tally.slices, 1)

    def total(rule: str) -> int:
        return tally.counts[(rule, "error")] + tally.counts[(rule, "warning")]

    lines = ["| rule | errors | warnings | per 100 slices | chorales with any |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for rule in sorted(rules, key=lambda r: (-total(r), r)):
        lines.append(f"| `{rule}` | {tally.counts[(rule, 'error')]} |"
                     f" {tally.counts[(rule, 'warning')]} | {total(rule) * per100:.2f} |"
                     f" {tally.touched[rule]} / {tally.chorales} |")
    errors = sum(c for (_, sev), c in tally.counts.items() if sev == "error")
    warnings = sum(c for (_, sev), c in tally.counts.items() if sev == "warning")
    lines.append(f"| **all** | {errors} | {warnings} | {(errors + warnings) * per100:.2f} |"
                 f" {tally.chorales} checked |")
    return lines


def _median_wall(runs: Sequence[tuple[float, float]]) -> float:
    return statistics.median(w for w, _ in runs)


def _runs(runs: Sequence[tuple[float, float]]) -> str:
    slowest = max(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    return f"{_median_wall(runs):.2f} ({slowest:.2f}) · {cpu:.2f} CPU"


def verdict(value: float, target: float) -> str:
    return f"{'met' if value < target else 'NOT met'} (target < {target:g} s)"


def report(args: argparse.Namespace, tally: Tally,
           peer: tuple[list[float], list[float], tuple[int, int]] | None,
           processes: list[Timing]) -> str:
    import music21

    after = pair_sum(tally.convert, tally.check)
    whole = pair_sum(tally.parse, after)
    worst = max(range(len(after)), key=after.__getitem__, default=None)
    slowest = "–" if worst is None else f"{after[worst]:.3f} s ({tally.names[worst]})"
    lines = [
        f"Command: `{' '.join(['python', 'benchmarks/check_corpus.py', *args.argv])}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, music21 {music21.__version__}; load average"
        f" {args.load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end  ",
        f"Corpus: {tally.chorales} chorales checked with `{RULESET}`"
        f" ({tally.slices} onset slices)" + (f", {len(tally.skipped)} skipped" if tally.skipped
                                              else ""),
        "",
        "### What Bach \"commits\", per rule",
        "",
        *rule_table(tally),
        "",
        "### Time per chorale (ms), in-process",
        "",
        "| stage | mean | median | max | total (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| music21 parsing (corpus cache) | {spread(tally.parse)} |",
        f"| conversion to Texture | {spread(tally.convert)} |",
        f"| check ({RULESET}) | {spread(tally.check)} |",
        f"| **conversion + check** (after start-up) | {spread(after)} |",
        f"| parsing + conversion + check | {spread(whole)} |",
        "",
        f"Conversion + check, slowest chorale: {slowest} —"
        f" {verdict(max(after, default=0), TARGET_CHORALE_S)}.",
    ]
    if peer is not None:
        theirs, ours, (p5, p8) = peer
        lines += [
            "",
            f"### Peer: music21's VoiceLeadingQuartet on the same {len(theirs)} chorales",
            "",
            "music21 judges parallel fifths and octaves/unisons for every pair of voices at"
            " every onset (`Verticality.getAllVoiceLeadingQuartets`, rests and held notes"
            f" excluded); ours converts and runs all {len(active_rules())} rules of"
            f" `{RULESET}`. Both start from an already parsed score.",
            "",
            "| per chorale (ms) | mean | median | max | total (s) |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| music21 VoiceLeadingQuartet: 2 parallel checks | {spread(theirs)} |",
            f"| Partimento: conversion + full check | {spread(ours)} |",
            "",
            f"music21 counts {p5} parallel fifths and {p8} parallel octaves or unisons on these"
            " chorales (antiparallel motion and compound intervals included), to set beside"
            " `no-parallel-fifths`, `no-parallel-octaves` and `no-parallel-unisons` above.",
        ]
    if processes:
        slowest_median = max(_median_wall(p[2]) for p in processes)
        lines += [
            "",
            f"### Whole process on one chorale (MusicXML file, {args.repeats} runs each)",
            "",
            "Wall time of the subprocess, median (slowest run) · its median CPU time (user +"
            " system, less sensitive to other load). The peer is a `python -c` process that"
            " imports music21, parses the same file and runs the parallels check above.",
            "",
            "| chorale | notes | `partimento check` (s) | music21 parse + parallels (s) |",
            "| --- | ---: | ---: | ---: |",
            *(f"| {n} | {notes} | {_runs(ours)} | {_runs(theirs)} |"
              for n, notes, ours, theirs in processes),
            "",
            f"`partimento check`, slowest median: {slowest_median:.2f} s —"
            f" {verdict(slowest_median, TARGET_PROCESS_S)}.",
        ]
    if tally.skipped:
        lines += ["", "Skipped:", *(f"- {s}" for s in tally.skipped)]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N chorales")
    ap.add_argument("--peer-sample", type=int, default=None,
                    help="chorales for the music21 peer (default: all that are checked)")
    ap.add_argument("--processes", type=int, default=5,
                    help="chorales timed as a whole `partimento check` process (default 5)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per process timing")
    ap.add_argument("--results", type=Path, default=None,
                    help=f"write the section here (default: {RESULTS.name} on a full run)")
    ap.add_argument("--json", type=Path, help="also write the per-rule counts as JSON")
    args = ap.parse_args(argv)
    args.argv = argv
    args.load = os.getloadavg()
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from composer.corpus import chorale_names

    names = chorale_names()[: args.limit]
    tally = run_corpus(names)
    sample = names[: args.peer_sample] if args.peer_sample else names
    peer = run_peer(sample) if sample else None
    step = max(len(names) // max(args.processes, 1), 1)
    processes = run_processes(names[::step][: args.processes], args.repeats)
    body = report(args, tally, peer, processes)
    print(body)
    if args.json:
        counts = {f"{rule}:{sev}": c for (rule, sev), c in sorted(tally.counts.items())}
        args.json.write_text(json.dumps({"slices": tally.slices, "chorales": tally.chorales,
                                         "counts": counts}, indent=1) + "\n")
    target = args.results or (RESULTS if args.limit is None else None)
    if target is not None:
        write_section(target, "check_corpus.py",
                      "Checking the Bach chorales (`check_corpus.py`)", body)
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
