"""Engraving the written MusicXML into pages: SVG by verovio (in process), PDF by
MuseScore 3 (a program of its own, `mscore3`), each the same bytes for the same score."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from composer.errors import PartimentoError, ScoreError

MUSESCORE = "mscore3"
INSTALL_MUSESCORE = "apt-get install musescore3"


def engrave_pages(musicxml: str, one_page: bool = False) -> list[str]:
    """Every page of the score engraved by verovio, each with the same ids every time;
    with `one_page`, the whole score on one long page (a download of the studio's view)."""
    import verovio  # lazy: only --svg and the studio engrave

    toolkit = verovio.toolkit()
    toolkit.setOptions({"pageWidth": 2100, "pageHeight": 60000 if one_page else 2970,
                        "scale": 40, "adjustPageHeight": True, "footer": "none",
                        "header": "auto"})
    toolkit.resetXmlIdSeed(1)
    if not toolkit.loadData(musicxml):
        raise ScoreError("verovio could not read the score it was given")
    pages = []
    for n in range(1, toolkit.getPageCount() + 1):
        svg = toolkit.renderToSVG(n)
        root = re.search(r'<svg[^>]* id="([^"]+)"', svg)  # a random id otherwise
        pages.append(svg.replace(root.group(1), f"partimento-page-{n}") if root else svg)
    return pages


def find_musescore() -> str:
    """The MuseScore 3 program, or one clear error saying how to install it."""
    path = shutil.which(MUSESCORE)
    if path is None:
        raise PartimentoError(f"--pdf needs MuseScore 3 ({MUSESCORE}), which is not installed;"
                              f" install it with `{INSTALL_MUSESCORE}`")
    return path


_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}")


def musescore_pdf(musescore: str, musicxml: Path, target: Path) -> None:
    """The score engraved by MuseScore 3 as a PDF, its creation date fixed (same length,
    so the PDF's byte offsets hold) so that the same piece gives the same bytes."""
    with tempfile.TemporaryDirectory(prefix="partimento-musescore-") as home:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": home,
               "HOME": home, "QT_HASH_SEED": "0"}  # fonts embedded in the same order
        try:
            run = subprocess.run([musescore, "-o", str(target), str(musicxml)], env=env,
                                 capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScoreError(f"MuseScore could not engrave the PDF ({exc})") from None
    if run.returncode != 0 or not target.exists():
        said = (run.stderr or run.stdout).strip().splitlines() or ["nothing said"]
        raise ScoreError(f"MuseScore could not engrave the PDF ({said[-1]}, exit"
                         f" {run.returncode})")
    data = _PDF_DATE.sub(rb"/CreationDate (D:20000101000000", target.read_bytes())
    target.write_bytes(data)
