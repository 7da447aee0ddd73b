"""A small HTTP proxy on loopback between backproof and SeaweedFS that injects faults.

Every request is forwarded unchanged (the Host header too, so SigV4 signatures still match),
unless a fault matches it:

- ``cut``: read half the body, then close the connection (a network cut mid-upload);
- ``status``: answer an S3 error (500 InternalError, 403 AccessDenied…) without forwarding;
- ``delay``: wait, then forward, unless the client gave up meanwhile (a slow server);
- ``corrupt``: flip one byte of the body, then forward (the server's checksum check refuses it);
- ``call``: run a callback (kill the server), then forward;
- ``truncate``: forward, then send half the answer's body and close (a download cut midway).
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

HOP_BY_HOP = {"connection", "keep-alive", "expect", "proxy-connection", "transfer-encoding", "te"}
UPSTREAM_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ProxiedRequest:
    """What a fault is matched against."""

    method: str
    path: str
    query: str

    @property
    def is_part_upload(self) -> bool:
        """Return True for UploadPart."""
        return self.method == "PUT" and "partNumber=" in self.query

    @property
    def is_object_write(self) -> bool:
        """Return True for PutObject and UploadPart (not the bucket's own requests)."""
        return self.method == "PUT" and self.path.count("/") >= 2


@dataclass
class Fault:
    """A fault applied to the requests ``matches`` selects, ``times`` times (None: always)."""

    matches: Callable[[ProxiedRequest], bool]
    action: Literal["cut", "status", "delay", "corrupt", "call", "truncate"]
    status: int = 500
    code: str = "InternalError"
    delay_seconds: float = 0.0
    callback: Callable[[], None] | None = None
    times: int | None = None
    skip: int = 0
    hits: int = 0

    def take(self, request: ProxiedRequest) -> bool:
        """Return True when this fault applies to ``request`` (and count it)."""
        if not self.matches(request):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class FaultProxy:
    """The proxy: ``start()``, point backproof at ``endpoint``, ``add()`` faults, ``stop()``."""

    upstream_port: int
    faults: list[Fault] = field(default_factory=list)
    requests: list[ProxiedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        """Return the proxy's URL."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        """Listen on a free loopback port and serve in a thread."""
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="s3-proxy", daemon=True).start()

    def stop(self) -> None:
        """Stop serving; delayed requests are released at once."""
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def add(self, fault: Fault) -> Fault:
        """Apply ``fault`` from now on; return it (its ``hits`` count what it did)."""
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self.lock:
            self.faults.clear()

    def choose(self, request: ProxiedRequest) -> Fault | None:
        """Record ``request``; return the first fault that applies to it."""
        with self.lock:
            self.requests.append(request)
            return next((fault for fault in self.faults if fault.take(request)), None)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        request = ProxiedRequest(self.command, parts.path, parts.query)
        fault = self.owner.choose(request)
        length = int(self.headers.get("Content-Length") or 0)
        if fault is not None and fault.action == "cut":
            self.rfile.read(length // 2)
            self._cut()
            return
        body = self.rfile.read(length) if length else b""
        if fault is not None and not self._apply(fault, body):
            return
        if fault is not None and fault.action == "corrupt" and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self._forward(body, truncate=fault is not None and fault.action == "truncate")

    def do_PUT(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.do_GET()

    def do_DELETE(self) -> None:
        self.do_GET()

    def do_HEAD(self) -> None:
        self.do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Stay quiet: pytest shows what matters."""

    def _apply(self, fault: Fault, body: bytes) -> bool:
        """Apply a fault before forwarding; return False when the request ends here."""
        if fault.action == "status":
            self._answer_error(fault.status, fault.code)
            return False
        if fault.action == "delay":
            self.owner.stopping.wait(fault.delay_seconds)
            if self._client_left():
                self.close_connection = True
                return False
        if fault.action == "call" and fault.callback is not None:
            fault.callback()
        return True

    def _forward(self, body: bytes, *, truncate: bool = False) -> None:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.owner.upstream_port, timeout=UPSTREAM_TIMEOUT_SECONDS
        )
        try:
            connection.putrequest(
                self.command, self.path, skip_host=True, skip_accept_encoding=True
            )
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    connection.putheader(name, value)
            connection.endheaders(body if body else None)
            answer = connection.getresponse()
            data = answer.read()
        except OSError:
            self._cut()
            return
        finally:
            connection.close()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        length = answer.getheader("Content-Length") if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(length or 0))
        self.end_headers()
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._cut()
        elif self.command != "HEAD":
            self.wfile.write(data)

    def _answer_error(self, status: int, code: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>injected by the test proxy</Message>"
            f"<Resource>{escape(self.path)}</Resource><RequestId>proxy</RequestId></Error>"
        ).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _client_left(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
