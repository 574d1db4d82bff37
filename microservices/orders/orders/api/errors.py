"""The platform's one JSON error shape, for every error orders answers:

    {"error": {"code": "validation_error", "message": "...", "fields": {"lines.0.quantity": [...]}}}

FastAPI's own answers are reshaped too: 422 request validation becomes 400 ``validation_error``
with ``fields``, a body that is not JSON 400 ``malformed_request``, unknown routes 404, wrong
methods 405, too large bodies 413, and an unexpected exception a JSON 500 without details.

The OpenAPI document says so (:func:`install_error_docs`): every error an operation can answer
is listed with :class:`ErrorResponse`, and FastAPI's default 422 ``HTTPValidationError``, which
this service never sends, is replaced by the 400 it does send.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from msh_common.error_models import ErrorResponse
from msh_common.errors import (
    ERROR_SCHEMA_REF,
    ServiceError,
    code_for_status,
    error_body,
    use_error_schemas,
)
from msh_common.jsonbody import JsonTooDeep, check_json_depth

logger = logging.getLogger(__name__)

# What each status means here, for the OpenAPI document (a route may say more).
DESCRIPTIONS = {
    400: "`validation_error`: invalid fields, in `error.fields`; `malformed_request`: the body "
    "is not JSON.",
    401: "`not_authenticated`, `invalid_token`: no valid access token.",
    403: "`permission_denied`: only staff may do this.",
    404: "`not_found`: no such order (or not yours).",
    413: "`payload_too_large`: the body is over ORDERS_MAX_BODY_BYTES.",
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
        return error_response(400, "malformed_request", "The request body is not valid JSON.")
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(str(error.get("msg")))
    return error_response(400, "validation_error", "The request has invalid fields.", fields=fields)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL cannot be reached (restarting, failing over): nothing was done and a retry
    shortly will do, which a 503 says and a 500 ("a bug") does not."""
    logger.warning("database unavailable: %s", type(exc).__name__)
    return error_response(
        503,
        "service_unavailable",
        "The service's database is unavailable; try again shortly.",
        headers={"Retry-After": "2"},
    )


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


_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_HTTP_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))


def install_error_docs(app: FastAPI) -> None:
    """Make the OpenAPI document list the request errors this service really answers.

    FastAPI documents a 422 ``HTTPValidationError`` for every operation with parameters or a
    body; :func:`_validation_error` answers 400 in the platform shape instead. So that 422 is
    removed, and such operations document 400; operations with a body also document 413
    (:class:`BodyLimitMiddleware`). Errors a route raises itself are in its ``responses``.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_request_errors(generate())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def document_request_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``document`` in place (see :func:`install_error_docs`); also returned."""
    use_error_schemas(document)
    schemas = document["components"]["schemas"]
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if _is_fastapi_validation_error(responses.get("422")):
                del responses["422"]
            if operation.get("parameters") or "requestBody" in operation:
                responses.setdefault("400", _error_response(400))
            if "requestBody" in operation:
                responses.setdefault("413", _error_response(413))
    for name in _FASTAPI_VALIDATION_SCHEMAS:  # HTTPValidationError refers to ValidationError
        if f'"#/components/schemas/{name}"' not in json.dumps(document):
            schemas.pop(name, None)
    return document


def _is_fastapi_validation_error(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") == "#/components/schemas/HTTPValidationError"


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
    }


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI would parse the body as JSON (no content type counts, to be safe)."""
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, or None once it passes ``max_bytes``."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)  # the client left; the route will find out
        body += message.get("body", b"")
        if len(body) > max_bytes:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class BodyLimitMiddleware:
    """The request body's limits, before FastAPI reads it: 413 for a body over ``max_bytes``
    (at once when Content-Length says so), and 400 ``malformed_request`` for a JSON body nested
    deeper than :mod:`msh_common.jsonbody` allows (FastAPI's own parser would recurse into it).
    A JSON body is read whole (it is small: at most ``max_bytes``), checked and passed on; any
    other body streams, and passing the limit mid-way answers 413 from the route."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and _is_json(headers):
            await self._checked_json(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive, self.max_bytes)
        if body is None:
            await _too_large(scope, receive, send)
            return
        try:
            check_json_depth(body)
        except JsonTooDeep as exc:
            await error_response(400, "malformed_request", str(exc))(scope, receive, send)
            return
        except ValueError:
            message = "The request body is not valid JSON."
            await error_response(400, "malformed_request", message)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        return limited_receive


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(413, "payload_too_large", "The request body is too large.")
    await response(scope, receive, send)
