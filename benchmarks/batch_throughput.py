"""How many pieces a minute: 200 Essen folk tunes harmonized by a shell loop of
`partimento compose` (a process per piece), by `partimento batch --jobs 1`, `--jobs 2`,
and Ray with as many CPUs as `--jobs 2`: `--ray auto` on a cluster of this machine that
`ray start --head` started before the command (as a cluster is up before one submits to it),
and `--ray local` (a cluster the command starts and stops itself), side by side in one run
on the same spec files.

The tunes: every 25th tune of each file of music21's `essenFolksong` corpus, in file order
(as harmonize_folk.py takes them), the first 200; each written as NAME.musicxml beside the
spec NAME.yaml that composer/batches/templates.py writes for it. Every mode writes into a
fresh folder; the wall time of the whole command is what is measured (start-up included:
that is what a shell loop pays for every piece), the package's bytecode compiled first,
as an installed package has it (`compiled`). Targets (from the issue): `--jobs 1` at
least 4× the shell loop, `--jobs 2` at least 1.8× `--jobs 1`, Ray within 15% of
`--jobs 2` (on the running cluster; `--ray local`'s start and stop of a cluster, about
five seconds, are shown beside it).

    .venv/bin/python benchmarks/batch_throughput.py           # writes its section of RESULTS.md
    .venv/bin/python benchmarks/batch_throughput.py --quick   # 6 tunes; writes nothing
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harmonize_folk import folk_tunes
from results import write_section

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BIN = Path(sys.executable).parent


def write_tunes(names: list[str], folder: Path) -> list[Path]:
    """NAME.musicxml and NAME.yaml for each tune (a tune with no meter a spec can state is
    left out, as harmonize_folk leaves it); the specs."""
    from music21 import corpus
    from music21 import stream as m21stream

    from composer.batches.templates import tune_meter, tune_spec
    from composer.io.abc import carry_abc_accidentals

    specs = []
    for name in names:
        stem, number = name.split("#")
        part = corpus.parse(f"essenFolksong/{stem}", number=int(number)).parts[0]
        carry_abc_accidentals(part)
        if tune_meter(part) is None:
            continue
        tune = folder / f"{stem}-{number}.musicxml"
        m21stream.Score([copy.deepcopy(part)]).write("musicxml", fp=str(tune))
        spec = tune.with_suffix(".yaml")
        spec.write_text(tune_spec(part, tune, f"{name}, harmonized", 0))
        specs.append(spec)
    return specs


def compiled() -> None:
    """The package's bytecode written before any mode is timed, as an installed package
    has it: where PYTHONDONTWRITEBYTECODE keeps a process from writing it (a sandbox, a
    container), every process of the shell loop would compile the package's source
    again, some 0.2 s each, and the loop would seem slower than a user's."""
    import compileall

    import composer

    compileall.compile_dir(str(Path(composer.__file__).parent), quiet=1)


def timed(command: list[str], out: Path) -> tuple[float, int]:
    """Seconds the command took, and the pieces composed (the .musicxml files written)."""
    out.mkdir()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:3])} … failed:\n{done.stderr[-2000:]}")
    return seconds, len(list(out.glob("*.musicxml")))


def modes(specs: list[Path], work: Path, ray: bool) -> dict[str, list[str]]:
    partimento = str(BIN / "partimento")
    loop = ('for s in "$@"; do "$P" compose "$s" -o "$OUT/$(basename "$s" .yaml)"'
            ' >/dev/null 2>&1; done')
    out = {
        "shell loop of `partimento compose`": ["bash", "-c", f"P={partimento};"
                                               f" OUT={work / 'loop'}; {loop}", "_",
                                               *map(str, specs)],
        "`batch --jobs 1`": [partimento, "batch", *map(str, specs), "-o",
                             str(work / "jobs1"), "--jobs", "1"],
        "`batch --jobs 2`": [partimento, "batch", *map(str, specs), "-o",
                             str(work / "jobs2"), "--jobs", "2"],
    }
    if ray:
        out[CLUSTER] = [partimento, "batch", *map(str, specs), "-o", str(work / "ray"),
                        "--ray", "auto"]
        out[LOCAL] = [partimento, "batch", *map(str, specs), "-o", str(work / "ray-local"),
                      "--ray", "local", "--jobs", "2"]
    return out


CLUSTER = "`batch --ray auto` (a running cluster of 2 CPUs)"
LOCAL = "`batch --ray local --jobs 2` (its cluster's start and stop counted)"


