"""The rules without any framework: the status machine and pricing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.domain.pricing import (
    EmptyOrder,
    LineRequest,
    MixedCurrencies,
    ProductUnavailable,
    QuantityTooLarge,
    Quote,
    TooManyLines,
    merge_lines,
    price_lines,
)
from orders.domain.status import (
    SETTLED,
    TERMINAL,
    InvalidTransition,
    OrderStatus,
    can_transition,
    check_transition,
    legal_pairs,
)

P, C, R, X = (
    OrderStatus.PENDING,
    OrderStatus.CONFIRMED,
    OrderStatus.REJECTED,
    OrderStatus.CANCELLED,
)


def test_the_machine_allows_exactly_the_saga_diagram():
    assert set(legal_pairs()) == {(P, C), (P, R), (P, X), (C, X)}


@pytest.mark.parametrize("current", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_every_other_change_is_refused(current, target):
    if (current, target) in legal_pairs():
        check_transition(current, target)
    else:
        assert not can_transition(current, target)
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_nothing_leaves_a_terminal_status_and_confirmed_only_to_cancelled():
    for status in TERMINAL:
        assert not any(can_transition(status, target) for target in OrderStatus)
    assert [t for t in OrderStatus if can_transition(C, t)] == [X]
    assert {C, R, X} == SETTLED


def quote(pid: str, price: str = "2.50", currency: str = "EUR", **kw) -> Quote:
    return Quote(
        product_id=pid,
        found=True,
        name=f"n-{pid}",
        unit_price=Decimal(price),
        currency=currency,
        active=kw.get("active", True),
    )


def test_lines_of_one_product_are_merged_in_first_seen_order():
    lines = merge_lines(
        [LineRequest("a", 1), LineRequest("b", 2), LineRequest("a", 3)],
        max_quantity=10,
        max_lines=5,
    )
    assert lines == [LineRequest("a", 4), LineRequest("b", 2)]


def test_caps_and_emptiness_are_refused():
    with pytest.raises(EmptyOrder):
        merge_lines([], max_quantity=10, max_lines=5)
    with pytest.raises(QuantityTooLarge) as too_many:
        merge_lines([LineRequest("a", 6), LineRequest("a", 5)], max_quantity=10, max_lines=5)
    assert set(too_many.value.products) == {"a"}
    with pytest.raises(TooManyLines):
        merge_lines([LineRequest(str(i), 1) for i in range(6)], max_quantity=10, max_lines=5)


def test_prices_are_exact_decimals():
    order = price_lines(
        [LineRequest("a", 3), LineRequest("b", 1)],
        {"a": quote("a", "0.10"), "b": quote("b", "19.99")},
    )
    assert order.total == Decimal("20.29")  # 0.1 * 3 in floats is 0.30000000000000004
    assert [line.line_total for line in order.lines] == [Decimal("0.30"), Decimal("19.99")]
    assert order.currency == "EUR"
    assert order.lines[0].name == "n-a"


def test_unknown_and_inactive_products_are_all_named():
    with pytest.raises(ProductUnavailable) as error:
        price_lines(
            [LineRequest("a", 1), LineRequest("gone", 1), LineRequest("off", 1)],
            {
                "a": quote("a"),
                "gone": Quote(product_id="gone", found=False),
                "off": quote("off", active=False),
            },
        )
    assert error.value.products == {
        "gone": "unknown product",
        "off": "product is not for sale",
    }


def test_one_order_has_one_currency():
    with pytest.raises(MixedCurrencies):
        price_lines(
            [LineRequest("a", 1), LineRequest("b", 1)],
            {"a": quote("a", currency="EUR"), "b": quote("b", currency="USD")},
        )
