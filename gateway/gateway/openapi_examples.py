"""An example for every JSON request body and success response of the merged document.

Where a service wrote an example (on the media type, or on the schema), it stands. Elsewhere
one is composed from the schema, field by field: a field's own ``examples``/``example``, its
default (even null), its first enum value, else a value of its type, format or pattern. So a
reader, or a generated client's documentation, always sees a whole body. Tests validate every
example against its schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_METHODS = ("get", "put", "post", "delete", "patch")
_MAX_DEPTH = 8
_FORMATS: Mapping[str, Any] = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2026-12-05T12:00:00Z",
    "date": "2026-12-05",
    "email": "ann@example.com",
    "uri": "https://shop.example.com/",
    "password": "a-Long-passphrase-7",
}


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Give every JSON request body and 2xx response of ``document`` an ``example`` (in place;
    also returned). Media objects are replaced, never changed: the services' cached documents
    stay as they sent them."""
    schemas = (document.get("components") or {}).get("schemas") or {}
    for item in (document.get("paths") or {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody")
            if isinstance(body, dict):
                operation["requestBody"] = _with_example(body, schemas)
            responses = dict(operation.get("responses") or {})
            for status, response in responses.items():
                if str(status).startswith("2") and isinstance(response, dict):
                    responses[status] = _with_example(response, schemas)
            operation["responses"] = responses
    return document


def _with_example(holder: dict[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    content = holder.get("content")
    if not isinstance(content, dict) or "application/json" not in content:
        return holder
    media = content["application/json"]
    if not isinstance(media, dict) or "example" in media or "examples" in media:
        return holder
    schema = media.get("schema")
    if not isinstance(schema, dict):
        return holder
    example = example_of(schema, schemas)
    return {**holder, "content": {**content, "application/json": {**media, "example": example}}}


def example_of(schema: Mapping[str, Any], schemas: Mapping[str, Any], depth: int = 0) -> Any:
    """A value that ``schema`` accepts (as far as its keywords tell)."""
    if depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        target = schemas.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return example_of({**target, **{k: v for k, v in schema.items() if k != "$ref"}},
                          schemas, depth + 1)  # fmt: skip
    given = _given(schema)
    if given is not _NONE:
        return given
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            return _combined(combinator, schema[combinator], schemas, depth)
    return _of_type(schema, schemas, depth)


_NONE = object()


def _given(schema: Mapping[str, Any]) -> Any:
    """An example the schema states itself, or ``_NONE``."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("example", "const"):
        if key in schema:
            return schema[key]
    if "default" in schema:  # valid by the schema's own word, null included
        return schema["default"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return next((value for value in enum if value is not None), enum[0])
    return _NONE


def _combined(combinator: str, parts: Any, schemas: Mapping[str, Any], depth: int) -> Any:
    options = [part for part in parts or [] if isinstance(part, Mapping)]
    if combinator == "allOf":
        merged: dict[str, Any] = {}
        for part in options:
            value = example_of(part, schemas, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif len(options) == 1:
                return value
        return merged
    concrete = [part for part in options if part.get("type") != "null"]
    return example_of((concrete or options or [{}])[0], schemas, depth + 1)


def _of_type(schema: Mapping[str, Any], schemas: Mapping[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(sub, schemas, depth + 1)
            for name, sub in (schema.get("properties") or {}).items()
            if isinstance(sub, Mapping)
        }
    if kind == "array":
        items = schema.get("items")
        return [example_of(items, schemas, depth + 1)] if isinstance(items, Mapping) else []
    return _scalar(kind, schema)


def _scalar(kind: Any, schema: Mapping[str, Any]) -> Any:
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string":
        return _FORMATS.get(str(schema.get("format"))) or _string(schema.get("pattern"))
    return None


# Tried in turn against a string's pattern: a slug, a money amount, a currency, a path.
_STRINGS = ("text", "12.50", "EUR", "/images/demo/books.svg", "coffee-tea")


def _string(pattern: Any) -> str:
    if not isinstance(pattern, str):
        return "text"
    try:
        compiled = re.compile(pattern)
    except re.error:
        return "text"
    return next((s for s in _STRINGS if compiled.search(s)), "text")
