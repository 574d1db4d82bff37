"""The platform's one error shape, the same from the gateway and every service::

    {"error": {"code": "validation_error", "message": "...", "fields": {"email": ["..."]}}}

``code`` is stable and meant for programs, ``message`` for people, and ``fields`` (only when
input was refused) maps each input location to its problems, always a list of strings.

Here are the parts every service shares: the default code for a status (a service passes a
more precise one where it knows more), the body, and the OpenAPI components that document it.
Every service publishes those components under the same names with the same schema
(:func:`use_error_schemas`), so the gateway's merged document has one error type, not one per
service.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

DEFAULT_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "upstream_timeout",
}

# A bearer token that is malformed, expired, forged or revoked (RFC 6750's name for it), from
# the gateway and every service alike; no token at all is ``not_authenticated``.
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret
# Tokens cannot be checked against the revocation list right now (Redis unreachable for too
# long, msh_auth.revocation): a 503 with Retry-After, never a token accepted unchecked.
AUTH_UNAVAILABLE = "auth_unavailable"

Fields = Mapping[str, Sequence[str] | str]


class ServiceError(Exception):
    """Raise anywhere in a request to answer with the platform's error shape; each service's
    error handler renders it (``code`` defaults to the status's, :func:`code_for_status`)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        fields: Fields | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or code_for_status(status_code)
        self.message = message
        self.fields = fields
        self.headers = headers


def database_unavailable() -> ServiceError:
    """A service's own database cannot be reached (restarting, failing over): nothing was done
    and a retry shortly will do, which a 503 says and a 500 ("a bug") does not."""
    return ServiceError(
        503,
        "The service's database is unavailable; try again shortly.",
        headers={"Retry-After": "2"},
    )


def code_for_status(status: int) -> str:
    """The default code for an HTTP status: 404 -> ``not_found``; others from the phrase."""
    if status in DEFAULT_CODES:
        return DEFAULT_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase.lower().replace("'", "")
    except ValueError:
        return "error"
    return re.sub(r"[^a-z0-9]+", "_", phrase).strip("_")


def error_json(status: int, message: str) -> bytes:
    """The error body for ``status`` (its default code) as JSON bytes, for a server writing a
    response itself, below any framework (a refused request head, a request gunicorn cannot
    parse)."""
    return json.dumps(error_body(code_for_status(status), message)).encode()


def error_body(code: str, message: str, fields: Fields | None = None) -> dict[str, Any]:
    """The JSON body of an error; a field's single problem is sent as a one-item list."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = {
            location: [problems] if isinstance(problems, str) else list(problems)
            for location, problems in fields.items()
        }
    return {"error": error}


ERROR_RESPONSE = "ErrorResponse"
ERROR_DETAIL = "ErrorDetail"
# Valid in OpenAPI 3.0 (mainapp's document) and 3.1 (the others): no ``examples``, no ``null``.
ERROR_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    ERROR_RESPONSE: {
        "type": "object",
        "title": ERROR_RESPONSE,
        "description": "The platform's one error shape, from the gateway and every service.",
        "properties": {"error": {"$ref": f"#/components/schemas/{ERROR_DETAIL}"}},
        "required": ["error"],
    },
    ERROR_DETAIL: {
        "type": "object",
        "title": ERROR_DETAIL,
        "properties": {
            "code": {
                "type": "string",
                "description": "Stable, for programs: `validation_error`, `not_found`, ...",
            },
            "message": {"type": "string", "description": "For people."},
            "fields": {
                "type": "object",
                "description": "Only when input was refused: its problems by location.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["code", "message"],
    },
}
ERROR_SCHEMA_REF = f"#/components/schemas/{ERROR_RESPONSE}"


def use_error_schemas(document: dict[str, Any], *, replacing: Mapping[str, str] = {}) -> None:
    """Put the shared error components into an OpenAPI ``document`` (in place).

    A framework renders a service's own error model in its own way (titles, ``anyOf`` null,
    key order); the merged document would then hold one copy per service. ``replacing`` names
    the service's components to drop in favour of the shared ones (``{"Error":
    "ErrorResponse"}``), with references to them rewritten.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for old in replacing:
        schemas.pop(old, None)
    schemas.update(copy.deepcopy(dict(ERROR_SCHEMAS)))
    if replacing:
        renames = {
            f"#/components/schemas/{old}": f"#/components/schemas/{new}"
            for old, new in replacing.items()
        }
        _rewrite_refs(document, renames)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renames:
            node["$ref"] = renames[ref]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
