"""The command line: the only place that prints or exits.

A user's mistake (a PartimentoError) becomes one line on stderr and exit code 2 (or
1 for rules that cannot hold); anything else is a bug and keeps its traceback.
Each command imports what it needs inside itself (lazy on purpose), so that `rules`
and `check` start without torch, the planner or the sampler.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from composer.batches.command import batch
from composer.cli_content import learn_grammar, train
from composer.errors import PartimentoError, SpecError

if TYPE_CHECKING:
    from composer.pipeline import Composition
    from composer.spec.rulesets import RuleSet

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Partimento: compose four-part music under rules, and grade harmony exercises.",
    pretty_exceptions_enable=False,
)

DEFAULT_SETS = ("common-practice", "first-species")


class Format(StrEnum):
    text = "text"
    json = "json"


class Layout(StrEnum):  # composer.io.write.LAYOUTS
    satb = "satb"
    two_staves = "satb-two-staves"


class DocFormat(StrEnum):
    text = "text"
    markdown = "markdown"


ANNOTATE_SUFFIXES = (".musicxml", ".xml", ".mxl")


def _rulesets(name: str | None, overrides: list[str] | None) -> tuple[RuleSet, ...]:
    """The rule set named (or the standard ones, chosen per score by its number of
    voices), with the --set overrides applied; read once for every score."""
    from composer.spec.rulesets import load_ruleset, parse_override

    uses = [parse_override(o) for o in overrides or ()]
    return tuple(load_ruleset(n).with_overrides(uses) for n in ((name,) if name else DEFAULT_SETS))


@app.command()
def check(
    scores: Annotated[list[Path], typer.Argument(help="MusicXML, MIDI or ABC files")],
    rules: Annotated[str | None, typer.Option(
        "--rules", "-r", help="rule set name in constraints/ or a YAML path (by default"
                              " common-practice for 4 voices, first-species for 2)"
    )] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
    annotate: Annotated[Path | None, typer.Option(
        help="write a copy of the score (.musicxml, .xml or .mxl) with the offending notes"
             " coloured and labelled (one score only)"
    )] = None,
    override: Annotated[list[str] | None, typer.Option(
        "--set", help="override a rule: RULE.PARAM=VALUE, RULE@VOICE.PARAM=VALUE,"
                      " RULE.severity=error|warning|off (repeatable)"
    )] = None,
    explain: Annotated[bool, typer.Option(help="explain each rule broken")] = True,
    non_chord_tones: Annotated[bool, typer.Option(
        "--non-chord-tones", help="also list (and with --annotate label) every non-chord"
                                  " tone by kind (passing, neighbour, suspension …)")] = False,
) -> None:
    """Grade four-part (or two-part) exercises: exit 0 clean, 1 violations, 2 bad input.

    One report per score (with --format json, one JSON object per line).
    A score that cannot be read gets one line on stderr; the others are still graded.
    """
    from composer.grading.checker import annotate as write_annotated
    from composer.grading.checker import check_file

    if annotate is not None:
        if len(scores) > 1:
            raise PartimentoError(f"--annotate {annotate}: writes one score; give one SCORE,"
                                  f" not {len(scores)}")
        if annotate.resolve() == scores[0].resolve():
            raise PartimentoError(f"--annotate {annotate}: that is the score itself; write the"
                                  " copy to another file")
        if annotate.suffix.lower() not in ANNOTATE_SUFFIXES:
            raise PartimentoError(f"--annotate {annotate}: the copy is MusicXML; name it"
                                  f" {' or '.join('OUT' + s for s in ANNOTATE_SUFFIXES)}")
    rulesets = _rulesets(rules, override)
    worst = 0
    for path in scores:
        try:
            report, texture, origin = check_file(path, rulesets)
            if annotate is not None:
                write_annotated(report, texture, origin, annotate, non_chord_tones)
        except PartimentoError as exc:
            typer.echo(f"partimento: error: {exc}", err=True)
            worst = 2
            continue
        if fmt is Format.json:
            typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            typer.echo(report.to_text(explain, non_chord_tones))
        if report.violations:
            worst = max(worst, 1)
    raise typer.Exit(worst)


@app.command("rules")
def rules_command(
    rule_id: Annotated[str | None, typer.Argument(help="one rule id")] = None,
    fmt: Annotated[DocFormat, typer.Option(
        "--format", "-f", help="text, or markdown (how docs/rules.md is made)")] = DocFormat.text,
) -> None:
    """List every rule with its summary, explanation, parameters and an example."""
    from composer.errors import closest
    from composer.rules import RULES
    from composer.rules.docs import rule_markdown, rule_text, rules_markdown, rules_text
    from composer.spec.rulesets import load_ruleset, rule_usage

    usage = rule_usage()
    if rule_id is not None:
        if rule_id not in RULES:
            raise PartimentoError(f"unknown rule '{rule_id}'{closest(rule_id, list(RULES))};"
                                  " `partimento rules` lists them")
        render = rule_markdown if fmt is DocFormat.markdown else rule_text
        typer.echo(render(RULES[rule_id], usage))
    elif fmt is DocFormat.markdown:
        sets = [(s.name, s.description) for s in map(load_ruleset, usage)]
        typer.echo(rules_markdown(RULES, usage, sets), nl=False)
    else:
        typer.echo(rules_text(RULES, usage))


@app.command()
def compose(
    spec: Annotated[Path, typer.Argument(help="the YAML spec")],
    out: Annotated[Path, typer.Option("-o", "--out", help="OUT: writes OUT.musicxml, OUT.mid,"
                                      " OUT.json (and the SVG pages, OUT.pdf); a trailing"
                                      " .musicxml is left out, any other dot kept; a"
                                      " folder: writes SPEC's name in it")],
    svg: Annotated[bool, typer.Option("--svg", help="also engrave every page by verovio:"
                                      " OUT.svg, or OUT-1.svg, OUT-2.svg …")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="also engrave OUT.pdf by MuseScore 3"
                                      " (mscore3)")] = False,
    layout: Annotated[Layout, typer.Option(
        help="satb: a staff per voice; satb-two-staves: soprano and alto on a treble staff,"
             " tenor and bass on a bass staff")] = Layout.satb,
    seed: Annotated[int | None, typer.Option(min=0, help="override the spec's seed")] = None,
    temperature: Annotated[float | None, typer.Option(help="override the spec's")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="PATH of a trained model (NAME.pt or NAME.npz, its card NAME.json"
                        " and any figure network NAME-surface.npz beside it), or 'none' for"
                        " the statistical scorers; default: models/chorale.pt (read from"
                        " chorale.npz, without torch)")] = None,
) -> None:
    """Compose a piece from a spec: exit 0 done, 1 rules cannot all hold, 2 bad input."""
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import Progress

    from composer.io.engrave import find_musescore
    from composer.neural.scorer import scorer_for
    from composer.pipeline import compose as run_compose
    from composer.spec.load import load_spec

    the_spec = load_spec(spec)
    if pdf:
        find_musescore()  # before composing, not after
    if seed is not None:
        the_spec = replace(the_spec, seed=seed)
    if temperature is not None:
        the_spec = replace(the_spec, temperature=temperature)
    moved = the_spec.melody.transposed if the_spec.melody else None
    if moved is not None and moved.origin is not None:
        typer.echo(f"partimento: note: {moved.origin.file}:{moved.origin.line}: {moved.note()}",
                   err=True)
    show = the_spec.bars > 16 and sys.stderr.isatty()
    with Progress(console=Console(stderr=True), transient=True, disable=not show) as bar:
        task = bar.add_task("composing", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        comp = run_compose(the_spec, scorer_for(model, the_spec.voices), progress=progress)
    _write(comp, out, svg, pdf, layout, spec.stem)


def _write(comp: Composition, out: Path, svg: bool, pdf: bool, layout: Layout,
           name: str) -> None:
    """Write a composed or revised piece, and say what the given melody breaks. An OUT
    that is a folder is written into, as NAME.* (the spec's stem; a revision's, with
    -revised, so that the piece revised is not overwritten)."""
    from composer.io.write import write_outputs
    from composer.music import format_beat
    from composer.pipeline import document

    if out.is_dir():
        out = out / name
    written = write_outputs(comp.piece, out, document(comp), svg=svg, pdf=pdf,
                            layout=layout.value)
    typer.echo("wrote " + ", ".join(str(p) for p in written))
    for w in comp.warnings:  # the given melody's own breaches: kept, and said
        typer.echo(f"{comp.spec.source}:{w.bar}:{format_beat(w.beat)}: warning[{w.rule}]"
                   f" {w.message} — the given melody, kept as written", err=True)


def _bars(text: str) -> tuple[int, int]:
    from composer.revision import bar_range

    try:
        return bar_range(text)
    except SpecError as exc:
        raise typer.BadParameter(exc.message) from None


def _lock(text: str) -> tuple[int, float, str]:
    try:
        bar, beat, voice = text.split(":")
        return int(bar), float(beat), voice
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not BAR:BEAT:VOICE (e.g. 5:3:alto)") from None


@app.command()
def revise(
    piece: Annotated[Path, typer.Argument(help="OUT.json of a composed piece")],
    out: Annotated[Path, typer.Option("-o", "--out", help="NEW: writes NEW.musicxml,"
                                      " NEW.mid, NEW.json (as compose does)")],
    bars: Annotated[str | None, typer.Option(help="the bars to draw again, e.g. 5-8"
                                             " (default: all)")] = None,
    voices: Annotated[str | None, typer.Option(
        help="the voices to draw again, e.g. alto,tenor (default: all but a given"
             " melody)")] = None,
    lock: Annotated[list[str] | None, typer.Option(
        "--lock", help="BAR:BEAT:VOICE, a note inside the bars to keep (repeatable)")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="draw the bars' chords again too")
                    ] = False,
    surface_only: Annotated[bool, typer.Option(
        "--surface-only", help="keep the chords and voicings; draw only the figures")] = False,
    seed: Annotated[int | None, typer.Option(min=0, help="the seed of the new draw (default:"
                                             " the piece's)")] = None,
    svg: Annotated[bool, typer.Option("--svg", help="also engrave the SVG pages")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="also engrave NEW.pdf by MuseScore 3")
                   ] = False,
    layout: Annotated[Layout, typer.Option(help="as compose's")] = Layout.satb,
    model: Annotated[str | None, typer.Option("--model", help="as compose's")] = None,
) -> None:
    """Draw bars (and voices) of a piece again, keeping the rest: exit 0, 1 or 2 as compose."""
    from composer.io.engrave import find_musescore
    from composer.neural.scorer import scorer_for
    from composer.revision import read_piece
    from composer.revision import revise as run_revise

    saved = read_piece(piece)
    if pdf:
        find_musescore()
    comp = run_revise(saved, bars=_bars(bars) if bars else None,
                      voices=voices.split(",") if voices else None,
                      locks=[_lock(x) for x in lock or ()], seed=seed, plan=plan,
                      surface_only=surface_only,
                      scorer=scorer_for(model, saved.spec.voices))
    _write(comp, out, svg, pdf, layout, f"{piece.stem}-revised")


@app.command()
def plan(spec: Annotated[Path, typer.Argument(help="the YAML spec")],
         seed: Annotated[int | None, typer.Option(min=0, help="override the spec's seed")] = None,
         why: Annotated[bool, typer.Option(
             "--why", help="a line per chord: the grammar rule that put it there")] = False,
         model: Annotated[str | None, typer.Option("--model", help="as compose's")] = None,
         ) -> None:
    """Print the form and harmony plan of the piece compose writes, with the reasons."""
    from dataclasses import replace

    from composer.neural.scorer import scorer_for
    from composer.pipeline import compose as run_compose
    from composer.spec.load import load_spec

    the_spec = load_spec(spec)
    if seed is not None:
        the_spec = replace(the_spec, seed=seed)
    typer.echo(run_compose(the_spec, scorer_for(model, the_spec.voices)).plan.to_text(why))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec (for editors: see the README)."""
    from composer.spec.model import schema as spec_schema

    typer.echo(json.dumps(spec_schema(), indent=1))


