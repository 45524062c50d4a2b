"""Where the studio listens: a socket bound before the server starts, so that the
command line can print the URL with the port the system chose."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from composer.errors import PartimentoError


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host and port (0: a free port), already listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connections wait from now, while the server starts
    except (OSError, OverflowError) as exc:
        sock.close()
        raise PartimentoError(f"--host {host} --port {port}: cannot listen there"
                              f" ({getattr(exc, 'strerror', None) or exc})") from None
    return sock


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve(sock: socket.socket, folder: Path, time_limit: float, workers: int) -> None:
    """Run the studio on the socket until interrupted."""
    import uvicorn  # lazy: only the studio serves

    from composer.studio.app import create_app

    app = create_app(folder, time_limit=time_limit, workers=workers)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
