"""The studio's JSON API (composer/studio), through FastAPI's TestClient with the real
worker processes, verovio and the checker: what it returns, what it keeps on disk, and
what it refuses (413, files outside the folder, a compose over the time limit, two
sessions kept apart, 4xx JSON for every bad request)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import warnings

import pytest
from studio_support import (
    ROOT,
    SHORT_SPEC,
    notes_outside,
    studio_folder,
)

with warnings.catch_warnings():  # starlette's note about its HTTP client, not ours
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from composer.studio.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return studio_folder(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(folder):
    with TestClient(create_app(folder, time_limit=120)) as c:
        yield c


@pytest.fixture(scope="module")
def composed(client):
    r = client.post("/api/compose", json={"session": "tab-compose", "spec": SHORT_SPEC})
    assert r.status_code == 200, r.text
    return r.json()


def test_compose_returns_the_piece_the_svg_and_the_plan(composed):
    piece, notes = composed["piece"], composed["notes"]
    assert piece["format"] == "partimento-piece" and piece["key"] == "G major"
    assert composed["errors"] == [] and composed["revision"] == "r0001"
    svg = "".join(composed["svg"])
    assert svg.startswith("<svg") or svg.lstrip().startswith("<?xml")
    assert all(f'id="{n["id"]}"' in svg for n in notes)  # the index names the engraving
    assert {n["bar"] for n in notes} == {1, 2, 3, 4}
    assert {n["staff"] for n in notes} == {1, 2, 3, 4}  # a staff per voice
    # Under the staves: a numeral per slot of the plan, each on a bass note's onset.
    assert [p["numeral"] for p in composed["plan"]] == [s["numeral"] for s in piece["slots"]]
    bass_onsets = {n["on"] for n in notes if n["staff"] == 4}
    assert all(p["on"] in bass_onsets for p in composed["plan"])
    # The last chord is the tonic: the bass's last note is a G.
    last = max((n for n in notes if n["staff"] == 4), key=lambda n: n["on"])
    assert last["midi"] % 12 == 7


def test_the_composed_score_breaks_no_hard_rule(client, composed):
    r = client.post("/api/check", json={"session": "tab-compose"})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["errors"] == 0


def test_downloads_are_the_written_files(client, composed):
    files = composed["files"]
    xml = client.get(files["score.musicxml"])
    assert xml.status_code == 200 and b"<score-partwise" in xml.content
    midi = client.get(files["score.mid"])
    assert midi.status_code == 200 and midi.content.startswith(b"MThd")
    assert client.get(files["spec.yaml"]).text == SHORT_SPEC
    svg = client.get(files["score.svg"]).text  # the whole score, the systems on one page
    assert svg.count('class="note"') == sum(p.count('class="note"') for p in composed["svg"])
    assert svg.count('class="system"') == len(composed["svg"])
    assert json.loads(client.get(files["score.json"]).text) == composed["piece"]


def test_a_spec_error_names_its_line_and_column(client):
    spec = SHORT_SPEC.replace("bars: 4", "bars: many")
    r = client.post("/api/compose", json={"session": "tab-errors", "spec": spec})
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["kind"] == "spec" and err["field"] == "bars"
    assert err["line"] == spec.splitlines().index("bars: many") + 1 and err["column"] == 7
    r = client.post("/api/validate", json={"spec": spec})
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == err["line"]
    ok = client.post("/api/validate", json={"spec": SHORT_SPEC})
    assert ok.status_code == 200 and ok.json()["spec"]["bars"] == 4
    assert client.get("/api/session/tab-errors").json()["revision"] is None  # nothing kept


def test_rules_that_cannot_hold_are_named(client, folder):
    spec = (folder / "unsatisfiable.yaml").read_text()
    r = client.post("/api/compose", json={"session": "tab-errors", "spec": spec})
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["kind"] == "unsatisfiable" and "voice-range" in err["rules"]


def test_an_exercise_with_parallel_fifths_is_marked_on_its_notes(client, folder):
    text = (folder / "exercise.musicxml").read_text()
    r = client.post("/api/check", json={"session": "tab-exercise", "musicxml": text,
                                        "filename": "exercise.musicxml"})
    assert r.status_code == 200, r.text
    answer = r.json()
    (fifths,) = [v for v in answer["violations"] if v["rule"] == "no-parallel-fifths"]
    assert fifths["bar"] == 2 and fifths["voices"] == ["soprano", "bass"]
    assert "independence" in fifths["explanation"]
    index = {n["id"]: n for n in answer["notes"]}
    marked = [index[i] for i in fifths["ids"]]
    assert len(marked) == 4 and all(f'id="{i}"' in answer["svg"][0] for i in fifths["ids"])
    by_onset: dict[float, list[int]] = {}
    for n in marked:
        by_onset.setdefault(n["on"], []).append(n["midi"])
    assert len(by_onset) == 2  # two chords, soprano and bass a fifth (or twelfth) apart
    assert all(len(p) == 2 and (max(p) - min(p)) % 12 == 7 for p in by_onset.values())
    annotated = client.get(answer["files"]["annotated.musicxml"])
    assert annotated.status_code == 200 and b'color="#D00000"' in annotated.content


def test_a_body_over_the_limit_gets_413(client):
    big = json.dumps({"session": "tab-big", "spec": "x" * 2_100_000})
    r = client.post("/api/compose", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["errors"][0]["kind"] == "too-large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(30):
            yield b" " * 100_000

    r = client.post("/api/compose", content=chunks(), headers={"content-type":
                                                              "application/json"})
    assert r.status_code == 413


def test_no_file_outside_the_folder_is_read(client, folder):
    outside = folder.parent / "outside"
    outside.mkdir()
    (outside / "tune.musicxml").write_text((folder / "chorale-soprano.musicxml").read_text())
    (outside / "rules.yaml").write_text("name: outside\nparts: 4\nrules: []\n")
    (folder / "link.musicxml").symlink_to(outside / "tune.musicxml")
    melody = (folder / "chorale-melody.yaml").read_text()
    for name in ("../outside/tune.musicxml", str(outside / "tune.musicxml"), "link.musicxml"):
        spec = melody.replace("file: chorale-soprano.musicxml", f"file: {name}")
        r = client.post("/api/compose", json={"session": "tab-escape", "spec": spec})
        assert r.status_code == 422, name
        (err,) = r.json()["errors"]
        line = spec.splitlines().index(f"  file: {name}") + 1
        assert "outside the spec's folder" in err["message"] and err["line"] == line, err
    for name in ("../outside/rules.yaml", str(outside / "rules.yaml")):
        spec = SHORT_SPEC.replace("[common-practice]", f"[common-practice, '{name}']")
        r = client.post("/api/validate", json={"spec": spec})
        assert r.status_code == 422 and "outside the studio's folder" in r.text, name
    (folder / "mine.yaml").write_text("name: mine\nparts: 4\ninclude: [../outside/rules.yaml]\n")
    spec = SHORT_SPEC.replace("[common-practice]", "[common-practice, mine.yaml]")
    r = client.post("/api/validate", json={"spec": spec})
    assert r.status_code == 422 and r.json()["errors"][0]["file"].endswith("mine.yaml")


def test_two_sessions_keep_their_own_revisions(client):
    a, b = "tab-a-12345", "tab-b-12345"
    first = client.post("/api/compose", json={"session": a, "spec": SHORT_SPEC}).json()
    other = client.post("/api/compose", json={"session": b, "spec": SHORT_SPEC, "seed": 7})
    second = client.post("/api/compose", json={"session": a, "spec": SHORT_SPEC, "seed": 5})
    assert other.json()["revision"] == "r0001" and second.json()["revision"] == "r0002"
    assert client.get(f"/api/session/{b}").json()["piece"]["seed"] == 7
    back = client.post(f"/api/session/{a}/undo").json()
    assert back["revision"] == "r0001" and back["redo"] and back["piece"] == first["piece"]
    assert client.get(f"/api/session/{b}").json()["revision"] == "r0001"
    assert client.get(f"/api/session/{b}/r0002").status_code == 404
    forward = client.post(f"/api/session/{a}/redo").json()
    assert forward["revision"] == "r0002" and forward["piece"]["seed"] == 5
    assert client.post(f"/api/session/{a}/redo").status_code == 400


def test_a_restarted_studio_finds_every_revision(folder, composed):
    with TestClient(create_app(folder, workers=1)) as again:
        r = again.get("/api/session/tab-compose")
        assert r.status_code == 200 and r.json()["piece"] == composed["piece"]
        assert r.json()["svg"] == composed["svg"]


def test_bad_requests_get_4xx_json(client):
    bad = [("post", "/api/compose", {"session": "x", "spec": SHORT_SPEC}, 400),
           ("post", "/api/compose", {"session": "../../etc", "spec": SHORT_SPEC}, 400),
           ("post", "/api/compose", {"spec": SHORT_SPEC}, 422),
           ("post", "/api/compose", {"session": "tab-bad-1", "spec": 5}, 422),
           ("post", "/api/compose", {"session": "tab-bad-1", "spec": "", "extra": 1}, 422),
           ("post", "/api/compose", {"session": "tab-bad-1", "spec": "[1, 2"}, 422),
           ("post", "/api/revise", {"session": "tab-bad-1", "bars": [3, 4]}, 404),
           ("post", "/api/revise", {"session": "tab-bad-1", "bars": "3-4"}, 422),
           ("post", "/api/check", {"session": "tab-bad-1"}, 404),
           ("post", "/api/check", {"session": "tab-bad-1", "musicxml": "<not music"}, 422),
           ("post", "/api/check", {"session": "tab-bad-1", "rules": "../x"}, 422),
           ("post", "/api/session/tab-bad-1/undo", None, 400),
           ("get", "/api/session/tab-bad-1/r0009", None, 404),
           ("get", "/api/session/tab-bad-1/nonsense", None, 400),
           ("get", "/api/session/tab-compose/r0001/passwd", None, 404),
           ("get", "/api/nowhere", None, 404)]
    for method, url, body, status in bad:
        r = getattr(client, method)(url, **({"json": body} if body is not None else {}))
        assert r.status_code == status, (url, body, r.text)
        assert r.headers["content-type"] == "application/json"
        assert r.json()["errors"][0]["message"] and "Traceback" not in r.text
    r = client.post("/api/compose", content=b"{not json", headers={"content-type":
                                                                  "application/json"})
    assert r.status_code == 422 and r.json()["errors"]


def test_a_broken_upload_is_named_as_the_user_named_it(client):
    """The message names the file the teacher uploaded, not the studio's own copy of it
    in its session folder."""
    for text, words in (("<not music", "not a valid MusicXML file"),
                        ("", "the file is empty")):
        r = client.post("/api/check", json={"session": "tab-upload-1", "musicxml": text,
                                            "filename": "anna-week3.musicxml"})
        message = r.json()["errors"][0]["message"]
        assert r.status_code == 422 and message.startswith(f"anna-week3.musicxml: {words}")
        assert ".partimento-studio" not in message and "upload.musicxml" not in message


def test_rules_and_schema(client):
    rules = client.get("/api/rules").json()
    fifths = next(r for r in rules if r["id"] == "no-parallel-fifths")
    assert fifths["severity"] == "error" and fifths["explanation"]
    schema = client.get("/api/schema").json()
    assert {"key", "bars", "melody", "rules"} <= set(schema["properties"])


def test_a_compose_over_the_time_limit_is_stopped_while_the_server_answers(tmp_path):
    folder = studio_folder(tmp_path)
    long_spec = SHORT_SPEC.replace("bars: 4", "bars: 96")
    with TestClient(create_app(folder, time_limit=1.0)) as c:
        assert c.post("/api/validate", json={"spec": SHORT_SPEC}).status_code == 200  # warm
        answer: dict = {}

        def compose() -> None:
            started = time.perf_counter()
            answer["r"] = c.post("/api/compose", json={"session": "tab-slow",
                                                       "spec": long_spec})
            answer["s"] = time.perf_counter() - started

        worker = threading.Thread(target=compose)
        worker.start()
        time.sleep(0.3)
        started = time.perf_counter()
        assert c.get("/api/rules").status_code == 200
        assert time.perf_counter() - started < 0.5  # answered while composing
        worker.join(60)
        r = answer["r"]
        assert r.status_code == 422 and answer["s"] < 10
        (err,) = r.json()["errors"]
        assert err["kind"] == "timeout" and "1 s" in err["message"]
        assert c.get("/api/session/tab-slow").json()["revision"] is None
        ok = c.post("/api/compose", json={"session": "tab-slow", "spec": SHORT_SPEC})
        assert ok.status_code == 200, ok.text  # a fresh worker took the stopped one's place


def test_revise_keeps_every_other_bar(client, composed):
    r = client.post("/api/revise", json={"session": "tab-compose", "bars": [2, 3], "seed": 4})
    assert r.status_code == 200, r.text
    new = r.json()
    assert notes_outside(new["notes"], (2, 3)) == notes_outside(composed["notes"], (2, 3))
    assert new["meta"]["base"] == composed["revision"] and new["undo"]
    check = client.post("/api/check", json={"session": "tab-compose"}).json()
    assert check["counts"]["errors"] == 0
    quick = client.post("/api/revise", json={"session": "tab-compose", "bars": [2, 3],
                                             "svg": False}).json()
    assert quick["svg"] is None and quick["piece"]["format"] == "partimento-piece"
    later = client.get(f"/api/session/tab-compose/{quick['revision']}").json()
    assert notes_outside(later["notes"], (2, 3)) == notes_outside(composed["notes"], (2, 3))


def test_the_command_prints_its_url_and_warns_off_loopback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "composer", "studio"]
    missing = subprocess.run([*run, str(tmp_path / "nowhere")], capture_output=True,
                             text=True, env=env, timeout=60)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert "no such folder" in missing.stderr
    server = subprocess.Popen([*run, str(tmp_path), "--host", "0.0.0.0", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        line = server.stdout.readline()
        assert "warning: listening on 0.0.0.0" in server.stderr.readline()
        port = int(line.split("http://0.0.0.0:")[1].split("/")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            assert b"Partimento studio" in page.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/codemirror/"
                                    "LICENSE", timeout=30) as licence:
            assert b"Permission is hereby granted" in licence.read()
    finally:
        server.terminate()
        server.wait(30)
