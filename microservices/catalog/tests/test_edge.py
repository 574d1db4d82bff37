"""Forwarding headers count only from TRUSTED_PROXIES (the gateway)."""

from __future__ import annotations

from flask import request

FORWARDED = {"HTTP_X_FORWARDED_FOR": "203.0.113.5", "HTTP_X_FORWARDED_PROTO": "https"}


def seen_by_the_app(app, client, peer: str) -> dict:
    seen: dict = {}

    @app.before_request
    def record() -> None:
        seen.update(
            client=request.remote_addr,
            scheme=request.scheme,
            forwarded=request.headers.get("X-Forwarded-For"),
        )

    client.get("/health", environ_base={"REMOTE_ADDR": peer, **FORWARDED})
    return seen


def test_the_gateway_names_the_client(app, client):
    assert seen_by_the_app(app, client, "127.0.0.1") == {
        "client": "203.0.113.5",
        "scheme": "https",
        "forwarded": "203.0.113.5",
    }


def test_anyone_else_cannot_claim_another_address(app, client):
    assert seen_by_the_app(app, client, "198.51.100.1") == {
        "client": "198.51.100.1",
        "scheme": "http",
        "forwarded": None,
    }
