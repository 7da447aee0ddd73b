"""Real receivers on loopback for the alert tests: a Slack-compatible webhook and an SMTP server.

The webhook receiver is a threaded HTTP server that records every request and answers as the
test says: 200, 500, a redirect, or not at all (it hangs until the test ends).
The SMTP server is aiosmtpd, plain, with STARTTLS, or with implicit TLS, optionally with login.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope

HANG_LIMIT_SECONDS = 60.0
LOGIN = ("ops", "smtp-secret")


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the webhook receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A Slack-compatible webhook on 127.0.0.1 that answers ``status`` (or hangs)."""

    status: int = 200
    hang: bool = False
    location: str | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    ReceivedRequest("POST", self.path, dict(self.headers.items()), body)
                )
                if receiver.hang:
                    receiver.release.wait(HANG_LIMIT_SECONDS)
                    return
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                answer = b"ok" if receiver.status < 300 else b"invalid_payload"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, path: str = "/services/T000/B000/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def texts(self) -> list[str]:
        """Return the ``text`` of every Slack payload received, in order."""
        import json  # noqa: PLC0415

        return [json.loads(request.body)["text"] for request in self.requests]


@dataclass
class MailHandler:
    """Keeps every message the SMTP server accepts."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted"


def check_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accept only LOGIN's user and password."""
    accepted = (auth_data.login, auth_data.password) == (
        LOGIN[0].encode(),
        LOGIN[1].encode(),
    )
    # handled=False: aiosmtpd then answers 535 itself (its default waits for us to answer).
    return AuthResult(success=accepted, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_smtp(
    handler: MailHandler,
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    with_login: bool = False,
) -> Controller:
    """Start aiosmtpd on 127.0.0.1: plain, STARTTLS or implicit TLS, with or without login."""
    options: dict[str, Any] = {}
    if starttls is not None:
        options.update(tls_context=starttls, require_starttls=True)
    if implicit_tls is not None:
        options.update(ssl_context=implicit_tls)
    if with_login:
        # Implicit TLS is invisible to aiosmtpd's STARTTLS bookkeeping, so it must not insist.
        options.update(authenticator=check_login, auth_require_tls=implicit_tls is None)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Make a self-signed certificate for 127.0.0.1 with openssl; return (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
