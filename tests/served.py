"""An app under a real uvicorn server on a free loopback port, for clients that speak HTTP:
the browser, the tiles client, the benchmarks. One copy of the start-up and shut-down."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, *, start_within: float = 30) -> Iterator[str]:
    """Run ``app`` under uvicorn in a daemon thread; yield its origin (``http://127.0.0.1:P``)
    once it listens, and stop it on exit.

    Raises:
        RuntimeError: uvicorn did not start within ``start_within`` seconds.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
