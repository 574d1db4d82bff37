"""Types shared by the resource modules: the error body and validated scalars.

Every input model forbids unknown keys, and every name a client chooses that could become a
MongoDB field name is checked by :mod:`catalog.domain.keys` (no ``$``, no ``.``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from catalog.domain.keys import KEY_PATTERN, check_attributes
from catalog.domain.pricing import parse_price
from catalog.domain.slugs import MAX_SLUG, SLUG_PATTERN
from msh_common.error_models import ErrorResponse
from msh_common.text_types import SINGLE_LINE, MultilineText, PlainText

# What flask-openapi3's ``responses=`` takes.
Responses = dict[str | int, type[BaseModel] | dict[Any, Any] | None]


def errors(*statuses: int) -> Responses:
    """``responses=`` entries for errors answered in the platform's shape."""
    return dict.fromkeys(statuses, ErrorResponse)


# What the blueprints' guards (guards.py) answer before a view runs, for the OpenAPI document:
# a caller without a valid token (401), or without the staff role (403), or when tokens cannot
# be verified (503); a JSON body that does not parse (400), is not an object (422), is over
# CATALOG_MAX_BODY_BYTES (413) or is not sent as application/json (415).
SIGNED_IN = (401, 503)
STAFF = (*SIGNED_IN, 403)
JSON_BODY = (400, 413, 415)


class Input(BaseModel):
    """A request body: unknown keys are refused, never passed on."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _price(value: str) -> str:
    parse_price(value)
    return value


Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=MAX_SLUG)]
Sku = Annotated[str, Field(pattern=KEY_PATTERN, examples=["APP-001"])]
Name = Annotated[
    PlainText,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(examples=["Ethiopia Yirgacheffe coffee beans"]),
]
Description = Annotated[
    MultilineText,
    Field(max_length=5000, examples=["Light roast with jasmine and bergamot notes."]),
]
Price = Annotated[
    str,
    Field(max_length=20, examples=["12.50"], description="decimal string, > 0, 2 decimals max"),
    AfterValidator(_price),
]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])
]
# A path on the shop's own origin: the catalog's own images (/api/catalog/images/<id>) or the
# SPA's files. Not another site: a shopper's browser would tell it who looks at what (and the
# SPA's Content-Security-Policy would not show it anyway).
ImageUrl = Annotated[
    str,
    Field(
        max_length=2048,
        pattern=r"^/([^/\\\s][^\s]*)?$",
        examples=["/api/catalog/images/9b2f4c1e7d3a4e0f8a6b5c4d3e2f1a0b"],
    ),
    SINGLE_LINE,
]
MAX_IMAGES = 20
Attributes = Annotated[
    dict[str, Any],
    Field(examples=[{"origin": "Ethiopia", "roast": "light", "weight_g": 250}]),
    AfterValidator(check_attributes),
]
Quantity = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
Identifier = Annotated[PlainText, Field(min_length=1, max_length=64)]
