"""PyMySQL connections whose opportunistic TLS context is made once per process.

With no TLS option given, PyMySQL prefers TLS: it encrypts when the server offers it and goes on
in the clear when it does not, verifying no certificate either way. For that it builds a new
``ssl.create_default_context()`` at every connection, which loads the system's CA certificates
(about 40 ms of CPU each time, for certificates it then never checks). A verify opens a dozen
connections and a backup's start waits for one: ``Connection`` here takes the same context,
built the same way, once.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import pymysql.connections


class Connection(pymysql.connections.Connection):  # type: ignore[misc] # PyMySQL is untyped
    """PyMySQL's connection, the preferred-TLS context shared; any TLS option given by the
    caller is handled by PyMySQL as before."""

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if sslp:
            context: ssl.SSLContext = super()._create_ssl_ctx(sslp)
            return context
        return preferred_context()


@cache
def preferred_context() -> ssl.SSLContext:
    """Return the process's context for preferred TLS: PyMySQL's, made once (no certificate
    or host name checked, as PyMySQL does without a CA)."""
    context = ssl.create_default_context()
    # PyMySQL clears it too: the self-signed certificates MySQL makes fail it.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
