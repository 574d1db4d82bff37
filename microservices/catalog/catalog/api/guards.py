"""Checks every request of a blueprint passes before validation and the view run: who may
call it, then whether its body is a JSON object. Running them before flask-openapi3 validates
the body means an anonymous caller learns nothing about the schema of a staff endpoint."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

from .auth import require_staff, require_user
from .errors import ApiError

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_json_body() -> None:
    """A body, when there is one, is a JSON object sent as ``application/json``."""
    if request.method not in WRITE_METHODS:
        return
    has_body = (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )
    if not has_body:
        return
    if not request.is_json:
        raise ApiError(415, "Send the body as application/json.")
    try:
        body = request.get_json()
    except BadRequest as exc:
        raise ApiError(400, "The body is not valid JSON.", code="bad_request") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.", code="validation_error")


def staff_writes() -> None:
    """Reads are public; writes are for staff, with a JSON body."""
    staff_writes_any_body()
    check_json_body()


def staff_writes_any_body() -> None:
    """Reads are public; writes are for staff, whatever their body (image uploads)."""
    if request.method in WRITE_METHODS:
        require_staff()


def users_only() -> None:
    """Any authenticated user."""
    require_user()
    check_json_body()
