"""How fast an unsatisfiable spec is explained, beside the textbook way of finding the
same kind of answer.

When the hard rules cannot all hold, `compose` names a minimal set of the spec's rules
and given notes that conflict. A given melody that breaks a rule of its own line is
named before any search; otherwise the set is found with QuickXplain over a window of
slots (`composer/explain.py`). The peer is the deletion filter (drop each rule or note in
turn, and leave it out if the rest still conflicts), run on the same window with the
same consistency check: both return a minimal set, so the difference is the number of
checks and the time. Printed side by side, in one run, for each spec: in process and as a
whole `partimento compose` process (which must exit 1 and name the conflict).

    .venv/bin/python benchmarks/explain_speed.py           # writes its section of RESULTS.md
    .venv/bin/python benchmarks/explain_speed.py --quick   # one run each; writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from results import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
TARGET_S = 5.0  # a 32-bar spec, explained
PHRASE = "d4 e f# e d2 a2 b4 c'# d' c'# d'1 "  # four bars, ending on D5
# Each phrase of this 32-bar tune leaps D5 → D4 (12 semitones), which the spec forbids:
# the melody breaks the rule by itself, which is seen before any search.
LEAP = ("key: D major\nmeter: 4/4\nbars: 32\nmelody:\n  voice: soprano\n  tinynotation: \""
        + (PHRASE * 8).strip()
        + "\"\nrules:\n  include: [common-practice]\n  hard:\n"
        "    - {rule: max-leap, semitones: 9}\n")
# The first half of this one closes C#5 → A4 under the authentic cadence the form asks
# for, which puts the leading tone in the soprano, and the spec asks that the melody's
# leading tones rise too (a rule set's rules of one line do not bind a given melody). No
# slot is empty and the melody alone breaks nothing: the conflict spans slots and is
# found by the search.
CLOSE = ("key: D major\nmeter: 4/4\nbars: 32\nform: A B\ncadences: {A: authentic}\n"
         "melody:\n  voice: soprano\n  tinynotation: \""
         + (PHRASE * 3 + "d4 e f# e d2 a2 b4 d' c'#2 a1 " + PHRASE * 4).strip()
         + "\"\nrules:\n  include: [common-practice]\n  hard:\n"
         "    - {rule: leading-tone-resolves}\n")


def specs(folder: Path) -> dict[str, Path]:
    leap, close = folder / "leap-32-bars.yaml", folder / "close-32-bars.yaml"
    leap.write_text(LEAP)
    close.write_text(CLOSE)
    return {"leap across phrases, 32 bars": leap,
            "leading tone falls at a cadence, 32 bars": close,
            "constraints/examples/unsatisfiable.yaml":
                ROOT / "constraints" / "examples" / "unsatisfiable.yaml"}


def deletion_filter(items: Sequence[Any], consistent: Callable[[list[Any]], bool]
                    ) -> list[Any]:
    """A minimal inconsistent subset: each item in turn is dropped for good if the rest
    is still inconsistent (items must be inconsistent)."""
    kept = list(items)
    for item in items:
        trial = [i for i in kept if i is not item]
        if not consistent(trial):
            kept = trial
    return kept


def explain_once(path: Path, method: str) -> tuple[float, int, str]:
    """(seconds, consistency checks, message) of composing an unsatisfiable spec."""
    import composer.solve.explain as explain
    from composer.errors import UnsatisfiableError
    from composer.pipeline import compose
    from composer.sample.scorer import StatisticalScorer
    from composer.spec.load import load_spec

    spec = load_spec(path)
    scorer = StatisticalScorer.from_corpus(spec.voices)
    checks = 0
    original_check, original_search = explain._consistent, explain.quickxplain

    def counted(*args: Any) -> bool:
        nonlocal checks
        checks += 1
        return original_check(*args)

    explain._consistent = counted
    if method == "deletion":
        explain.quickxplain = deletion_filter
    try:
        t0 = time.perf_counter()
        try:
            compose(spec, scorer)
        except UnsatisfiableError as exc:
            return time.perf_counter() - t0, checks, str(exc)
        raise SystemExit(f"explain_speed: {path} composed; it should not")
    finally:
        explain._consistent, explain.quickxplain = original_check, original_search


def in_child(path: Path, method: str) -> tuple[float, int, str]:
    """`explain_once` in a fresh process, so that neither method inherits the other's
    warm caches."""
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from explain_speed import"
            " explain_once; from pathlib import Path;"
            " print('RESULT ' + json.dumps(explain_once(Path(sys.argv[2]), sys.argv[3])))")
    done = subprocess.run([sys.executable, "-c", code, str(HERE), str(path), method],
                          capture_output=True, text=True, timeout=600, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"explain_speed: {method} on {path} failed:\n{done.stderr[-2000:]}")
    seconds, checks, message = json.loads(lines[-1][7:])
    return seconds, checks, message


def whole_process(path: Path, folder: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "partimento"), "compose",
                           str(path), "-o", str(folder / "never"), "--model", "none"],
                          capture_output=True, text=True, timeout=600, check=False)
    return time.perf_counter() - t0, done.returncode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one run each; writes nothing")
    ap.add_argument("--repeats", type=int, help="runs of each (default 3; 1 with --quick)")
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    load = os.getloadavg()[0]
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory(prefix="explain_speed.") as tmp:
        folder = Path(tmp)
        for name, path in specs(folder).items():
            print(f"{name} …", file=sys.stderr)
            runs = {m: [in_child(path, m) for _ in range(repeats)]
                    for m in ("quickxplain", "deletion")}
            procs = [whole_process(path, folder) for _ in range(repeats)]
            (q, qc, message), (d, dc, other) = (
                (statistics.median(r[0] for r in runs[m]), runs[m][0][1], runs[m][0][2])
                for m in ("quickxplain", "deletion"))
            wall = statistics.median(p[0] for p in procs)
            codes = sorted({p[1] for p in procs})
            rows.append(f"| {name} | {q:.2f} | {qc} | {d:.2f} | {dc} | {wall:.2f} |"
                        f" {', '.join(map(str, codes))} |")
            verdicts.append((name, wall, message.replace(tmp, "…"), other.replace(tmp, "…")))
    lines = [
        f"Command: `python benchmarks/explain_speed.py{' ' + ' '.join(argv) if argv else ''}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}; load average {load:.1f} at the start,"
        f" {os.getloadavg()[0]:.1f} at the end; median of {repeats} run(s), each in a fresh"
        " process",
        "",
        "In process: `compose()` from the spec to the explanation (the statistical scorer),"
        " and the consistency checks made on the way. The peer swaps QuickXplain for the"
        " deletion filter on the same window.",
        "",
        "| unsatisfiable spec | QuickXplain (s) | checks | deletion filter (s) | checks |"
        " whole `partimento compose` (s) | exit codes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
    ]
    for name, _, message, other in verdicts:
        lines += [f"- {name}: `{message}`" + ("" if message == other
                                               else f" (deletion filter: `{other}`)")]
    long = [k for k, v in enumerate(verdicts) if "32 bars" in v[0]]
    inside = max(float(rows[k].split("|")[2]) for k in long)
    wall = max(verdicts[k][1] for k in long)
    lines += ["", f"32 bars explained in {inside:.2f} s in process at most —"
              f" {'met' if inside < TARGET_S else 'NOT met'} (target < {TARGET_S:g} s); by a"
              f" whole process, starting Python and loading the spec and scorer, in"
              f" {wall:.2f} s at most — {'met' if wall < TARGET_S else 'NOT met'}."]
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.quick:
        write_section(RESULTS, "explain_speed.py", "Explaining unsatisfiable specs"
                      " (`explain_speed.py`)", body)
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
