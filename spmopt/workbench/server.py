"""Serve the workbench page with Bokeh's server: bound to 127.0.0.1 only, every session id signed with a key made
for this run (a page opened without the printed address is refused), and every script and style served from the
installed Bokeh package, so the page works with no network at all."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from collections.abc import Callable

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.server import Server
from bokeh.util.token import generate_session_id
from tornado.ioloop import IOLoop

from spmopt.workbench.session import Session
from spmopt.workbench.view import build

HOST = "127.0.0.1"


class Workbench:
    """A workbench server for one session; `start()` in this thread's event loop, or `start_in_thread()`."""

    def __init__(self, session: Session, port: int | None = None) -> None:
        self.session = session
        self.port = port or _free_port()
        self._secret = secrets.token_urlsafe(32)
        self._server: Server | None = None
        self._loop: IOLoop | None = None
        self.pages: list = []

    @property
    def url(self) -> str:
        """The page's address, with a signed session id: the only way in."""
        sid = generate_session_id(secret_key=self._secret.encode(), signed=True)
        return f"http://{HOST}:{self.port}/workbench?bokeh-session-id={sid}"

    def _make(self) -> Server:
        for name in ("bokeh", "tornado.access", "tornado.application"):
            logging.getLogger(name).setLevel(logging.WARNING)
        app = Application(FunctionHandler(lambda doc: self.pages.append(build(doc, self.session))))
        return Server(
            {"/workbench": app},
            address=HOST,
            port=self.port,
            allow_websocket_origin=[f"{HOST}:{self.port}"],
            session_ids="external-signed",
            secret_key=self._secret,
            sign_sessions=True,
            generate_session_ids=False,
            num_procs=1,
        )

    def run(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until stopped (Ctrl-C)."""
        self._server = self._make()
        self._server.start()
        self._loop = self._server.io_loop
        if on_ready is not None:
            self._loop.add_callback(on_ready, self.url)
        self._loop.start()

    def start_in_thread(self) -> str:
        """Serve from a background thread (tests, notebooks); returns the page's address once it listens."""
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.run(lambda _: ready.set())

        threading.Thread(target=serve, name="spmopt-workbench", daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError("the workbench server did not start within 30 s")
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._loop is not None:
            server, loop = self._server, self._loop
            loop.add_callback(lambda: (server.stop(), loop.stop()))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
