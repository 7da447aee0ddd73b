"""Secrets masked by value as a user sees the output: echoed by a webhook receiver, or part of
an error about a server that is down."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli_process import run_backproof

WEBHOOK_KEY = "XyzWebhookKey1234567890"
PASSWORD = "p@ssSECRET"
CONFIG = """\
[state]
url = "sqlite:///state/state.db"

[[targets]]
name = "crm"
database = "{database}"

[[destinations]]
name = "local"
url = "file:backups"

[alerts.slack]
webhook_url = "{webhook}"
"""


class EchoingReceiver(BaseHTTPRequestHandler):
    """Answers every POST with 500 and a body quoting the URL it was called at."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = f"no such hook: http://{self.headers['Host']}{self.path}".encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Stay quiet."""


@pytest.fixture
def receiver() -> Iterator[str]:
    """Return the webhook URL of an echoing receiver on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/{WEBHOOK_KEY}"
    server.shutdown()
    server.server_close()


def run(
    tmp_path: Path, database: str, webhook: str, *args: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "backproof.toml"
    config.write_text(CONFIG.format(database=database, webhook=webhook), encoding="utf-8")
    return run_backproof("--config", str(config), *args, cwd=tmp_path, timeout=60)


def test_webhook_url_echoed_by_the_receiver_is_masked(tmp_path: Path, receiver: str) -> None:
    probe = run(tmp_path, "sqlite:///crm.db", receiver, "alert", "test", "--json")

    assert probe.returncode == 1
    assert "HTTP 500" in probe.stdout
    assert WEBHOOK_KEY not in probe.stdout + probe.stderr


def test_password_of_a_server_that_is_down_never_shows(tmp_path: Path, receiver: str) -> None:
    database = "mysql://root:p%40ssSECRET@127.0.0.1:1/crm"

    backup = run(tmp_path, database, receiver, "backup")
    activities = run(tmp_path, database, receiver, "activities", "--json")

    assert backup.returncode == 1
    assert len(backup.stderr.strip().splitlines()) >= 1
    rows = json.loads(activities.stdout)["activities"]
    assert rows[0]["status"] == "failed"
    everything = backup.stdout + backup.stderr + activities.stdout + activities.stderr
    assert "SECRET" not in everything
    assert "p%40ss" not in everything
    assert WEBHOOK_KEY not in everything


def test_unencoded_at_in_the_password_is_refused_without_showing_it(
    tmp_path: Path, receiver: str
) -> None:
    backup = run(tmp_path, f"mysql://root:{PASSWORD}@127.0.0.1:1/crm", receiver, "backup")

    assert backup.returncode == 2
    assert "percent-encode it as %40" in backup.stderr
    assert "SECRET" not in backup.stderr


def test_unreadable_password_file_stops_backup_in_one_line_but_not_list(
    tmp_path: Path, receiver: str
) -> None:
    config = tmp_path / "backproof.toml"
    text = CONFIG.format(database="postgresql://backproof@127.0.0.1:1/crm", webhook=receiver)
    config.write_text(
        text.replace('name = "crm"\n', 'name = "crm"\npassword_file = "gone/db-password"\n', 1),
        encoding="utf-8",
    )

    listed = run_backproof("--config", str(config), "list", cwd=tmp_path, timeout=60)
    report = run_backproof("--config", str(config), "report", cwd=tmp_path, timeout=60)
    backup = run_backproof("--config", str(config), "backup", cwd=tmp_path, timeout=60)

    assert listed.returncode == 0, listed.stderr
    assert report.returncode == 0, report.stderr
    assert backup.returncode == 2
    [line] = backup.stderr.strip().splitlines()
    assert f"cannot read a password from {tmp_path / 'gone' / 'db-password'}" in line
