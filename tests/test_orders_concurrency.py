"""No oversell: 100 shoppers check out at once for 10 units; exactly 10 orders are confirmed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from helpers import mint_shoppers, new_product, orders_db, place_order, staff_token, stock_of

SHOPPERS = 100
UNITS = 10


def statuses(stack, order_ids: list[str]) -> dict[str, int]:
    with orders_db(stack) as db:
        rows = db.execute(
            "SELECT status, count(*) FROM orders WHERE id = ANY(%s::uuid[]) GROUP BY status",
            (order_ids,),
        ).fetchall()
    return dict(rows)


def test_100_concurrent_checkouts_for_10_units_confirm_exactly_10(stack, client):
    staff = staff_token(client, stack)
    product = new_product(client, staff, stock=UNITS)
    shoppers = mint_shoppers(stack, SHOPPERS)
    start = threading.Barrier(SHOPPERS)

    def checkout(token: str) -> httpx.Response:
        with httpx.Client(base_url=stack.url, timeout=60) as own:
            start.wait()
            return place_order(own, token, [(product["id"], 1)])

    with ThreadPoolExecutor(SHOPPERS) as pool:
        responses = list(pool.map(checkout, [token for _, _, token in shoppers]))

    assert [r.status_code for r in responses] == [202] * SHOPPERS, {
        r.status_code: r.text for r in responses if r.status_code != 202
    }
    order_ids = [r.json()["id"] for r in responses]
    deadline = time.monotonic() + 60
    while statuses(stack, order_ids).get("pending") and time.monotonic() < deadline:
        time.sleep(0.2)

    assert statuses(stack, order_ids) == {"confirmed": UNITS, "rejected": SHOPPERS - UNITS}
    available, reserved, received = stock_of(client, product["id"])
    assert (available, reserved, received) == (0, UNITS, UNITS)
    assert available + reserved == received
    with orders_db(stack) as db:
        confirmations = db.execute(
            "SELECT count(*) FROM outbox_events WHERE type = 'order.confirmed' "
            "AND envelope->'data'->>'order_id' = ANY(%s)",
            (order_ids,),
        ).fetchone()[0]
    assert confirmations == UNITS
