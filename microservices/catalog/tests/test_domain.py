"""The rules on their own: prices, safe names, search terms, all-or-nothing reservation."""

from __future__ import annotations

import pytest

from catalog.domain.keys import UnsafeKey, check_attributes, check_key
from catalog.domain.pricing import InvalidPrice, format_price, parse_price
from catalog.domain.reservation import Line, Reason, Rejected, Reserved, Shortfall, reserve_order
from catalog.domain.search import search_terms, text_search
from catalog.domain.slugs import slugify


@pytest.mark.parametrize(
    ("text", "minor"),
    [("12.50", 1250), ("12.5", 1250), ("0.01", 1), ("7", 700), ("1000000", 10**8)],
)
def test_prices_are_exact_minor_units(text, minor):
    assert parse_price(text) == minor
    assert parse_price(format_price(minor)) == minor


@pytest.mark.parametrize(
    "text", ["0", "0.00", "-1", "1.005", "1e3", "NaN", "Infinity", " 1", "1,5", "", ".5", "+1"]
)
def test_prices_that_are_not_positive_two_decimal_amounts_are_refused(text):
    with pytest.raises(InvalidPrice):
        parse_price(text)


def test_a_price_filter_may_be_zero():
    assert parse_price("0", allow_zero=True) == 0


def test_format_price_pads_cents():
    assert format_price(5) == "0.05"
    assert format_price(1200) == "12.00"


@pytest.mark.parametrize("key", ["color", "size_eu", "a-b", "9lives", "X" * 64])
def test_safe_keys(key):
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["$where", "a.b", "", "-a", "_id", "a b", "X" * 65, "é", 3, None])
def test_keys_that_could_be_operators_or_paths_are_refused(key):
    with pytest.raises(UnsafeKey):
        check_key(key)


def test_attributes_are_checked_at_every_depth():
    check_attributes({"size": {"eu": 42, "us": [9, "9.5"]}, "eco": True, "note": None})
    for bad in (
        {"size": {"$gt": 1}},
        {"a.b": 1},
        {"a": {"b": {"c": {"d": 1}}}},
        {"a": [{"x": 1}]},
        {"a": float("nan")},
        {"a": "x" * 501},
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - the message varies per rule
            check_attributes(bad)


def test_search_terms_are_plain_words_quoted_so_every_one_must_match():
    assert search_terms('Red  "wool" -sweater $where {x: 1}') == [
        "red",
        "wool",
        "sweater",
        "where",
        "x",
        "1",
    ]
    assert search_terms("a b a") == ["a", "b"]
    assert len(search_terms(" ".join(f"w{i}" for i in range(20)))) == 8
    assert text_search(["red", "wool"]) == '"red" "wool"'
    assert search_terms("!!! ---") == []


def test_slugify():
    assert slugify("Café Crème 2") == "cafe-creme-2"
    assert slugify("  --  ") == ""


class FakeStock:
    """In-memory stock with the store's contract, to test the algorithm alone."""

    def __init__(self, available: dict[str, int]) -> None:
        self.available = dict(available)
        self.holds: dict[tuple[str, str], int] = {}

    def reserve(self, order_id: str, line: Line, *, first: bool = False) -> Reason | None:
        if (order_id, line.product_id) in self.holds:
            return None
        reason = self.shortfall(line)
        if reason is None:
            self.available[line.product_id] -= line.quantity
            self.holds[(order_id, line.product_id)] = line.quantity
        return reason

    def shortfall(self, line: Line) -> Reason | None:
        if line.product_id not in self.available:
            return Reason(line.product_id, line.quantity, 0, Shortfall.UNKNOWN_PRODUCT)
        if self.available[line.product_id] < line.quantity:
            return Reason(
                line.product_id,
                line.quantity,
                self.available[line.product_id],
                Shortfall.INSUFFICIENT_STOCK,
            )
        return None

    def release(self, order_id: str, product_id: str) -> int:
        quantity = self.holds.pop((order_id, product_id), 0)
        self.available[product_id] = self.available.get(product_id, 0) + quantity
        return quantity


def test_every_line_reserved():
    stock = FakeStock({"a": 5, "b": 5})
    decision = reserve_order("o1", [Line("a", 2), Line("b", 1), Line("a", 1)], stock)
    assert decision == Reserved("o1", (Line("a", 3), Line("b", 1)))
    assert stock.available == {"a": 2, "b": 4}
    assert decision.event_data()["lines"] == [
        {"product_id": "a", "quantity": 3},
        {"product_id": "b", "quantity": 1},
    ]


def test_a_line_short_releases_the_earlier_ones_and_names_every_short_line():
    stock = FakeStock({"a": 5, "b": 1, "c": 0})
    decision = reserve_order("o1", [Line("a", 2), Line("b", 2), Line("c", 1), Line("x", 1)], stock)
    assert isinstance(decision, Rejected)
    assert [(r.product_id, r.requested, r.available, r.code) for r in decision.reasons] == [
        ("b", 2, 1, Shortfall.INSUFFICIENT_STOCK),
        ("c", 1, 0, Shortfall.INSUFFICIENT_STOCK),
        ("x", 1, 0, Shortfall.UNKNOWN_PRODUCT),
    ]
    assert stock.available == {"a": 5, "b": 1, "c": 0}
    assert stock.holds == {}


def test_running_an_order_again_reserves_nothing_twice():
    stock = FakeStock({"a": 5})
    reserve_order("o1", [Line("a", 2)], stock)
    assert reserve_order("o1", [Line("a", 2)], stock) == Reserved("o1", (Line("a", 2),))
    assert stock.available == {"a": 3}
