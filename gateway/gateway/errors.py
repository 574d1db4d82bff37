"""Every error the gateway itself produces, in the platform's one shape
(:mod:`msh_common.errors`, shared with every service):

    {"error": {"code": "not_found", "message": "...", "fields": {"query.page": ["..."]}}}

Upstream error responses are passed through untouched: services emit the same shape themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from msh_common.errors import Fields, ServiceError, code_for_status, error_body


class GatewayError(ServiceError):
    """Raise to answer the current request with an error in the platform shape; the edge
    (raw ASGI) sends it itself, hence the two renderings below."""

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        """``headers`` as an ASGI header list (lower-case names)."""
        if not self.headers:
            return []
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]

    def body(self) -> bytes:
        return orjson.dumps(error_body(self.code, self.message, self.fields))


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    fields: Fields | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code or code_for_status(status_code), message, fields),
        status_code=status_code,
        headers=dict(headers) if headers else None,
    )


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return error_response(
        exc.status_code, exc.message, code=exc.code, fields=exc.fields, headers=exc.headers
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code in (204, 304):  # no body allowed; keep Starlette's behaviour
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(exc.status_code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        fields.setdefault(".".join(str(part) for part in error["loc"]), []).append(error["msg"])
    return error_response(422, "Request validation failed.", fields=fields)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware sends this, then re-raises for the edge to log.
    return error_response(500, "Internal server error.")


def install_error_handlers(app: FastAPI) -> None:
    """Make FastAPI's own 404/405/422/HTTPException/500 answers use the platform shape."""
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
