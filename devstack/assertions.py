"""What every suite asserts of an error answer: the platform's one shape,
``{"error": {"code", "message", ["fields"]}}``, with the one right status."""

from __future__ import annotations

import json
from typing import Any


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The ``error`` object of ``response`` (httpx's, Flask's or Django's test response), after
    checking its status, JSON content type, message and, when given, its code."""
    text = _text(response)
    assert response.status_code == status, text
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), content_type
    error: dict[str, Any] = json.loads(text)["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def _text(response: Any) -> str:
    if hasattr(response, "get_data"):  # Flask / Werkzeug
        return str(response.get_data(as_text=True))
    if hasattr(response, "text"):  # httpx, Starlette's TestClient
        return str(response.text)
    return bytes(response.content).decode()  # Django
