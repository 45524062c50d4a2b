"""How fast the studio answers: regenerating 2 bars of a 16-bar piece beside composing the
whole piece, through the HTTP API of a warm server (`partimento studio`, real uvicorn, in
a process of its own), one request after another.

Each request is timed from sending it to the last byte of the answer. With the SVG the
answer carries the engraving (the studio's own MusicXML, engraved by verovio system by
system, the systems a revision left unchanged kept from before, indexed); with `"svg":
false` the piece JSON only, the files made when first asked for. Targets: revise p95 ≤
100 ms (an answer that feels instantaneous), compose p50 ≤ 0.5 s.

Beside them, in this process and in the same run, the revision's music alone drawn as a
studio worker draws it (with its Reuse: the kept chain, the region's voicings and the
kept beats worked out once) and without, each request timed both ways in turn: the
same music (checked), and what the Reuse saves, whatever the machine's load.

    .venv/bin/python benchmarks/revise_latency.py           # writes its section of RESULTS.md
    .venv/bin/python benchmarks/revise_latency.py --quick   # a few requests; writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from results import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SPEC = ROOT / "constraints" / "examples" / "chorale-d-major.yaml"  # 16 bars, 4/4
BARS = (7, 8)
REVISE_P95_S, COMPOSE_P50_S = 0.100, 0.5


def post(url: str, body: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            data, status = answer.read(), answer.status
    except urllib.error.HTTPError as exc:
        data, status = exc.read(), exc.code
    return time.perf_counter() - started, status, json.loads(data)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(base: str, n: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    times, errors = [], []
    for k in range(n):
        seconds, status, answer = post(base + path, {**body, "seed": k})
        if status != 200:
            errors.append(answer["errors"][0]["message"])
            break
        times.append(seconds)
    return {"times": times, "error": errors[0] if errors else None}


def in_process(revisions: int) -> dict[str, dict[str, Any]]:
    """Each revision timed plainly and with a Reuse, in turn (the order alternating), from
    the latest; both make the same piece."""
    from composer import compose, revise
    from composer.sample.reuse import Reuse
    from composer.spec.load import load_spec

    piece, reuse = compose(load_spec(SPEC)).to_json(), Reuse()
    times: dict[str, list[float]] = {"plain": [], "reuse": []}
    for k in range(-2, revisions):  # two to warm up
        made = {}
        for way in ("plain", "reuse") if k % 2 else ("reuse", "plain"):
            started = time.perf_counter()
            made[way] = revise(piece, bars=BARS, seed=k + 2,
                               reuse=reuse if way == "reuse" else None).to_json()
            if k >= 0:
                times[way].append(time.perf_counter() - started)
        if made["plain"] != made["reuse"]:
            return {way: {"times": [], "error": f"seed {k + 2}: not the same music"}
                    for way in times}
        piece = made["reuse"]
    return {way: {"times": t, "error": None} for way, t in times.items()}


def row(name: str, result: dict[str, Any]) -> str:
    t = result["times"]
    if not t:
        return f"| {name} | — | — | — | not measured: {result['error']} |"
    return (f"| {name} | {len(t)} | {statistics.median(t) * 1000:.0f} |"
            f" {percentile(t, 95) * 1000:.0f} | {max(t) * 1000:.0f} |")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few requests; writes nothing")
    ap.add_argument("--requests", type=int, help="revise requests (default 100; 5 quick)")
    args = ap.parse_args(argv)
    revisions = args.requests or (5 if args.quick else 100)
    composes = 3 if args.quick else 20
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="revise_latency.") as tmp:
        shutil.copy(SPEC, Path(tmp) / SPEC.name)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-m", "composer", "studio", tmp, "--port",
                                   "0", "--workers", "1"], stdout=subprocess.PIPE, text=True,
                                  env=env)
        try:
            base = server.stdout.readline().split()[3].rstrip("/")
            spec = SPEC.read_text(encoding="utf-8")
            body = {"session": "benchmark", "spec": spec}
            print("warming up …", file=sys.stderr)
            post(base + "/api/compose", body)  # the worker started, the model loaded
            results = {}
            for svg in (True, False):
                print(f"compose, svg {svg} …", file=sys.stderr)
                results["compose", svg] = measure(base, composes, "/api/compose",
                                                  {**body, "svg": svg})
            post(base + "/api/compose", body)  # the piece the revisions start from
            for svg in (True, False):
                print(f"revise, svg {svg} …", file=sys.stderr)
                results["revise", svg] = measure(
                    base, revisions, "/api/revise",
                    {"session": "benchmark", "bars": list(BARS), "svg": svg})
        finally:
            server.terminate()
            server.wait(30)
    print("revise in process, with and without the Reuse …", file=sys.stderr)
    local = in_process(revisions)
    lines = [
        f"Command: `python benchmarks/revise_latency.py{' ' + ' '.join(argv) if argv else ''}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}; load average {load:.1f} at the start,"
        f" {os.getloadavg()[0]:.1f} at the end",
        "",
        f"`{SPEC.relative_to(ROOT)}` (16 bars) through the HTTP API of a warm `partimento"
        f" studio` (one worker), requests one after another: revise bars {BARS[0]}–{BARS[1]}"
        f" ({revisions} requests, each from the latest revision, seeds 0–{revisions - 1}),"
        f" and the whole piece composed ({composes} requests). Times in ms, from sending"
        " the request to the answer's last byte. In process: the same revisions' music"
        " alone (no engraving), each drawn both ways in turn.",
        "",
        "| request | n | p50 | p95 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
        row(f"revise bars {BARS[0]}–{BARS[1]}, with the SVG", results["revise", True]),
        row(f"revise bars {BARS[0]}–{BARS[1]}, piece JSON only", results["revise", False]),
        row("compose 16 bars, with the SVG", results["compose", True]),
        row("compose 16 bars, piece JSON only", results["compose", False]),
        row(f"in process: revise bars {BARS[0]}–{BARS[1]}, the music, plain", local["plain"]),
        row(f"in process: revise bars {BARS[0]}–{BARS[1]}, the music, with the worker's"
            " Reuse", local["reuse"]),
        "",
    ]
    verdicts = []
    for svg, said in ((False, "piece JSON only"), (True, "with the SVG")):
        revise, compose = results["revise", svg]["times"], results["compose", svg]["times"]
        if revise:
            p95 = percentile(revise, 95)
            verdicts.append(f"revise p95 {said}: {p95 * 1000:.0f} ms —"
                            f" {'met' if p95 <= REVISE_P95_S else 'NOT met'} (target ≤"
                            f" {REVISE_P95_S * 1000:.0f} ms)")
        p50 = statistics.median(compose)
        verdicts.append(f"compose p50 {said}: {p50:.2f} s —"
                        f" {'met' if p50 <= COMPOSE_P50_S else 'NOT met'} (target ≤"
                        f" {COMPOSE_P50_S:g} s)")
    lines += [f"- {v}" for v in verdicts]
    body_text = "\n".join(lines) + "\n"
    print(body_text)
    if not args.quick:
        write_section(RESULTS, "revise_latency.py", "The studio's latency"
                      " (`revise_latency.py`)", body_text)
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
