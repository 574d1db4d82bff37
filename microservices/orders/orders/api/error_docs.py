"""The OpenAPI document lists the errors this service really answers: every error an operation
can answer with :class:`~msh_common.error_models.ErrorResponse`, and FastAPI's default 422
``HTTPValidationError``, which this service never sends, replaced by the 422 it does send (in
the platform's shape)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from msh_common.errors import ERROR_SCHEMA_REF, use_error_schemas

from .errors import DESCRIPTIONS

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_HTTP_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))


def install_error_docs(app: FastAPI, models: Sequence[type[BaseModel]] = ()) -> None:
    """Make the OpenAPI document list the request errors this service really answers.

    FastAPI documents a 422 ``HTTPValidationError`` for every operation with parameters or a
    body; :func:`_validation_error` answers 422 in the platform shape instead. So that 422 is
    replaced; operations with a body also document 400 (not JSON) and 413
    (:class:`BodyLimitMiddleware`). Errors a route raises itself are in its ``responses``.
    ``models`` are added to the components: schemas of bodies that are not JSON (the data of
    an event stream's events), which FastAPI would leave out.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = document_request_errors(generate())
            for model in models:
                add_component(document, model)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def add_component(document: dict[str, Any], model: type[BaseModel]) -> None:
    """``model``'s schema (and those it refers to) under ``#/components/schemas``."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


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
                responses.setdefault("422", _error_response(422))
            if "requestBody" in operation:
                responses.setdefault("400", _error_response(400))
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
