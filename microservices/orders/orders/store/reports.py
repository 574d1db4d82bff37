"""Sales reports, computed by PostgreSQL (``date_trunc``, ``generate_series``), in UTC.

Only confirmed orders count, by the time they were confirmed. Periods without sales are
listed with zeros so a chart has no holes. Money is summed per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

GroupBy = Literal["day", "week", "month"]

_PERIODS = text(
    """
    WITH periods AS (
        SELECT generate_series(
            date_trunc(:unit, CAST(:first AS timestamp)),
            CAST(:last AS timestamp),
            CAST(:step AS interval)
        ) AS period_start
    ),
    sales AS (
        SELECT date_trunc(:unit, confirmed_at AT TIME ZONE 'UTC') AS period_start,
               currency, count(*) AS orders, sum(total) AS revenue
        FROM orders
        WHERE status = 'confirmed' AND confirmed_at >= :start AND confirmed_at < :end
        GROUP BY 1, 2
    )
    SELECT p.period_start, s.currency, coalesce(s.orders, 0) AS orders, s.revenue
    FROM periods p LEFT JOIN sales s USING (period_start)
    ORDER BY p.period_start, s.currency
    """
)

_TOP_PRODUCTS = """
    SELECT l.product_id,
           (array_agg(l.name ORDER BY o.confirmed_at DESC))[1] AS name,
           o.currency,
           sum(l.quantity) AS quantity,
           sum(l.unit_price * l.quantity) AS revenue
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE o.status = 'confirmed' AND o.confirmed_at >= :start AND o.confirmed_at < :end
    GROUP BY l.product_id, o.currency
    ORDER BY {order} DESC, l.product_id
    LIMIT :top
"""
TOP_BY_QUANTITY = text(_TOP_PRODUCTS.replace("{order}", "sum(l.quantity)"))
TOP_BY_REVENUE = text(_TOP_PRODUCTS.replace("{order}", "sum(l.unit_price * l.quantity)"))


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    orders: int
    revenue: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class ProductSales:
    product_id: str
    name: str
    currency: str
    quantity: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class SalesReport:
    periods: list[Period]
    top_by_quantity: list[ProductSales]
    top_by_revenue: list[ProductSales]

    @property
    def orders(self) -> int:
        return sum(period.orders for period in self.periods)

    @property
    def revenue(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for period in self.periods:
            for currency, amount in period.revenue.items():
                totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals


def count_periods(first: date, last: date, group_by: GroupBy) -> int:
    """How many periods ``first..last`` spans (to refuse absurd ranges before querying)."""
    if group_by == "day":
        return (last - first).days + 1
    if group_by == "week":
        first_monday = first - timedelta(days=first.weekday())
        last_monday = last - timedelta(days=last.weekday())
        return (last_monday - first_monday).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def sales_report(
    session: Session, *, first: date, last: date, group_by: GroupBy, top: int
) -> SalesReport:
    """Sales confirmed from ``first`` to ``last`` inclusive (UTC days)."""
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    window = {"start": start, "end": end}
    orders_in: dict[date, int] = {}
    revenue_in: dict[date, dict[str, Decimal]] = {}
    rows = session.execute(
        _PERIODS,
        {
            **window,
            "unit": group_by,
            "first": start.replace(tzinfo=None),
            "last": end.replace(tzinfo=None) - timedelta(microseconds=1),
            "step": f"1 {group_by}",
        },
    )
    period_start: datetime
    currency: str | None
    orders: int
    revenue: Decimal
    for period_start, currency, orders, revenue in rows:  # type: ignore[assignment]
        day = period_start.date()
        orders_in[day] = orders_in.get(day, 0) + orders
        revenue_in.setdefault(day, {})
        if currency is not None:
            revenue_in[day][currency] = revenue
    periods = [
        Period(start=day, orders=orders_in[day], revenue=revenue_in[day]) for day in orders_in
    ]

    def top_products(query: TextClause) -> list[ProductSales]:
        return [
            ProductSales(
                product_id=row.product_id,
                name=row.name,
                currency=row.currency,
                quantity=int(row.quantity),
                revenue=row.revenue,
            )
            for row in session.execute(query, {**window, "top": top})
        ]

    return SalesReport(
        periods=periods,
        top_by_quantity=top_products(TOP_BY_QUANTITY),
        top_by_revenue=top_products(TOP_BY_REVENUE),
    )
