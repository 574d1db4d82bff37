"""The platform's one JSON error shape, for every error the catalog answers:

    {"error": {"code": "validation_error", "message": "...", "fields": {"price": ["..."]}}}

Flask's own errors (unknown route, wrong method, body too large, malformed JSON) are reshaped
too, so a client never gets an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from werkzeug.exceptions import HTTPException

from msh_common.errors import (
    ServiceError,
    code_for_status,
    database_unavailable,
    error_body,
    use_error_schemas,
)

logger = logging.getLogger(__name__)

MESSAGES = {
    404: "No such resource.",
    405: "Method not allowed here.",
    413: "The request body is too large.",
}

Fields = Mapping[str, list[str]]


# Raise to answer the current request with an error in the platform shape.
ApiError = ServiceError


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, f"No such {what}.")


def invalid(fields: Fields, message: str = "The request has invalid fields.") -> ApiError:
    return ApiError(422, message, fields=fields)


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Fields | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_fields(exc: ValidationError) -> dict[str, list[str]]:
    """pydantic errors by dotted location: ``{"lines.0.quantity": ["..."]}``."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        fields.setdefault(location, []).append(message)
    return fields


def validation_error_response(exc: ValidationError) -> Response:
    """flask-openapi3's callback for invalid path, query or body."""
    return error_response(
        422, "validation_error", "The request has invalid fields.", validation_fields(exc)
    )


def without_default_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (flask-openapi3's, changed in place) without the 422 it lists for every
    operation that declares none: an array of errors, which the catalog never sends. Where
    input is validated, the route or its blueprint declares the 422 it does send (one
    :class:`~catalog.api.schemas.ErrorResponse`). The error components are the platform's
    shared ones, so the gateway's merged document has one error type."""
    use_error_schemas(document)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            content = responses.get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema", {}).get("type") == "array":
                del responses["422"]
    return document


def _as_lists(fields: Mapping[str, Sequence[str] | str] | None) -> Fields | None:
    """A field's single problem as a one-item list (the shape error_body sends)."""
    if fields is None:
        return None
    return {name: [problems] if isinstance(problems, str) else list(problems)
            for name, problems in fields.items()}  # fmt: skip


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(
            exc.status_code, exc.code, exc.message, _as_lists(exc.fields), exc.headers
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc.response, Response) and exc.response.is_json:
            return exc.response  # already ours (flask-openapi3 aborts with our 422 body)
        status = exc.code or 500
        message = MESSAGES.get(status) or exc.description or "Request failed."
        if status == 404:
            message = f"No route for {request.path}."
        headers = {}
        allowed = getattr(exc, "valid_methods", None)  # MethodNotAllowed's
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        return error_response(status, code_for_status(status), message, headers=headers)

    @app.errorhandler(ConnectionFailure)
    def _database_unavailable(exc: ConnectionFailure) -> Response:
        """MongoDB cannot be reached (restarting, electing a primary)."""
        logger.warning("database unavailable: %s", type(exc).__name__)
        return _api_error(database_unavailable())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal_error", "Something went wrong on our side.")
