"""The platform's one JSON error shape, for every error mainapp answers outside the admin:

{"error": {"code": "validation_error", "message": "...", "fields": {"email": ["..."]}}}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from msh_common.errors import INVALID_TOKEN, error_body

logger = logging.getLogger(__name__)

CODES = {
    exceptions.ParseError: "bad_request",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
}


def json_error(status_code: int, code: str, message: str, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body(code, message, **kwargs), status=status_code)


# The database cannot be reached (restarting, failing over): the request did nothing, a retry
# shortly will do; a 503 says so, where a 500 would say "bug".
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_DOWN_MESSAGE = "The service's database is unavailable; try again shortly."
DATABASE_RETRY_AFTER = "2"
REDIS_DOWN_MESSAGE = "The session store is unavailable; nothing was changed, try again shortly."


def database_unavailable() -> JsonResponse:
    response = json_error(503, "service_unavailable", DATABASE_DOWN_MESSAGE)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def _flatten(detail: Any) -> Any:
    """DRF ErrorDetail structures to plain lists of strings per field."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [
            str(item) if not isinstance(item, dict | list) else _flatten(item) for item in detail
        ]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped: keep its status and headers (e.g. Retry-After), change the body."""
    unavailable = _infrastructure_error(exc)
    if unavailable is not None:
        return unavailable
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler answers (also JSON, see handler500)
    code = next(
        (name for cls, name in CODES.items() if isinstance(exc, cls)),
        getattr(exc, "default_code", "error"),
    )
    if isinstance(exc, exceptions.ValidationError):
        # 422, as every service: the request was understood, its fields are refused (DRF's 400
        # stays for a body that is not usable JSON, ParseError).
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        response.data = _validation_body(code, exc.detail)
        return response
    response.data = _error_body(exc, code)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _infrastructure_error(exc: Exception) -> Response | None:
    """413 for a body too large to parse; 503 while the database or Redis is down (for Redis:
    a revocation could not be recorded, so nothing changed)."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DATABASE_DOWN):
        logger.warning("database unavailable: %s", exc)
        message = DATABASE_DOWN_MESSAGE
    elif isinstance(exc, redis.RedisError):
        logger.warning("redis unavailable: %s", exc)
        message = REDIS_DOWN_MESSAGE
    else:
        return None
    return Response(
        error_body("service_unavailable", message),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": DATABASE_RETRY_AFTER},
    )


def _validation_body(code: str, detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        fields = _flatten(detail)
        non_field = fields.pop("non_field_errors", None)
        message = non_field[0] if non_field else "The request has invalid fields."
        return error_body(code, message, fields or None)
    messages_ = _flatten(detail)
    return error_body(code, messages_[0] if messages_ else "Invalid request.")


def _error_body(exc: Exception, code: str) -> dict[str, Any]:
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict) and "detail" in detail:
        # simplejwt answers {"detail": ..., "code": ..., "messages": [...]}
        code = str(detail.get("code") or code)
        detail = detail["detail"]
    if code == "token_not_valid":  # simplejwt's name; the platform's is RFC 6750's
        code = INVALID_TOKEN
    return error_body(code, str(detail))


class JsonErrorMiddleware:
    """Errors raised outside DRF's views (body too large on parse, the database down in a plain
    Django view) answer JSON, not HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if request.path.startswith("/admin/"):
            return None
        if isinstance(exc, RequestDataTooBig):
            return json_error(413, "payload_too_large", "The request body is too large.")
        if isinstance(exc, DATABASE_DOWN):
            logger.warning("database unavailable: %s", exc)
            return database_unavailable()
        return None


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found", f"No route for {request.path}.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "permission_denied", "You do not have permission to do this.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "internal_error", "Something went wrong on our side.")
