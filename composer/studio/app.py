"""The studio's web application: the page and its JSON API (documented in the README,
"The studio"). Composing, revising and checking run in worker processes (workers.py);
every answer is JSON, and a mistake in a request is a 4xx answer naming it, never a
traceback."""

from __future__ import annotations

import json
import random
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from composer.errors import PartimentoError
from composer.rules import RULES
from composer.spec.model import schema
from composer.studio.engraving import bar_beats
from composer.studio.limits import BodyLimit
from composer.studio.store import BadRequest, NotFound, Store
from composer.studio.workers import (
    JobTimeout,
    Pool,
    WorkerLost,
    answered,
    renamed,
    settle,
)

STATIC = Path(__file__).parent / "static"
DOWNLOADS = {"score.musicxml": "application/vnd.recordare.musicxml+xml",
             "score.mid": "audio/midi", "score.json": "application/json",
             "spec.yaml": "application/yaml", "annotated.musicxml":
             "application/vnd.recordare.musicxml+xml", "upload.musicxml":
             "application/vnd.recordare.musicxml+xml", "score.svg": "image/svg+xml"}
RULE_SET = r"^[a-z0-9][a-z0-9-]*$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComposeRequest(_Request):
    session: str
    spec: str = Field(description="the spec's YAML text")
    seed: int | None = Field(None, ge=0)
    svg: bool = True


class ReviseRequest(_Request):
    session: str
    revision: str | None = None  # by default the current one
    bars: tuple[int, int] | None = None
    voices: list[str] | None = None
    locks: list[tuple[int, float, str]] = []
    seed: int | None = Field(None, ge=0)
    plan: bool = False
    surface_only: bool = False
    svg: bool = True


class CheckRequest(_Request):
    session: str
    revision: str | None = None  # the current one unless an exercise is sent
    musicxml: str | None = Field(None, description="an exercise's MusicXML text")
    filename: str | None = None
    rules: str | None = Field(None, pattern=RULE_SET)


class ValidateRequest(_Request):
    spec: str


