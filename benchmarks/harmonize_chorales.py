"""Harmonize the soprano of every Bach chorale in music21's corpus under `common-practice`.

For each chorale the soprano part (its fermatas, key signature and meter kept) is written
to a MusicXML file beside a spec that gives it as the melody, with the chorale's key and
meter and enough bars to hold it; Partimento composes the other three voices in process,
writes its files as `partimento compose` does, reads the MusicXML back from disk and
grades it with the checker. Every chorale lands in one category: composed with no hard
violation; composed with violations (a bug: the composer promises every hard rule; the
given soprano's own breaches, which composing reports as kept, are not counted);
unsatisfiable (the composer says why); not expressible as a spec (why); crashed (a bug).

    .venv/bin/python benchmarks/harmonize_chorales.py --jobs 2       # all 371; writes RESULTS.md
    .venv/bin/python benchmarks/harmonize_chorales.py --limit 10     # a quick look; writes nothing
    .venv/bin/python benchmarks/harmonize_chorales.py --names bwv269,bwv347

Target (from the issue): at least 99% composed without violation, the rest explained
as unsatisfiable.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import functools
import multiprocessing
import os
import platform
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from results import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
RULESET = "common-practice"
TARGET = 99.0
SPEC = """\
title: {title}
key: {key}
meter: {meter}
bars: {bars}
melody:
  voice: soprano
  file: soprano.musicxml
rules:
  include: [{ruleset}]{ending}
seed: {seed}
"""
# A modal chorale that closes on the dominant of its signature's key (a Phrygian ending)
# is asked for that half cadence, as a musician harmonizing it would.
HALF_ENDING = """
  hard:
    - {rule: cadence, end: [half]}"""
CATEGORIES = {  # category: how the report names it
    "clean": "composed, no hard violation",
    "violations": "composed, with hard violations (a bug)",
    "unsatisfiable": "unsatisfiable",
    "inexpressible": "not expressible as a spec",
    "crashed": "crashed (a bug)",
}


@dataclass
class Outcome:
    name: str
    category: str
    detail: str = ""  # the reason, the error message, or the rules broken
    compose_s: float = 0.0
    total_s: float = 0.0
    bars: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # hard violations per rule


def meters(part: Any) -> dict[int, str]:
    """The time signature of each bar where one begins, bars counted from 1 (a pickup
    bar is bar 1, as in a spec)."""
    from music21 import stream

    out: dict[int, str] = {}
    for k, m in enumerate(part.getElementsByClass(stream.Measure)):
        if m.timeSignature is not None and m.timeSignature.ratioString not in \
                list(out.values())[-1:]:
            out[k + 1] = m.timeSignature.ratioString
    return out


def write_spec(name: str, folder: Path, seed: int) -> tuple[Path, int] | str:
    """Write soprano.musicxml and spec.yaml for one chorale; (the spec, its bars), or
    why the chorale cannot be put as a spec."""
    from music21 import stream

    from composer.corpus import parse_chorale, soprano_part
    from composer.errors import PartimentoError
    from composer.io.melodies import melody_from_file
    from composer.io.read import texture_from_music21
    from composer.spec.model import meter_of

    score = parse_chorale(name)
    part = soprano_part(score)
    found = meters(part)
    if 1 not in found:
        return "the soprano has no time signature in its first bar"
    spec_meter = found[1] if len(found) == 1 else \
        "{" + ", ".join(f"{bar}: {m}" for bar, m in found.items()) + "}"
    try:
        meter = meter_of(found)
        key, ending = chorale_key(texture_from_music21(score, source=name)[0])
    except (ValueError, PartimentoError) as exc:
        return str(exc)
    soprano = folder / "soprano.musicxml"
    stream.Score([copy.deepcopy(part)]).write("musicxml", fp=str(soprano))
    notes, _ = melody_from_file(soprano)  # with the rest that fills a pickup's bar
    end = max(offset + length for offset, length, *_ in notes)
    bars = meter.position(Fraction(end).limit_denominator(64) - Fraction(1, 64)).bar
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(title=f"{name.split('/')[-1]}, soprano harmonized", key=key,
                                meter=spec_meter, bars=bars, ruleset=RULESET, seed=seed,
                                ending=HALF_ENDING if ending == "half" else ""))
    return spec, bars


def chorale_key(texture: Any) -> tuple[Any, str]:
    """The key a musician gives the melody, and how the chorale ends. Bach's last bass
    note is the tonic of the key the checker hears or of its relative ('authentic'), or
    the dominant of one of them ('half'), or else the tonic of the major or minor key on
    it (a Dorian chorale under a signature one flat short, a close outside the key): of
    these readings, the key that fits the notes best; a close on the tonic six-four is a
    close on the tonic. Where the soprano falls a semitone onto a minor tonic, the piece
    closes on the dominant of the key a fifth below: 'half' (a Phrygian ending)."""
    import numpy as np

    from composer.grading.harmony import key_fit
    from composer.music import Key

    key, frame = texture.key, texture.frame
    rows = np.flatnonzero(frame.midi[:, -1] >= 0)
    bass_note = frame.pitch(int(rows[-1]), frame.midi.shape[1] - 1) if len(rows) else None
    final = bass_note.pc if bass_note is not None else key.tonic.pc
    sounding = frame.midi[(frame.midi >= 0).any(axis=1)]
    last = {int(m) % 12 for m in sounding[-1] if m >= 0} if len(sounding) else set()
    weights = np.bincount(frame.midi[frame.midi >= 0] % 12, minlength=12).astype(float)
    relative = Key(key.tonic.up(5, 9), "minor") if key.mode == "major" \
        else Key(key.tonic.up(2, 3), "major")
    tonic = next((k for k in (key, relative) if k.tonic.pc == final), None)
    if tonic is None:
        halves = [k for k in (key, relative) if k.degree(5).pc == final]
        if any(last <= {k.degree(d).pc for d in (1, 3, 5)} for k in halves[:1]):
            return key, "authentic"  # a close on the tonic six-four
        note = next((p for p in (key.degree(d) for d in range(1, 8)) if p.pc == final),
                    bass_note.pitch_class if bass_note is not None else None)
        readings = halves + ([Key(note, m) for m in ("major", "minor")] if note else [])
        if not readings:
            return key, "authentic"
        best = max(readings, key=lambda k: key_fit(k, weights))
        if best in halves:
            return best, "half"
        tonic = best
    top = [int(m) for m in frame.midi[:, 0] if m >= 0]
    top = [m for k, m in enumerate(top) if k == 0 or m != top[k - 1]]
    if tonic.mode == "minor" and len(top) > 1 and top[-2] - top[-1] == 1:
        return Key(tonic.degree(4), "minor"), "half"  # a Phrygian close
    return tonic, "authentic"


def _short(message: str, folder: Path) -> str:
    """A message without this machine's folders: the temporary one, the checkout."""
    return message.replace(str(folder), "…").replace(f"{ROOT}/", "")


