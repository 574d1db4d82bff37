"""The platform's one JSON error shape, for every error orders answers:

    {"error": {"code": "validation_error", "message": "...", "fields": {"lines.0.quantity": [...]}}}

FastAPI's own answers are reshaped too: request validation is 422 ``validation_error`` with
``fields``, a body that is not JSON 400 ``bad_request``, unknown routes 404, wrong
methods 405, too large bodies 413, and an unexpected exception a JSON 500 without details.

The OpenAPI document says so (:mod:`.error_docs`), and request bodies are bounded before
FastAPI reads them (:mod:`.body_limit`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from msh_common.error_models import ErrorResponse
from msh_common.errors import (
    ServiceError,
    code_for_status,
    database_unavailable,
    error_body,
)

logger = logging.getLogger(__name__)

# What each status means here, for the OpenAPI document (a route may say more).
DESCRIPTIONS = {
    400: "`bad_request`: the body is not JSON, or nested too deeply.",
    401: "`not_authenticated`, `invalid_token`: no valid access token.",
    403: "`permission_denied`: only staff may do this.",
    404: "`not_found`: no such order (or not yours).",
    413: "`payload_too_large`: the body is over ORDERS_MAX_BODY_BYTES.",
    422: "`validation_error`: invalid fields, in `error.fields`.",
    503: "`auth_unavailable`: tokens cannot be verified right now; try again shortly.",
}


def error_docs(statuses: Mapping[int, str] | Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for errors in the platform's shape: statuses with the usual
    description (:data:`DESCRIPTIONS`), or a mapping of status to a route's own description."""
    described = (
        statuses
        if isinstance(statuses, Mapping)
        else {status: DESCRIPTIONS[status] for status in statuses}
    )
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in described.items()
    }


# Raise anywhere in a request to answer with the platform's error shape.
ApiError = ServiceError


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    fields: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, fields), status_code=status_code, headers=dict(headers or {})
    )


def not_found(what: str = "order") -> ApiError:
    return ApiError(404, f"No such {what}.", code="not_found")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status_code, exc.code, exc.message, fields=exc.fields, headers=exc.headers
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    code = code_for_status(exc.status_code)
    if exc.status_code == 404:
        message = f"No route for {request.url.path}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed here."
    elif exc.status_code == 413:
        message = "The request body is too large."
    else:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _field_name(loc: Sequence[Any]) -> str:
    """("body", "lines", 0, "quantity") -> "lines.0.quantity"; ("body",) -> "body"."""
    parts = (
        list(loc[1:])
        if len(loc) > 1 and loc[0] in ("body", "query", "path", "header")
        else list(loc)
    )
    return ".".join(str(part) for part in parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "bad_request", "The request body is not valid JSON.")
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(str(error.get("msg")))
    return error_response(422, "validation_error", "The request has invalid fields.", fields=fields)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL cannot be reached (restarting, failing over)."""
    logger.warning("database unavailable: %s", type(exc).__name__)
    return await _api_error(request, database_unavailable())


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