def create_app(folder: Path, *, time_limit: float = 30.0, workers: int = 2,
               max_body: int = 2_000_000) -> FastAPI:
    """The studio for one folder: its revisions kept in FOLDER/.partimento-studio."""
    folder = Path(folder).resolve()
    store, pool = Store(folder), Pool(folder, workers, time_limit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        pool.start()
        settle()
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="Partimento studio", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, limit=max_body)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _errors(app)

    async def work(job: str, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(pool.run, job, **kwargs))

    async def answer(session: str, revision: str | None = None,
                     made: dict[str, Any] | None = None) -> JSONResponse:
        """A revision as every endpoint returns it; `made`: its view, piece and meta as the
        worker just made them (not read back from the files it wrote)."""
        name = revision or store.current(session)
        target = store.revision(session, name)
        made = made or {}
        view = made.get("view") or store.read(session, target.name, "view.json")
        if view is None:
            view = await work("render", target=str(target))
        piece = made.get("piece") or store.read(session, target.name, "piece.json")
        meta = made.get("meta") or store.read(session, target.name, "meta.json") or {}
        state = store.state(session)
        at = state["history"].index(target.name) if target.name in state["history"] else -1
        return _json({"session": session, "revision": target.name, "piece": piece,
                "svg": view["pages"], "notes": view["notes"], "plan": bar_beats(piece),
                "phrases": piece.get("phrases", []), "warnings": meta.get("warnings", []),
                "meta": meta, "spec": (target / "spec.yaml").read_text(encoding="utf-8"),
                "undo": at > 0, "redo": 0 <= at < len(state["history"]) - 1,
                "files": _files(session, target), "errors": []})

    async def keep(session: str, target: Path, meta: dict[str, Any], svg: bool,
                   job: str, **kwargs: Any) -> JSONResponse:
        try:
            result = await work(job, target=str(target), svg=svg, **kwargs)
        except BaseException:
            _discard(target)
            raise
        meta = {**meta, "warnings": result["warnings"]}
        store.commit(session, target.name, meta)
        if svg:
            return await answer(session, target.name, {**result, "meta": meta})
        return _json({"session": session, "revision": target.name, "piece": result["piece"],
                      "svg": None, "notes": None, "warnings": result["warnings"],
                      "errors": []})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/rules")
    async def rules() -> list[dict[str, Any]]:
        return [{"id": r.id, "summary": r.summary, "explanation": r.explanation,
                 "severity": r.severity, "scope": str(r.scope),
                 "params": [{"name": p.name, "kind": p.kind, "default": _plain(p.default),
                             "doc": p.doc} for p in r.params]} for r in RULES.values()]

    @app.get("/api/schema")
    async def spec_schema() -> dict[str, Any]:
        return schema()

    @app.get("/api/files")
    async def files() -> list[dict[str, str]]:
        """The specs in the studio's folder, to open in the editor."""
        return [{"name": p.name, "yaml": p.read_text(encoding="utf-8")}
                for p in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
                if p.resolve().is_relative_to(folder) and p.stat().st_size < max_body]

    @app.post("/api/validate")
    async def validate(body: ValidateRequest) -> dict[str, Any]:
        return {"spec": await work("validate", text=body.spec, folder=str(folder)),
                "errors": []}

    @app.post("/api/compose")
    async def compose(body: ComposeRequest) -> JSONResponse:
        target = store.new_folder(body.session)
        meta = {"kind": "compose", "seed": body.seed}
        return await keep(body.session, target, meta, body.svg, "compose", text=body.spec,
                          seed=body.seed, folder=str(folder))

    @app.post("/api/revise")
    async def revise(body: ReviseRequest) -> JSONResponse:
        base = store.revision(body.session, body.revision)
        piece = store.read(body.session, base.name, "piece.json")
        seed = body.seed if body.seed is not None else random.randrange(2**31)
        options = {"bars": body.bars, "voices": body.voices, "seed": seed,
                   "locks": [tuple(lock) for lock in body.locks], "plan": body.plan,
                   "surface_only": body.surface_only}
        target = store.new_folder(body.session)
        meta = {"kind": "revise", "base": base.name, **options}
        return await keep(body.session, target, meta, body.svg, "revise", piece=piece,
                          options=options, folder=str(folder))

    @app.post("/api/check")
    async def check(body: CheckRequest) -> dict[str, Any]:
        if body.musicxml is not None:
            target = store.new_folder(body.session, "c")
            score = target / "upload.musicxml"
            score.write_text(body.musicxml, encoding="utf-8")
            (target / "meta.json").write_text(json.dumps({"kind": "check", "filename":
                                                          body.filename}), encoding="utf-8")
        else:
            target = store.revision(body.session, body.revision)
            if not (target / "score.musicxml").exists():
                await work("render", target=str(target), musicxml=True)
            score = target / "score.musicxml"
        try:
            result = await work("check", score=str(score),
                                target=str(target / "annotated.musicxml"), rules=body.rules)
        except PartimentoError as exc:
            if body.musicxml is None:
                raise
            raise renamed(exc, str(score), body.filename or "the uploaded exercise") from None
        view = result.pop("view")
        return {"session": body.session, "revision": target.name, **result,
                "svg": view["pages"], "notes": view["notes"],
                "files": _files(body.session, target), "errors": []}

    @app.get("/api/session/{session}")
    async def current(session: str) -> JSONResponse:
        if store.current(session) is None:
            return _json({"session": session, "revision": None, "errors": []})
        return await answer(session)

    @app.post("/api/session/{session}/undo")
    async def undo(session: str) -> JSONResponse:
        store.step(session, -1)
        return await answer(session)

    @app.post("/api/session/{session}/redo")
    async def redo(session: str) -> JSONResponse:
        store.step(session, +1)
        return await answer(session)

    @app.get("/api/session/{session}/{revision}")
    async def one(session: str, revision: str) -> JSONResponse:
        return await answer(session, revision)

    @app.get("/api/session/{session}/{revision}/{name}")
    async def download(session: str, revision: str, name: str) -> Response:
        target = store.revision(session, revision)
        if name not in DOWNLOADS:
            raise NotFound(f"no file '{name}' (the files: {', '.join(DOWNLOADS)})")
        if name == "score.svg" and (target / "piece.pickle").exists():
            await work("score_svg", target=str(target))
        elif name == "score.svg":  # an uploaded exercise: its engraving's first page
            view = store.read(session, revision, "view.json") or {"pages": []}
            if view["pages"]:
                return Response(view["pages"][0], media_type=DOWNLOADS[name])
        if not (target / name).exists() and (target / "piece.pickle").exists():
            await work("render", target=str(target), files=name in ("score.mid", "score.json"),
                       musicxml=name == "score.musicxml")
        if not (target / name).exists():
            raise NotFound(f"no file '{name}' in {revision} (annotated.musicxml: check first)")
        return FileResponse(target / name, media_type=DOWNLOADS[name],
                            filename=f"partimento-{revision}-{name}")

    return app


def _json(data: dict[str, Any]) -> JSONResponse:
    """An answer of plain JSON data (what the workers and the files hold) sent as it is:
    FastAPI's encoder would walk every note and SVG page of it again for nothing."""
    return JSONResponse(data)


def _files(session: str, target: Path) -> dict[str, str]:
    """Where each file of a revision (or of a checked exercise) is downloaded."""
    names = (("upload.musicxml", "annotated.musicxml", "score.svg")
             if target.name.startswith("c") else
             ("score.musicxml", "score.mid", "score.svg", "score.json", "spec.yaml",
              "annotated.musicxml"))
    return {n: f"/api/session/{session}/{target.name}/{n}" for n in names}


def _discard(target: Path) -> None:
    """A revision that failed leaves no folder behind."""
    for path in sorted(target.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    target.rmdir()


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


STATUS = {NotFound: 404, BadRequest: 400, JobTimeout: 422, WorkerLost: 503}


def _errors(app: FastAPI) -> None:
    """Every error as JSON: {"errors": [{"kind", "message", and where it is}]}."""

    @app.exception_handler(PartimentoError)
    async def mistake(_: Request, exc: PartimentoError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 422)
        return JSONResponse({"errors": [answered(exc)]}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http(_: Request, exc: HTTPException) -> JSONResponse:
        kind = "too-large" if exc.status_code == 413 else "http"
        return JSONResponse({"errors": [{"kind": kind, "message": str(exc.detail)}]},
                            status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"kind": "request", "field": ".".join(str(p) for p in e["loc"][1:]) or None,
                   "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def bug(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"errors": [{"kind": "bug", "message": "the studio failed on this"
                                         " request (the server's log says where)"}]},
                            status_code=500)
