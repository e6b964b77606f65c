"""A tiny scripted HTTP server for unit tests of the Livy client.

Responses are queued per (method, path); each request pops the next one (the last one of a
queue marked ``repeat`` stays). ``reset=True`` closes the socket with an RST and no answer:
used only for failures a real Livy cannot produce on demand (a connection dying mid-request).
Every request is recorded (method, path with query, lower-cased headers, body text).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


@dataclass
class Received:
    method: str
    path: str  # includes the query string
    headers: dict[str, str]  # lower-cased names
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> str:
        return urlsplit(self.path).query


class FakeLivy:
    """Threaded fake server on 127.0.0.1:<free port>. Use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._sticky: dict[tuple[str, str], Reply] = {}
        self._dynamic: dict[tuple[str, str], Callable[[Received], Reply]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                rec = Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                reply = fake._next(rec)
                if reply.reset:
                    # RST instead of FIN: the client sees "connection reset" with no answer.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(reply.body, (dict, list)):
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                else:
                    payload = (reply.body or "").encode()
                    ctype = "text/plain"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        reset: bool = False,
        repeat: bool = False,
    ) -> FakeLivy:
        """Queue a reply for ``method path`` (path without query). ``repeat`` makes it sticky."""
        reply = Reply(status, body, headers or {}, reset)
        with self._lock:
            if repeat:
                self._sticky[(method, path)] = reply
            else:
                self._script[(method, path)].append(reply)
        return self

    def answer(self, method: str, path: str, respond: Callable[[Received], Reply]) -> FakeLivy:
        """Answer ``method path`` with ``respond(request)`` once its script is used up: a server
        whose state moves on (a simulated batch printing lines as a fake clock advances)."""
        with self._lock:
            self._dynamic[(method, path)] = respond
        return self

    def _next(self, rec: Received) -> Reply:
        key = (rec.method, rec.route)
        with self._lock:
            self.requests.append(rec)
            respond = self._dynamic.get(key) if not self._script[key] else None
            if respond is not None:
                return respond(rec)
            if self._script[key]:
                return self._script[key].popleft()
            if key in self._sticky:
                return self._sticky[key]
        return Reply(418, {"msg": f"unscripted request {rec.method} {rec.route}"})

    def calls(self, method: str, path: str) -> list[Received]:
        """Recorded requests for ``method path`` (path without query)."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.route == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLivy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port_url() -> str:
    """URL of a local port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