def cluster(start: bool) -> None:
    """Start (or stop) a Ray cluster of this machine with 2 CPUs, as `ray start` does."""
    command = [str(BIN / "ray"), "start", "--head", "--num-cpus", "2",
               "--include-dashboard=false", "--disable-usage-stats"] if start \
        else [str(BIN / "ray"), "stop", "--force"]
    subprocess.run(command, capture_output=True, check=start)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="6 tunes; writes nothing")
    ap.add_argument("--tunes", type=int, default=200, help="how many tunes (default 200)")
    ap.add_argument("--results", type=Path, default=None,
                    help=f"write the section here (default: {RESULTS.name} on a full run)")
    args = ap.parse_args(argv)
    count = 6 if args.quick else args.tunes
    try:
        import ray  # noqa: F401
        has_ray = True
    except ImportError:
        has_ray = False
    with tempfile.TemporaryDirectory(prefix="batch-throughput.") as tmp:
        work = Path(tmp)
        (work / "tunes").mkdir()
        specs = write_tunes(folk_tunes()[:count + count // 10], work / "tunes")[:count]
        compiled()
        rows = []
        load = [os.getloadavg()[0]]
        for label, command in modes(specs, work, has_ray).items():
            out = Path(command[command.index("-o") + 1]) if "-o" in command else work / "loop"
            if label == CLUSTER:
                cluster(start=True)
            try:
                seconds, pieces = timed(command, out)
            finally:
                if label == CLUSTER:
                    cluster(start=False)
            rows.append((label, seconds, pieces, 60 * len(specs) / seconds))
            print(f"{label}: {seconds:.1f} s, {pieces} composed", file=sys.stderr)
            load.append(os.getloadavg()[0])
        reports = {m: json.loads((work / m / "report.json").read_text())["rows"]
                   for m in ("jobs1", "jobs2", "ray", "ray-local")
                   if (work / m / "report.json").is_file()}
    body = report(args, rows, len(specs), has_ray, reports, load)
    print(body)
    target = args.results or (None if args.quick or args.tunes != 200 else RESULTS)
    if target is not None:
        write_section(target, "batch_throughput.py",
                      "Batch throughput (`batch_throughput.py`)", body)
        print(f"wrote {target}", file=sys.stderr)
    return 0


def report(args: argparse.Namespace, rows: list[tuple[str, float, int, float]], tunes: int,
           has_ray: bool, reports: dict[str, list[dict[str, object]]], load: list[float]
           ) -> str:
    rate = {label: r for label, _, _, r in rows}
    noisy = " — above the CPU count: other work shared the machine, the figures are noisy" \
        if max(load) > (os.cpu_count() or 1) else ""
    loop, one, two = (rate[k] for k in ("shell loop of `partimento compose`",
                                         "`batch --jobs 1`", "`batch --jobs 2`"))
    lines = [
        f"Command: `python benchmarks/batch_throughput.py{' --quick' if args.quick else ''}"
        f"{f' --tunes {args.tunes}' if args.tunes != 200 and not args.quick else ''}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}; {tunes} Essen tunes, the shipped model  ",
        f"Load average (1 min) before the first mode and after each:"
        f" {', '.join(f'{x:.1f}' for x in load)}{noisy}  ",
        "",
        "| how | seconds | composed | pieces per minute |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {label} | {s:.1f} | {p} | {r:.1f} |" for label, s, p, r in rows),
        "",
        f"`--jobs 1` is {one / loop:.1f}× the shell loop (target ≥ 4×:"
        f" {'met' if one >= 4 * loop else 'NOT met'}); `--jobs 2` is {two / one:.2f}×"
        f" `--jobs 1` (target ≥ 1.8×: {'met' if two >= 1.8 * one else 'NOT met'}).",
    ]
    if has_ray:
        ray, local = rate[CLUSTER], rate[LOCAL]
        lines.append(f"Ray on a running local cluster: {ray / two:.2f}× `--jobs 2` (target:"
                     f" within 15%: {'met' if ray >= 0.85 * two else 'NOT met'}); with the"
                     f" cluster started and stopped by the command, {local / two:.2f}×.")
    else:
        lines.append("Ray is not installed here (pip install 'partimento[ray]'): not measured.")
    same = [m for m in reports if m != "jobs1"
            and [r["files"] for r in reports[m]] == [r["files"] for r in reports["jobs1"]]]
    lines.append(f"The same files (SHA-256) from `--jobs 1` and: {', '.join(same) or 'none'}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main(sys.argv[1:]))
