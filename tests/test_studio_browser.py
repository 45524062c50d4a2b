"""The studio end to end, in a real browser: Debian's chromium driven by Playwright, the
server started as a user starts it (`partimento studio FOLDER`, real uvicorn). Each test
saves a screenshot in its tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from studio_support import ROOT, SHORT_SPEC, notes_outside, studio_folder

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
if not Path(CHROMIUM).exists():
    pytest.skip(f"the browser tests need Debian's chromium ({CHROMIUM}: apt-get install"
                " chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need"
                               " playwright (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = studio_folder(tmp_path_factory.mktemp("browser"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "composer", "studio", str(folder),
                                "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    assert line.startswith("Partimento studio on http://127.0.0.1:"), line
    url = line.split()[3]
    yield url, folder
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server[0])
    page.wait_for_selector("body[data-ready=yes]")
    yield page
    page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
    context.close()
    assert not problems, problems


def api(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url.rstrip("/") + path, data=data,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def type_spec(page, text: str) -> None:
    """Type into the editor as a person does, key by key (flat lines: the editor keeps
    a line's indentation on the next)."""
    page.click(".CodeMirror-code")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    for line in text.splitlines():
        page.keyboard.type(line.strip())
        page.keyboard.press("Escape")  # close a completion list, if one is open
        page.keyboard.press("Enter")


def compose(page, text: str = SHORT_SPEC) -> dict:
    type_spec(page, text.replace("rules:\n  include: [common-practice]\n",
                                 "rules: {include: [common-practice]}\n"))
    with page.expect_response("**/api/compose") as answer:
        page.click("#compose")
    assert answer.value.status == 200, answer.value.text()
    page.wait_for_selector("#score svg g.note")
    return answer.value.json()


def session(page) -> str:
    return page.evaluate("sessionStorage.getItem('partimento-session')")


def click_note(page, note_id: str, **kw) -> None:
    page.click(f"[id='{note_id}'] .notehead", **kw)


def test_type_a_spec_compose_and_see_the_score(page, tmp_path):
    answer = compose(page)
    ids = page.eval_on_selector_all("#score g.note", "els => els.map(e => e.id)")
    assert sorted(ids) == sorted(n["id"] for n in answer["notes"])
    assert {n["bar"] for n in answer["notes"]} == {1, 2, 3, 4}
    numerals = page.eval_on_selector_all("#score text.numeral", "els => els.map(e =>"
                                         " e.textContent)")
    assert numerals == [s["numeral"] for s in answer["piece"]["slots"]]
    # the editor validates as the person types, after a pause: wait for its verdict
    page.wait_for_function("document.getElementById('spec-status').textContent"
                           ".startsWith('✓')")
    assert page.text_content("#spec-status").startswith("✓ 4 bars in G major")
    page.screenshot(path=str(tmp_path / "composed.png"), full_page=True)
    page.reload()  # the tab's session survives a reload
    page.wait_for_selector("#score svg g.note")
    assert page.get_attribute("#score", "data-revision") == answer["revision"]


def test_select_bars_3_and_4_and_regenerate(page, server, tmp_path):
    before = compose(page)
    in_bar = {b: next(n["id"] for n in before["notes"] if n["bar"] == b) for b in (3, 4)}
    click_note(page, in_bar[3])
    click_note(page, in_bar[4], modifiers=["Shift"])
    assert page.text_content("#selection").startswith("Bars 3–4, all voices")
    selected = page.eval_on_selector_all("#score g.note.selected", "els => els.length")
    assert selected == sum(n["bar"] in (3, 4) for n in before["notes"])
    page.screenshot(path=str(tmp_path / "selected.png"), full_page=True)
    with page.expect_response("**/api/revise") as answer:
        page.click("#regenerate")
    assert answer.value.status == 200, answer.value.text()
    page.wait_for_function("document.querySelector('#score').dataset.revision !== "
                           f"'{before['revision']}'")
    after = api(server[0], f"/api/session/{session(page)}")
    assert after["meta"]["bars"] == [3, 4]
    assert notes_outside(after["notes"], (3, 4)) == notes_outside(before["notes"], (3, 4))
    report = api(server[0], "/api/check", {"session": session(page)})
    assert report["violations"] == [] or report["counts"]["errors"] == 0
    page.screenshot(path=str(tmp_path / "regenerated.png"), full_page=True)
    page.click("#undo")
    page.wait_for_function(f"document.querySelector('#score').dataset.revision === "
                           f"'{before['revision']}'")


def test_a_yaml_error_is_shown_at_its_line(page, tmp_path):
    spec = SHORT_SPEC.replace("bars: 4", "bars: many")
    line = spec.splitlines().index("bars: many")
    type_spec(page, spec.replace("rules:\n  include: [common-practice]\n",
                                 "rules: {include: [common-practice]}\n"))
    page.wait_for_selector(".CodeMirror-lint-marker-error")
    marked = page.evaluate(f"Editor.cm.lineInfo({line}).gutterMarkers !== null")
    assert marked
    assert page.evaluate("[...Array(Editor.cm.lineCount()).keys()].filter(l =>"
                         " Editor.cm.lineInfo(l).gutterMarkers).length") == 1
    page.wait_for_function("document.getElementById('spec-status').textContent"
                           ".startsWith('line')")
    status = page.text_content("#spec-status")
    assert status.startswith(f"line {line + 1}, column 7: bars:")
    page.hover(".CodeMirror-lint-mark-error")
    page.wait_for_selector(".CodeMirror-lint-tooltip")
    page.screenshot(path=str(tmp_path / "yaml-error.png"), full_page=True)


def test_an_uploaded_exercise_shows_its_parallel_fifth(page, server, tmp_path):
    exercise = tmp_path / "exercise.musicxml"
    shutil.copy(server[1] / "exercise.musicxml", exercise)
    with page.expect_response("**/api/check") as answer:
        page.set_input_files("#exercise", str(exercise))
    result = answer.value.json()
    (fifths,) = [v for v in result["violations"] if v["rule"] == "no-parallel-fifths"]
    page.wait_for_selector("#score g.note.violation")
    marked = page.eval_on_selector_all("#score g.note.violation", "els => els.map(e => e.id)")
    assert sorted(marked) == sorted(fifths["ids"])
    page.hover(f"[id='{marked[0]}'] .notehead")
    tip = page.wait_for_selector("#tooltip:not([hidden])")
    assert "no-parallel-fifths" in tip.text_content()
    assert "independence of the parts" in tip.text_content()
    assert page.get_attribute("#downloads a[data-file='annotated.musicxml']", "href")
    page.screenshot(path=str(tmp_path / "exercise.png"), full_page=True)


def test_play_moves_the_cursor(page, tmp_path):
    compose(page)
    page.click("#play")
    page.wait_for_selector("#cursor:not([hidden])")
    first = page.evaluate("[parseFloat(cursor.style.left), Number(cursor.dataset.ms)]")
    page.wait_for_timeout(1500)
    later = page.evaluate("[parseFloat(cursor.style.left), Number(cursor.dataset.ms)]")
    assert later[1] > first[1] + 800 and later[0] > first[0]
    assert page.eval_on_selector_all("#score g.note.playing", "els => els.length") >= 1
    page.screenshot(path=str(tmp_path / "playing.png"), full_page=True)
    page.click("#play")  # stops
    assert page.is_hidden("#cursor")