@functools.cache
def scorer() -> Any:
    """One per worker process: loading it is not what is measured."""
    from composer.sample.scorer import StatisticalScorer

    return StatisticalScorer.from_corpus(("soprano", "alto", "tenor", "bass"))


def origin(exc: BaseException) -> str:
    """The innermost place in the package that an exception passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/composer/" in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at composer/{f.filename.split('/composer/')[-1]}:{f.lineno} in {f.name})"


def harmonize(name: str, seed: int = 0, cap: int = 0) -> Outcome:
    """One chorale, start to finish, in a folder of its own; after `cap` seconds (0: no
    cap) it is stopped and counted as crashed, since compose must answer in time."""

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {cap} s")

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(cap)
    try:
        return _harmonize(name, seed)
    finally:
        signal.alarm(0)


def _harmonize(name: str, seed: int) -> Outcome:
    from composer.errors import SpecError, UnsatisfiableError
    from composer.grading.checker import check_file
    from composer.io.write import write_outputs
    from composer.pipeline import compose, document
    from composer.solve.given import held_when_composing
    from composer.spec.load import load_spec
    from composer.spec.rulesets import RuleSet

    scorer()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harmonize.") as tmp:
        folder = Path(tmp)
        try:
            made = write_spec(name, folder, seed)
            if isinstance(made, str):
                return Outcome(name, "inexpressible", made, total_s=time.perf_counter() - t0)
            path, bars = made
            try:
                spec = load_spec(path)
            except SpecError as exc:
                return Outcome(name, "inexpressible", _short(str(exc), folder),
                               total_s=time.perf_counter() - t0)
            t1 = time.perf_counter()
            try:
                comp = compose(spec, scorer())
            except UnsatisfiableError as exc:
                return Outcome(name, "unsatisfiable", _short(str(exc), folder),
                               time.perf_counter() - t1, time.perf_counter() - t0, bars)
            composed = time.perf_counter() - t1
            written = write_outputs(comp.piece, folder / "out", document(comp))
            # graded by the rules the spec asks for: common-practice, and its ending
            rules = RuleSet(RULESET, "", (len(spec.voices),), spec.voices,
                            held_when_composing(spec.rules, spec.melody is not None))
            report = check_file(written[0], rules)[0]
        except Exception as exc:  # a bug: keep its kind and message, go on with the rest
            return Outcome(name, "crashed", f"{type(exc).__name__}: {str(exc)[:300]}"
                           f"{origin(exc)}", total_s=time.perf_counter() - t0)
    # the given soprano's own breaches (composing said them, kept as written) are not the
    # composer's: count only what the composed voices break
    given = {(w.rule, w.voices) for w in comp.warnings}
    errors = Counter(v.rule for v in report.violations
                     if v.severity == "error" and (v.rule, v.voices) not in given)
    broken = ", ".join(f"{r} ×{n}" for r, n in sorted(errors.items()))
    return Outcome(name, "violations" if errors else "clean", broken, composed,
                   time.perf_counter() - t0, bars, errors)


def run(names: Sequence[str], jobs: int, seed: int, cap: int) -> Iterator[Outcome]:
    if jobs <= 1:
        yield from (harmonize(n, seed, cap) for n in names)
        return
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_harmonize_star, [(n, seed, cap) for n in names], chunksize=1)


def _harmonize_star(item: tuple[str, int, int]) -> Outcome:
    return harmonize(*item)


def progress(i: int, n: int, outcome: Outcome) -> None:
    text = f"{i}/{n} {outcome.name:<22} {outcome.category}"
    if sys.stderr.isatty():
        print(f"\r{text:<60}", end="" if i < n else "\n", file=sys.stderr, flush=True)
    elif i == n or i % 25 == 0 or outcome.category in ("crashed", "violations"):
        print(text, file=sys.stderr, flush=True)


def report(args: argparse.Namespace, outcomes: list[Outcome], wall: float) -> str:
    import music21

    n = len(outcomes)
    by: dict[str, list[Outcome]] = {c: [] for c in CATEGORIES}
    for o in outcomes:
        by[o.category].append(o)
    composed = by["clean"] + by["violations"]
    clean = 100 * len(by["clean"]) / max(n, 1)
    expressible = n - len(by["inexpressible"])
    met = clean >= TARGET and len(by["clean"]) + len(by["unsatisfiable"]) == n
    lines = [
        f"Command: `{' '.join(['python', 'benchmarks/harmonize_chorales.py', *args.argv])}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, music21 {music21.__version__}; {args.jobs} job(s);"
        f" load average {args.load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end  ",
        f"Corpus: {n} chorales' sopranos{_distinct(outcomes)} harmonized with `{RULESET}`,"
        f" seed {args.seed}; each written by `write_outputs` and its MusicXML checked back"
        " from disk",
        "",
        "| outcome | chorales | share | mean s each |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {label} | {len(by[c])} | {100 * len(by[c]) / max(n, 1):.1f}% |"
          f" {_mean([o.total_s for o in by[c]]):.2f} |" for c, label in CATEGORIES.items()),
        f"| **all** | {n} | | {_mean([o.total_s for o in outcomes]):.2f} |",
        "",
        f"Composed without a hard violation: {clean:.1f}% of all"
        f" ({100 * len(by['clean']) / max(expressible, 1):.1f}% of the {expressible} that a"
        f" spec can express) — {'met' if met else 'NOT met'}"
        f" (target ≥ {TARGET:g}%, the rest explained as unsatisfiable).",
        "",
        f"Time: {wall:.0f} s in all ({wall / max(n, 1):.2f} s per chorale with {args.jobs}"
        f" job(s)); per chorale composed, compose() took"
        f" {_mean([o.compose_s for o in composed]):.2f} s on average"
        f" ({_mean([o.bars for o in composed]):.1f} bars), and the whole round (soprano out,"
        f" spec, compose, write, read back, check)"
        f" {_mean([o.total_s for o in composed]):.2f} s.",
    ]
    if by["violations"]:
        rules: Counter[str] = Counter()
        for o in by["violations"]:
            rules.update(o.errors)
        lines += ["", "Hard violations by rule (a bug): " + ", ".join(
            f"`{r}` ×{c} in {sum(r in o.errors for o in by['violations'])} chorales"
            for r, c in rules.most_common()) + "."]
    lines += _blame_table(by["unsatisfiable"])
    for category in ("violations", "unsatisfiable", "inexpressible", "crashed"):
        lines += _listing(CATEGORIES[category], by[category], args.show)
    return "\n".join(lines) + "\n"


def blames(message: str) -> str:
    """What an unsatisfiable chorale's explanation names, to group them."""
    rules = sorted(set(re.findall(r"rule ([a-z-]+)", message)))
    if rules:
        return "rule " + " and ".join(f"`{r}`" for r in rules) + " against melody notes"
    if "no chord the grammar allows" in message:
        where = "one slot of bar 1" if " at bar 1 beat " in message else "one slot"
        return f"no chord of the grammar has a voicing at {where}"
    if "cannot hold" in message:
        return "one melody note, with the grammar and the cadences"
    if "conflicts with" in message:
        return "melody notes against one another (grammar, cadences, voice leading)"
    if "no progression and voicing reaches" in message:
        return "no progression and voicing reaches a slot"
    return "something else"


