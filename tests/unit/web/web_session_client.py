"""A browser-like client of the ASGI app for the dashboard tests: it keeps cookies between
requests, as a browser does, and posts forms."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

BASE_URL = "http://127.0.0.1"


class SessionClient:
    """Calls an ASGI app in-process through httpx, keeping the cookies it is given."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Return the app's answer to ``method path`` (redirects are not followed)."""

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url=BASE_URL, cookies=self.cookies
            ) as client:
                response = await client.request(method, path, **options)
                self.cookies.update(client.cookies)
                return response

        return asyncio.run(call())

    def get(self, path: str, **options: Any) -> httpx.Response:
        """GET ``path``."""
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        """POST to ``path``."""
        return self.request("POST", path, **options)
