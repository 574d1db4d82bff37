"""A shop journey written against nothing but the Python client that ``openapi-python-client``
generates from ``/api/openapi.json`` (package ``msh_client``; tests/test_generated_client.py
generates it, runs this and type-checks it with mypy). What a REST client's author would write.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from msh_client import AuthenticatedClient, Client
from msh_client.api.auth import log_in, log_out, refresh_tokens, register
from msh_client.api.cart import set_cart_item
from msh_client.api.categories import create_category
from msh_client.api.orders import cancel_order, get_order, list_orders, place_order
from msh_client.api.products import create_product, list_products, receive_stock
from msh_client.api.reports import get_sales_report
from msh_client.models import (
    CategoryCreate,
    LoginRequest,
    OrderOut,
    OrderStatus,
    ProductCreate,
    ProductPage,
    QuantityIn,
    RefreshRequest,
    RegisterRequest,
    SalesOut,
    StockReceipt,
    TokenPair,
    User,
)

PASSWORD = "a-Long-enough-phrase-42"


@dataclass
class Journey:
    registered: str
    found: list[str]
    placed_twice_same_id: bool
    confirmed: OrderStatus
    listed: int
    cancelled: OrderStatus
    refreshed: bool
    logged_out_refresh_refused: bool
    report_orders: int


def tokens(base_url: str, email: str, password: str) -> TokenPair:
    pair = log_in.sync(client=Client(base_url), body=LoginRequest(email=email, password=password))
    assert isinstance(pair, TokenPair), pair
    return pair


def as_user(base_url: str, pair: TokenPair) -> AuthenticatedClient:
    return AuthenticatedClient(base_url, token=pair.access)


def stocked_product(staff: AuthenticatedClient, word: str) -> str:
    """A product the shopper can find and buy, made by staff; its id."""
    slug = f"gen-{word.lower()}"
    create_category.sync(client=staff, body=CategoryCreate(name=f"Generated {word}", slug=slug))
    body = ProductCreate(sku=f"G-{word}", name=f"{word} teapot", price="12.50", category=slug)
    product = create_product.sync(client=staff, body=body)
    assert product is not None and hasattr(product, "id"), product
    receive_stock.sync(str(product.id), client=staff, body=StockReceipt(quantity=5))
    return str(product.id)


def settled(shopper: AuthenticatedClient, order_id: str, timeout: float = 30) -> OrderOut:
    """The order once the saga decided it."""
    deadline = time.monotonic() + timeout
    while True:
        order = get_order.sync(order_id, client=shopper)
        assert isinstance(order, OrderOut), order
        if order.status != OrderStatus.PENDING or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def run(base_url: str, staff_email: str, staff_password: str) -> Journey:
    word = f"Zq{uuid.uuid4().hex[:8]}"
    staff = as_user(base_url, tokens(base_url, staff_email, staff_password))
    product_id = stocked_product(staff, word)

    email = f"gen-{uuid.uuid4().hex[:10]}@example.com"
    user = register.sync(
        client=Client(base_url), body=RegisterRequest(email=email, password=PASSWORD)
    )
    assert isinstance(user, User), user
    pair = tokens(base_url, email, PASSWORD)
    shopper = as_user(base_url, pair)

    page = list_products.sync(client=shopper, q=word)
    assert isinstance(page, ProductPage), page
    set_cart_item.sync(product_id, client=shopper, body=QuantityIn(quantity=2))
    key = uuid.uuid4().hex
    first = place_order.sync(client=shopper, idempotency_key=key)
    again = place_order.sync(client=shopper, idempotency_key=key)
    assert isinstance(first, OrderOut) and isinstance(again, OrderOut), (first, again)
    confirmed = settled(shopper, str(first.id))
    mine = list_orders.sync(client=shopper)
    report = get_sales_report.sync(client=staff)  # counts confirmed orders: ours among them
    assert isinstance(report, SalesOut), report
    cancelled = cancel_order.sync(str(first.id), client=shopper)
    assert isinstance(cancelled, OrderOut), cancelled

    fresh = refresh_tokens.sync(client=Client(base_url), body=RefreshRequest(refresh=pair.refresh))
    assert isinstance(fresh, TokenPair), fresh
    log_out.sync(client=Client(base_url), body=RefreshRequest(refresh=fresh.refresh))
    after = refresh_tokens.sync_detailed(
        client=Client(base_url), body=RefreshRequest(refresh=fresh.refresh)
    )

    return Journey(
        registered=user.email,
        found=[product.name for product in page.items],
        placed_twice_same_id=first.id == again.id,
        confirmed=confirmed.status,
        listed=getattr(mine, "total", -1),
        cancelled=cancelled.status,
        refreshed=fresh.access != pair.access,
        logged_out_refresh_refused=after.status_code == 401,
        report_orders=report.orders,
    )
