"""Every example spec, many seeds: composed, written, read back from disk and graded.

For each composable spec in constraints/examples/ and each seed, compose, write the
MusicXML, parse it back (an independent path through music21) and check it with the
spec's hard rules. Prints, per example, how many seeds composed, how many hard-rule
violations the checker found (must be zero) and the mean time per piece.

    .venv/bin/python benchmarks/examples_seeds.py               # seeds 0–49; writes RESULTS.md
    .venv/bin/python benchmarks/examples_seeds.py --seeds 5     # a quick look; writes nothing
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
EXAMPLES = ROOT / "constraints" / "examples"
UNSATISFIABLE = {"unsatisfiable"}


def grade(name: str, seeds: int, folder: Path) -> tuple[int, Counter, list[str], float]:
    """(composed, violations per rule, failures, seconds per piece) for one example."""
    from composer.errors import PartimentoError
    from composer.grading.checker import check_texture
    from composer.io.read import read_score
    from composer.io.write import write_outputs
    from composer.pipeline import compose, document
    from composer.solve.given import held_when_composing
    from composer.spec.load import load_spec
    from composer.spec.rulesets import RuleSet

    spec = load_spec(EXAMPLES / f"{name}.yaml")
    held = held_when_composing(spec.rules, spec.melody is not None)  # as composing holds them
    ruleset = RuleSet("spec", "", (len(spec.voices),), spec.voices,
                      tuple(u for u in held if u.severity == "error"))
    composed, broken, failures = 0, Counter(), []
    start = time.perf_counter()
    for seed in range(seeds):
        try:
            comp = compose(replace(spec, seed=seed))
        except PartimentoError as exc:
            failures.append(f"seed {seed}: {exc}")
            continue
        written = write_outputs(comp.piece, folder / f"{name}-{seed}", document(comp))
        texture, _ = read_score(written[0], spec.voices)
        report = check_texture(texture, ruleset, str(written[0]))
        broken.update(v.rule for v in report.violations)
        composed += 1
    return composed, broken, failures, (time.perf_counter() - start) / seeds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    args = parser.parse_args(argv)
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem not in UNSATISFIABLE)
    rows = ["| example | seeds composed | hard violations (read back from disk) | s per piece |",
            "| --- | --- | --- | --- |"]
    clean = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            composed, broken, failures, seconds = grade(name, args.seeds, Path(tmp))
            clean &= composed == args.seeds and not broken
            detail = ", ".join(f"{r}: {n}" for r, n in broken.items()) or "0"
            rows.append(f"| {name} | {composed}/{args.seeds} | {detail} | {seconds:.2f} |")
            print(rows[-1], flush=True)
            for failure in failures[:3]:
                print(f"    {failure}", flush=True)
    verdict = "every seed composes with zero hard violations" if clean else "FAILURES above"
    print(verdict)
    if args.seeds == 50:
        import datetime
        import platform

        from results import write_section

        about = [
            "Command: `python benchmarks/examples_seeds.py`  ",
            f"Date: {datetime.date.today().isoformat()}  ",
            f"Machine: {platform.machine()}, Python {platform.python_version()}  ",
            "Each example composed with the shipped model (the default) and its figures,"
            " written as MusicXML, parsed back from disk by music21 and graded by"
            " `partimento check`'s code with the spec's own hard rules (`dissonance-treatment`"
            " included); the time per piece covers all of that.", ""]
        write_section(RESULTS, "examples_seeds.py", "Every example, seeds 0–49",
                      "\n".join([*about, *rows, "", f"Verdict: {verdict}.", ""]))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
