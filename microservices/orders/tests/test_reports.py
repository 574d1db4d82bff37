"""Sales reports: computed in SQL, confirmed orders only, by confirmation time in UTC."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import text

from orders.domain.pricing import PricedLine, PricedOrder
from orders.domain.status import OrderStatus
from orders.store import orders as order_store


def sold(db, when: str, lines, status=OrderStatus.CONFIRMED, currency="EUR") -> uuid.UUID:
    """An order with ``lines`` [(product_id, name, price, qty)] confirmed at ``when`` (UTC)."""
    priced = PricedOrder(
        lines=tuple(PricedLine(p, n, Decimal(price), q) for p, n, price, q in lines),
        currency=currency,
    )
    with db.transaction() as session:
        order_id = order_store.insert_order(session, user_id=uuid.uuid4(), priced=priced).id
        if status == OrderStatus.PENDING:
            return order_id
        extra = {"reasons": []} if status == OrderStatus.REJECTED else {}
        order_store.transition(session, order_id, status, **extra)
        session.execute(
            text("UPDATE orders SET confirmed_at = :t WHERE id = :id AND status = 'confirmed'"),
            {"t": when, "id": order_id},
        )
    return order_id


def report(client, staff, **params):
    response = client.get("/api/reports/sales", params=params, headers=staff.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_only_staff_see_reports(client, user, assert_error):
    assert_error(client.get("/api/reports/sales", headers=user.headers), 403, "permission_denied")
    assert_error(client.get("/api/reports/sales"), 401, "not_authenticated")


def test_revenue_and_orders_per_day_with_empty_days_and_confirmed_only(client, staff, db):
    sold(db, "2026-03-01 10:00+00", [("a", "A", "10.00", 2)])
    sold(db, "2026-03-01 23:59+00", [("b", "B", "1.25", 4)])
    sold(db, "2026-03-03 00:00+00", [("a", "A", "10.00", 1)])
    sold(db, "2026-03-02 12:00+00", [("a", "A", "10.00", 9)], status=OrderStatus.PENDING)
    sold(db, "2026-03-02 12:00+00", [("a", "A", "10.00", 9)], status=OrderStatus.REJECTED)
    sold(db, "2026-03-04 00:00+00", [("a", "A", "10.00", 9)])  # after `to`

    body = report(client, staff, **{"from": "2026-03-01", "to": "2026-03-03"})

    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-03"
    assert body["periods"] == [
        {"period_start": "2026-03-01", "orders": 2, "revenue": {"EUR": "25.00"}},
        {"period_start": "2026-03-02", "orders": 0, "revenue": {}},
        {"period_start": "2026-03-03", "orders": 1, "revenue": {"EUR": "10.00"}},
    ]
    assert body["orders"] == 3 and body["revenue"] == {"EUR": "35.00"}


def test_weeks_and_months_start_where_date_trunc_says(client, staff, db):
    sold(db, "2026-03-01 10:00+00", [("a", "A", "3", 1)])  # a Sunday: week of Mon 23 Feb
    sold(db, "2026-03-02 10:00+00", [("a", "A", "4", 1)])  # Monday
    sold(db, "2026-04-15 10:00+00", [("a", "A", "5", 1)])

    weeks = report(client, staff, **{"from": "2026-02-27", "to": "2026-03-08", "group_by": "week"})
    assert [(p["period_start"], p["orders"]) for p in weeks["periods"]] == [
        ("2026-02-23", 1),
        ("2026-03-02", 1),
    ]
    months = report(
        client, staff, **{"from": "2026-03-01", "to": "2026-04-30", "group_by": "month"}
    )
    assert [(p["period_start"], p["revenue"]) for p in months["periods"]] == [
        ("2026-03-01", {"EUR": "7"}),
        ("2026-04-01", {"EUR": "5"}),
    ]


def test_top_products_by_quantity_and_by_revenue(client, staff, db):
    sold(db, "2026-05-01 10:00+00", [("cheap", "Pencil", "0.50", 10), ("dear", "Pen", "40", 1)])
    sold(db, "2026-05-02 10:00+00", [("cheap", "Pencil HB", "0.50", 5), ("mid", "Ink", "7", 3)])

    body = report(client, staff, **{"from": "2026-05-01", "to": "2026-05-31", "top": 2})
    top = body["top_products"]
    assert [(p["product_id"], p["quantity"], p["revenue"]) for p in top["by_quantity"]] == [
        ("cheap", 15, "7.50"),
        ("mid", 3, "21"),
    ]
    assert [(p["product_id"], p["revenue"]) for p in top["by_revenue"]] == [
        ("dear", "40"),
        ("mid", "21"),
    ]
    assert top["by_quantity"][0]["name"] == "Pencil HB"  # the latest name


def test_currencies_are_summed_apart(client, staff, db):
    sold(db, "2026-06-01 10:00+00", [("a", "A", "10", 1)], currency="EUR")
    sold(db, "2026-06-01 11:00+00", [("a", "A", "12", 1)], currency="USD")
    body = report(client, staff, **{"from": "2026-06-01", "to": "2026-06-01"})
    assert body["revenue"] == {"EUR": "10", "USD": "12"}
    assert body["periods"][0]["orders"] == 2


def test_bad_ranges_are_refused(client, staff, assert_error):
    def get(**params):
        return client.get("/api/reports/sales", params=params, headers=staff.headers)

    assert_error(get(**{"from": "2026-03-02", "to": "2026-03-01"}), 422, "validation_error")
    assert_error(get(**{"from": "2000-01-01", "to": "2026-01-01"}), 422, "validation_error")
    assert_error(get(group_by="year"), 422, "validation_error")
    assert_error(get(**{"from": "yesterday"}), 422, "validation_error")
    assert len(get().json()["periods"]) == 30  # the default: the last 30 days
