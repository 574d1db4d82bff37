"""The gateway's own endpoints answer errors in the platform's JSON shape too (in-process, no
upstream needed)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import HTTPException

from gateway.app import create_app
from gateway.edge import Gateway
from gateway.settings import Settings


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    for name in ("CATALOG_URL", "ORDERS_URL"):  # the shipped route table names them
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    # create_app configures process-wide logging; undo that for the rest of the session.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    gateway = create_app(Settings())
    app = gateway.api
    gateway.local_paths |= {"/typed", "/teapot", "/boom"}

    @app.get("/typed")
    async def typed(limit: int) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "Short and stout.")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    yield gateway
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def _get(app: Gateway, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path)

    return asyncio.run(get())


@pytest.mark.parametrize("path", ["/typed", "/typed?limit=many"])
def test_validation_errors(app, path):
    response = _get(app, path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"query.limit"}


def test_http_exceptions(app):
    response = _get(app, "/teapot")
    assert response.status_code == 418
    assert response.json() == {"error": {"code": "im_a_teapot", "message": "Short and stout."}}


def test_unexpected_exceptions_are_a_json_500_with_request_id(app):
    response = _get(app, "/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Internal server error."}
    }
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert "kaboom" not in response.text
