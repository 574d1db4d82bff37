"""Request bodies are parsed with the platform's bounded loader (:mod:`msh_common.jsonbody`).

Flask's own ``json.loads`` recurses, so a body nested a few thousand levels deep raised
``RecursionError``, a 500. Every ``request.get_json()`` (the guards', flask-openapi3's) goes
through the app's JSON provider, so installing one here covers them all; a body nested too
deeply is a 400 ``bad_request`` that says so, like any body that is not usable JSON.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider

from msh_common.jsonbody import JsonTooDeep, loads

from .errors import ApiError


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with nesting bounded when parsing."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


class BoundedJSONRequest(Request):
    """Says *why* a body was refused when it was nested too deeply."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JsonTooDeep):
            raise ApiError(400, str(e), code="bad_request") from e
        return super().on_json_loading_failed(e)


def install_bounded_json(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    app.request_class = BoundedJSONRequest