@app.command()
def studio(
    folder: Annotated[Path, typer.Argument(help="where the studio keeps every revision and"
                                           " looks for melody files")] = Path("."),
    port: Annotated[int, typer.Option(min=0, max=65535, help="0: a free port")] = 0,
    host: Annotated[str, typer.Option(help="the address to listen on; anything but a"
                                      " loopback address lets other machines in")
                    ] = "127.0.0.1",
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=0.1, help="seconds a compose may run before it is stopped")] = 30.0,
    workers: Annotated[int, typer.Option(min=1, help="worker processes composing at once")
                       ] = 2,
) -> None:
    """Open the web studio: write a spec, compose, hear, revise bars and check, in a browser."""
    from composer.studio.serve import is_loopback, listen, serve, url

    if not folder.is_dir():
        raise PartimentoError(f"{folder}: no such folder; give the folder the studio works in")
    if not is_loopback(host):
        typer.echo(f"partimento: warning: listening on {host}: anyone who can reach this"
                   " machine can compose and read the studio's folder", err=True)
    sock = listen(host, port)
    typer.echo(f"Partimento studio on {url(sock)} (Ctrl-C stops it)")
    serve(sock, folder, time_limit, workers)



app.command()(batch)
app.command()(train)
app.command("learn-grammar")(learn_grammar)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (callable from tests)."""
    try:
        app(args=argv, prog_name="partimento")
    except SystemExit as exc:  # how the command-line layer reports every exit code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except PartimentoError as exc:
        typer.echo(f"partimento: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("partimento: interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())
