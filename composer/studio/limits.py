"""A request body larger than the studio takes is refused with 413 before it is read
whole, whether it says its length or arrives in chunks."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]


def refusal(limit: int) -> str:
    return f"the request is larger than the studio takes ({limit:,} bytes)"


class TooLarge(HTTPException):
    """Raised while the body is read (a framework turns other errors there into 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, refusal(limit))


class BodyLimit:
    """ASGI middleware: 413 and a JSON error for a body over `limit` bytes."""

    def __init__(self, app: Any, limit: int = 2_000_000) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge(self.limit)
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"errors": [{"kind": "too-large",
                                       "message": refusal(self.limit)}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
