"""``/api/reports/sales`` (staff): revenue and order counts per period, and top products."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from orders.store.reports import GroupBy, count_periods, sales_report

from .deps import DatabaseDep, StaffDep
from .errors import ApiError, error_docs
from .schemas import Money

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=error_docs([401, 403, 503]))

MAX_PERIODS = 1000
DEFAULT_DAYS = 30
# The dates a report may cover: from the Unix epoch (before any order) to the last day whose
# next day Python can still compute (the report's window ends at midnight after `to`), and at
# most ten years at once (3,660 days: any ten calendar years fit).
EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)
MAX_DAYS = 3660


class PeriodOut(BaseModel):
    period_start: date
    orders: int
    revenue: dict[str, Money] = Field(description="Per currency; empty when nothing was sold.")


class ProductOut(BaseModel):
    product_id: str
    name: str
    currency: str
    quantity: int
    revenue: Money


class TopProductsOut(BaseModel):
    by_quantity: list[ProductOut]
    by_revenue: list[ProductOut]


class SalesOut(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    group_by: GroupBy
    orders: int
    revenue: dict[str, Money]
    periods: list[PeriodOut]
    top_products: TopProductsOut


def _invalid(field: str, problem: str) -> ApiError:
    return ApiError(
        422, "The request has invalid fields.", code="validation_error", fields={field: [problem]}
    )


def report_range(first: date | None, last: date | None, group_by: GroupBy) -> tuple[date, date]:
    """The days a report covers (defaults filled in), or a 422 naming the field at fault."""
    if last is not None and not EARLIEST <= last <= LATEST:
        raise _invalid("to", f"Must be from {EARLIEST} to {LATEST}.")
    if first is not None and not EARLIEST <= first <= LATEST:
        raise _invalid("from", f"Must be from {EARLIEST} to {LATEST}.")
    last = last or datetime.now(UTC).date()
    first = first or max(EARLIEST, last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise _invalid("from", "Must not be after `to`.")
    if (last - first).days + 1 > MAX_DAYS:
        raise _invalid("to", f"At most {MAX_DAYS} days after `from`; narrow the range.")
    if count_periods(first, last, group_by) > MAX_PERIODS:
        raise _invalid(
            "group_by", f"At most {MAX_PERIODS} periods; widen group_by or narrow the range."
        )
    return first, last


@router.get(
    "/sales",
    response_model=SalesOut,
    response_model_by_alias=True,
    summary="Sales of confirmed orders per day, week or month (UTC), and the top products",
)
def get_sales_report(
    db: DatabaseDep,
    _staff: StaffDep,
    from_: Annotated[
        date | None, Query(alias="from", description="First day (default: 29 days before `to`)")
    ] = None,
    to: Annotated[date | None, Query(description="Last day, included (default: today)")] = None,
    group_by: Annotated[GroupBy, Query()] = "day",
    top: Annotated[int, Query(ge=1, le=100, description="How many top products")] = 10,
) -> SalesOut:
    """Staff only. Revenue per currency and order counts of confirmed orders, per period of
    ``group_by`` between ``from`` and ``to`` (UTC days, both included), and the ``top`` products
    by units sold."""
    first, last = report_range(from_, to, group_by)
    with db.transaction() as session:
        report = sales_report(session, first=first, last=last, group_by=group_by, top=top)

    def product(p) -> ProductOut:
        return ProductOut(
            product_id=p.product_id,
            name=p.name,
            currency=p.currency,
            quantity=p.quantity,
            revenue=p.revenue,
        )

    return SalesOut.model_validate(
        {
            "from": first,
            "to": last,
            "group_by": group_by,
            "orders": report.orders,
            "revenue": report.revenue,
            "periods": [
                PeriodOut(period_start=p.start, orders=p.orders, revenue=p.revenue)
                for p in report.periods
            ],
            "top_products": TopProductsOut(
                by_quantity=[product(p) for p in report.top_by_quantity],
                by_revenue=[product(p) for p in report.top_by_revenue],
            ),
        }
    )
