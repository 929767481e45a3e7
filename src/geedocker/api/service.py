"""``serve(layout, uri, idle)``: listen and answer until idle (``geedocker system service``)."""

from __future__ import annotations

import contextlib
import os
import signal

from geedocker.api.app import API_VERSION, App
from geedocker.api.server import Server, listen
from geedocker.logger import get_logger
from geedocker.store.layout import Layout

log = get_logger(__name__)


def default_uri(layout: Layout) -> str:
    """``unix:///run/geedocker/docker.sock`` as root (beside the run root otherwise)."""
    return f"unix://{layout.run / 'docker.sock'}"


def serve(layout: Layout, uri: str, idle: float = 5.0) -> None:
    """Serve the Engine API on ``uri`` until ``idle`` seconds pass without a request (0: until a signal)."""
    from geedocker.entrypoint import collect_cycles

    collect_cycles()  # a long-lived process
    layout.ensure()
    sock = listen(uri)
    server = Server(sock, App(layout), api_version=API_VERSION, idle=idle)

    def stop(signum: int, frame: object) -> None:
        server.stop()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    log.info("serving the Docker Engine API on %s", uri)
    try:
        server.serve_forever()
    finally:
        sock.close()
        if uri.startswith("unix://"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(uri[len("unix://") :])
