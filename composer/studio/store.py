"""Every revision the studio makes, kept on disk in its folder, one history per tab.

    FOLDER/.partimento-studio/SESSION/state.json   the history and where undo stands
    FOLDER/.partimento-studio/SESSION/r0001/       a revision: piece.json, spec.yaml,
                                                   score.musicxml, score.mid, view.json …
    FOLDER/.partimento-studio/SESSION/c0001/       an uploaded exercise and its check

A tab names its session (an id it keeps in its sessionStorage), so two tabs never mix
their histories and a reload, or a restart of the server, finds its own again.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from composer.errors import PartimentoError
from composer.io.files import atomic_path

HOME = ".partimento-studio"
SESSION = re.compile(r"[A-Za-z0-9_-]{6,64}")
REVISION = re.compile(r"[rc]\d{4,}")


class NotFound(PartimentoError):
    """A session, revision or file the studio does not have."""


class BadRequest(PartimentoError):
    """A request the studio cannot take as it is (an id of the wrong shape, nothing to undo)."""


class Store:
    def __init__(self, folder: Path) -> None:
        self.root = Path(folder).resolve() / HOME
        self._lock = threading.Lock()

    def session(self, session: str) -> Path:
        if not isinstance(session, str) or not SESSION.fullmatch(session):
            raise BadRequest("a session is 6 to 64 letters, digits, '-' or '_'")
        return self.root / session

    def new_folder(self, session: str, kind: str = "r") -> Path:
        """A fresh numbered folder for a revision (r) or a checked exercise (c)."""
        home = self.session(session)
        with self._lock:
            home.mkdir(parents=True, exist_ok=True)
            taken = [int(p.name[1:]) for p in home.iterdir()
                     if p.is_dir() and REVISION.fullmatch(p.name) and p.name[0] == kind]
            folder = home / f"{kind}{max(taken, default=0) + 1:04d}"
            folder.mkdir()
        return folder

    def state(self, session: str) -> dict[str, Any]:
        path = self.session(session) / "state.json"
        if not path.exists():
            return {"history": [], "at": -1}
        return json.loads(path.read_text(encoding="utf-8"))

    def _save(self, session: str, state: dict[str, Any]) -> None:
        with atomic_path(self.session(session) / "state.json") as tmp:
            tmp.write_text(json.dumps(state), encoding="utf-8")

    def commit(self, session: str, revision: str, meta: dict[str, Any]) -> dict[str, Any]:
        """The revision becomes the current one; what undo had stepped back over is left
        out of the history (its files stay on disk)."""
        folder = self.revision(session, revision)
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        with self._lock:
            state = self.state(session)
            history = state["history"][:state["at"] + 1] + [revision]
            state = {"history": history, "at": len(history) - 1}
            self._save(session, state)
        return state

    def step(self, session: str, by: int) -> dict[str, Any]:
        """Undo (-1) or redo (+1)."""
        with self._lock:
            state = self.state(session)
            at = state["at"] + by
            if not 0 <= at < len(state["history"]):
                raise BadRequest(f"nothing to {'undo' if by < 0 else 'redo'}")
            state["at"] = at
            self._save(session, state)
        return state

    def current(self, session: str) -> str | None:
        state = self.state(session)
        return state["history"][state["at"]] if state["at"] >= 0 else None

    def revision(self, session: str, revision: str | None = None) -> Path:
        """The folder of a revision (by default the current one) of this session."""
        name = revision or self.current(session)
        if name is None:
            raise NotFound("this session has no score yet; compose first")
        if not REVISION.fullmatch(name):
            raise BadRequest(f"'{name}' is not a revision (r0001, r0002 …)")
        folder = self.session(session) / name
        if not folder.is_dir():
            raise NotFound(f"no revision '{name}' in this session")
        return folder

    def read(self, session: str, revision: str, name: str) -> Any:
        path = self.revision(session, revision) / name
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))