def _blame_table(outcomes: list[Outcome]) -> list[str]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(blames(o.detail), []).append(o)
    if not groups:
        return []
    rows = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    return ["", "Unsatisfiable chorales by what the explanation names:", "",
            "| the explanation names | chorales | e.g. |", "| --- | ---: | --- |",
            *(f"| {kind} | {len(group)} |"
              f" {', '.join(o.name.split('/')[-1] for o in group[:4])} |" for kind, group in rows)]


def _distinct(outcomes: list[Outcome]) -> str:
    files = len({o.name for o in outcomes})
    return "" if files == len(outcomes) else \
        f" ({files} distinct files: music21's list names some twice)"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _listing(label: str, outcomes: list[Outcome], show: int) -> list[str]:
    if not outcomes:
        return []
    out = ["", f"{label.capitalize()}, {len(outcomes)}:", ""]
    out += [f"- {o.name}: {o.detail}" for o in outcomes[:show]]
    if len(outcomes) > show:
        out.append(f"- … and {len(outcomes) - show} more:"
                   f" {', '.join(o.name.split('/')[-1] for o in outcomes[show:])}")
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N chorales")
    ap.add_argument("--names", help="only these chorales, e.g. bwv269,bwv347")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="the specs' seed (default 0)")
    ap.add_argument("--cap", type=int, default=300,
                    help="seconds per chorale before it counts as crashed (default 300)")
    ap.add_argument("--show", type=int, default=40,
                    help="chorales listed per category (default 40)")
    ap.add_argument("--results", type=Path, default=None,
                    help=f"write the section here (default: {RESULTS.name} on a full run)")
    args = ap.parse_args(argv)
    args.argv, args.load = argv, os.getloadavg()
    return args


def select(args: argparse.Namespace) -> list[str]:
    from composer.corpus import chorale_names

    names = chorale_names()
    if args.names:
        wanted = [w.strip().removeprefix("bach/") for w in args.names.split(",") if w.strip()]
        known = {n.split("/")[-1]: n for n in names}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise SystemExit(f"harmonize_chorales: no chorale {', '.join(unknown)} in the corpus")
        names = [known[w] for w in wanted]
    return names[: args.limit]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    names = select(args)
    t0 = time.perf_counter()
    outcomes = []
    for i, outcome in enumerate(run(names, args.jobs, args.seed, args.cap), 1):
        outcomes.append(outcome)
        progress(i, len(names), outcome)
    body = report(args, outcomes, time.perf_counter() - t0)
    print(body)
    full = args.limit is None and args.names is None
    target = args.results or (RESULTS if full else None)
    if target is not None:
        write_section(target, "harmonize_chorales.py",
                      "Harmonizing the chorale sopranos (`harmonize_chorales.py`)", body)
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
