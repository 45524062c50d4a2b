"""Seconds to write one piece's files, the two ways side by side in one process on the
same pieces: music21 (a music21 Score built from the piece, written as MusicXML and as
MIDI to a folder and read back, as `partimento compose` and the batch did) and the direct
writers (composer/io/musicxml.py and composer/io/midi.py, the files made in memory, as
they do now). Writing is what a batch pays for each piece after composing it.

The pieces: Essen folk tunes harmonized as `batch_throughput.py` takes them (every 25th
tune of each file, in file order), composed once; each piece written `--rounds` times each
way, in turns, and the median taken (a tune refused is passed over).

    .venv/bin/python benchmarks/write_speed.py             # 20 tunes; writes its section
    .venv/bin/python benchmarks/write_speed.py --quick     # 3 tunes; writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from batch_throughput import write_tunes
from harmonize_folk import folk_tunes
from results import write_section

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def by_music21(piece: Any, document: dict[str, Any], folder: Path) -> dict[str, bytes]:
    """The files as they were written before the direct writers: through music21."""
    from composer.io.layout import written_span
    from composer.io.write import musicxml_text, piece_to_music21

    score = piece_to_music21(piece)
    musicxml_text(score, folder / "score.musicxml")
    midi = score if not written_span(piece).start else piece_to_music21(piece, pickup_bar=False)
    midi.write("midi", fp=str(folder / "score.mid"))
    (folder / "score.json").write_text(json.dumps(document, indent=1, sort_keys=True,
                                                  ensure_ascii=False) + "\n", encoding="utf-8")
    return {p.suffix: p.read_bytes() for p in sorted(folder.iterdir())}


def direct(piece: Any, document: dict[str, Any], folder: Path) -> dict[str, bytes]:
    from composer.io.write import output_files

    return output_files(piece, document)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 tunes; writes nothing")
    ap.add_argument("--tunes", type=int, default=20, help="how many tunes (default 20)")
    ap.add_argument("--rounds", type=int, default=3, help="writes of each piece each way")
    ap.add_argument("--results", type=Path, default=None,
                    help=f"write the section here (default: {RESULTS.name} on a full run)")
    args = ap.parse_args(argv)
    count = 3 if args.quick else args.tunes
    from composer.errors import UnsatisfiableError
    from composer.neural.scorer import default_scorer
    from composer.pipeline import compose, document
    from composer.spec.load import load_spec

    scorer = default_scorer()
    with tempfile.TemporaryDirectory(prefix="write-speed.") as tmp:
        work = Path(tmp)
        pieces = []
        for spec in write_tunes(folk_tunes()[:count + count // 2 + 2], work):
            try:
                comp = compose(load_spec(spec), scorer)
            except UnsatisfiableError:  # a tune refused: nothing to write
                continue
            pieces.append((comp.piece, document(comp)))
        pieces = pieces[:count]
        ways = {"music21 (before)": by_music21, "direct writers (now)": direct}
        seconds: dict[str, list[float]] = {way: [] for way in ways}
        for k, (piece, doc) in enumerate(pieces):
            runs: dict[str, list[float]] = {way: [] for way in ways}
            for r in range(args.rounds):
                for way, write in ways.items():
                    folder = work / f"{k}-{r}-{len(runs[way])}-{way[:3]}"
                    folder.mkdir()
                    start = time.perf_counter()
                    write(piece, doc, folder)
                    runs[way].append(time.perf_counter() - start)
            for way in ways:
                seconds[way].append(statistics.median(runs[way]))
    body = report(args, seconds, len(pieces))
    print(body)
    target = args.results or (None if args.quick else RESULTS)
    if target is not None:
        write_section(target, "write_speed.py", "Writing a piece's files (`write_speed.py`)",
                      body)
        print(f"wrote {target}", file=sys.stderr)
    return 0


def report(args: argparse.Namespace, seconds: dict[str, list[float]], tunes: int) -> str:
    lines = [
        f"Command: `python benchmarks/write_speed.py{' --quick' if args.quick else ''}"
        f"{f' --tunes {args.tunes}' if args.tunes != 20 and not args.quick else ''}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}; {tunes} Essen tunes harmonized, each written"
        f" {args.rounds}× each way (median)  ",
        "",
        "| how | mean s per piece | slowest | pieces written per minute |",
        "| --- | ---: | ---: | ---: |",
    ]
    means = {way: statistics.mean(s) for way, s in seconds.items()}
    lines += [f"| {way} | {means[way]:.4f} | {max(s):.4f} | {60 / means[way]:.0f} |"
              for way, s in seconds.items()]
    before, now = means.values()
    lines += ["", f"The direct writers take {now / before:.1%} of music21's time"
              f" ({before / now:.0f}× faster): {before - now:.3f} s saved on every piece."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main(sys.argv[1:]))
