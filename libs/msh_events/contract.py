"""The event contract: the data of every event type, one schema per type and version.

Producers and consumers live in different services and deploy apart, so what an event carries
is written down once, here, rather than in each side's code. The AsyncAPI document
(:mod:`.asyncapi`) publishes these schemas; every consumer's worker checks an event's data
against its schema before a handler sees it (:func:`check`), and dead-letters it at once when it
breaks the contract (no retry can mend it); the contract tests check every producer's events.

Rules: consumers ignore fields they do not know (a producer may add one without a new
version); removing a field, or changing its type or meaning, is a new ``version`` of the type,
and consumers learn the new version before producers emit it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .envelope import Event, InvalidEnvelope
from .topology import SUBSCRIPTIONS

# A catalog product's id (the catalog's key pattern, the orders API's path parameter).
ProductId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
# One line of text: no control characters (msh_common.text's rule for single-line fields).
Line = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
# An amount as a decimal string with two places (never a float: JSON numbers lose cents).
Money = Annotated[str, Field(pattern=r"^[0-9]{1,12}\.[0-9]{2}$", examples=["12.50"])]
MAX_LINES = 100


class EventData(BaseModel):
    """The data of one event type and version (:data:`CONTRACT` says which); its docstring is
    the event's summary in the AsyncAPI document."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# Every event type and version, and the model of its data.
CONTRACT: dict[tuple[str, int], type[EventData]] = {}

EventDataT = TypeVar("EventDataT", bound=type[EventData])
ModelT = TypeVar("ModelT", bound=EventData)


def _data(event_type: str, version: int) -> Callable[[EventDataT], EventDataT]:
    """Enter an :class:`EventData` subclass in :data:`CONTRACT`."""

    def enter(cls: EventDataT) -> EventDataT:
        CONTRACT[(event_type, version)] = cls
        return cls

    return enter


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: ProductId
    quantity: Quantity


class Shortfall(enum.StrEnum):
    INSUFFICIENT_STOCK = "insufficient_stock"
    UNKNOWN_PRODUCT = "unknown_product"
    INACTIVE_PRODUCT = "inactive_product"


class StockShortfall(BaseModel):
    """Why one line could not be reserved."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: ProductId
    requested: Quantity
    available: Annotated[int, Field(ge=0)]
    code: Shortfall


class ConfirmedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: ProductId
    name: Line
    quantity: Quantity
    unit_price: Money
    line_total: Money


Lines = Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]
Reasons = Annotated[list[StockShortfall], Field(max_length=MAX_LINES)]


@_data("user.registered", 1)
class UserRegistered(EventData):
    """A shopper registered: the welcome e-mail goes out."""

    user_id: UUID
    email: Annotated[
        str,
        Field(min_length=3, max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"),
    ]
    name: Line = ""


@_data("user.deleted", 1)
class UserDeleted(EventData):
    """An account was deleted: every service forgets or anonymises its personal data."""

    user_id: UUID


@_data("order.placed", 1)
class OrderPlaced(EventData):
    """An order was placed: reserve its stock, all lines or none."""

    order_id: UUID
    lines: Lines


@_data("stock.reserved", 1)
class StockReserved(EventData):
    """Every line of an order is held: the order is confirmed."""

    order_id: UUID
    lines: Lines


@_data("stock.rejected", 1)
class StockRejected(EventData):
    """An order's stock could not be held: the order is rejected."""

    order_id: UUID
    reasons: Reasons


@_data("order.confirmed", 1)
class OrderConfirmed(EventData):
    """An order was confirmed: e-mail and tell the customer."""

    order_id: UUID
    user_id: UUID | None = Field(description="Null once the customer's account was deleted.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    total: Money
    lines: Annotated[list[ConfirmedLine], Field(min_length=1, max_length=MAX_LINES)]


@_data("order.rejected", 1)
class OrderRejected(EventData):
    """An order was rejected for lack of stock: tell the customer."""

    order_id: UUID
    user_id: UUID | None = Field(description="Null once the customer's account was deleted.")
    reason: Line
    reasons: Reasons


@_data("order.cancelled", 1)
class OrderCancelled(EventData):
    """An order was cancelled: release its stock, tell the customer."""

    order_id: UUID
    reason: Line = Field("", description="For people; nothing acts on it.")
    user_id: UUID | None = Field(
        default=None,
        description="Absent when only stock held too late is released (the customer saw "
        "nothing change).",
    )


def consumed_by(queue: str) -> list[tuple[str, int]]:
    """The event types and versions delivered to ``queue`` (``topology.SUBSCRIPTIONS``)."""
    return sorted(key for key in CONTRACT if queue in SUBSCRIPTIONS.get(key[0], ()))


def schema_of(event_type: str, version: int) -> dict[str, Any]:
    """The JSON Schema of an event type's data (``$defs`` inline, for one document each)."""
    return CONTRACT[(event_type, version)].model_json_schema()


def parse(model: type[ModelT], event: Event) -> ModelT:
    """``event``'s data as ``model`` (what a handler works from: only the fields the contract
    names, checked); :class:`InvalidEnvelope` when it breaks the contract."""
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEnvelope(f"{event.type} v{event.version} data: {exc}") from exc


def check(event: Event) -> EventData | None:
    """``event``'s data parsed by its contract; :class:`InvalidEnvelope` when it breaks it.

    None for a type this contract does not know (the consumer's handlers decide); a known type
    in a version not listed here cannot be understood, and is refused like invalid data.
    """
    model = CONTRACT.get((event.type, event.version))
    if model is None:
        if any(event_type == event.type for event_type, _ in CONTRACT):
            raise InvalidEnvelope(f"{event.type} version {event.version} is not in the contract")
        return None
    return parse(model, event)
