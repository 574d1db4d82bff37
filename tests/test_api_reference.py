"""The merged API reference as its readers need it (the committed copy, which another test holds
equal to what the gateway serves): every operation has a summary, a description and an example
of its JSON request body and success response, and every example is valid against its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[1] / "frontend" / "openapi.json").read_text()
)
METHODS = ("get", "put", "post", "delete", "patch")
OPERATIONS = [
    (method, path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]


def json_media(holder: dict[str, Any] | None) -> dict[str, Any] | None:
    return ((holder or {}).get("content") or {}).get("application/json")


def validate(example: Any, schema: dict[str, Any]) -> None:
    """Against ``schema`` resolved in the document's components (3.1: JSON Schema 2020-12)."""
    jsonschema.Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(example)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=lambda v: str(v)[:40])
def test_every_operation_is_described_with_examples_that_are_valid(method, path, operation):
    assert operation.get("summary") and operation.get("description"), (method, path)
    body = json_media(operation.get("requestBody"))
    if body is not None:
        assert "example" in body, (method, path)
        validate(body["example"], body["schema"])
    successes = [r for s, r in operation["responses"].items() if s.startswith("2")]
    assert successes, (method, path)
    for response in successes:
        media = json_media(response)
        if media is not None:
            assert "example" in media, (method, path)
            validate(media["example"], media["schema"])


def test_the_examples_fail_when_wrong():
    """The check can fail: a price that is a number, not a decimal string."""
    create = DOCUMENT["paths"]["/api/catalog/products"]["post"]
    media = create["requestBody"]["content"]["application/json"]
    with pytest.raises(jsonschema.ValidationError):
        validate({**media["example"], "price": 12.5}, media["schema"])
