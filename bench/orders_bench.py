"""Orders: placed -> confirmed latency at a steady rate, and confirmed orders/s at saturation
(``make bench-orders``).

Starts the whole platform natively exactly as ``make dev`` does (throwaway data, free ports,
logs at WARNING), creates a product with plenty of stock through the catalog API and a pool of
shoppers (rows in mainapp's database, with access tokens signed by the platform's own key, so no
password hashing is measured), then through the gateway:

1. **steady**: places orders at ``--rate`` per second (open model: one every 1/rate s,
   whatever the answers take) for ``--seconds``;
2. **saturation**: ``--clients`` concurrent shoppers place orders back to back for
   ``--saturation-seconds``.

Latency placed -> confirmed is read from the orders database, per order, from ``created_at``
(the checkout's transaction, committed right before the 202) to ``confirmed_at`` (the worker's
transaction applying ``stock.reserved``): the whole saga, outbox relay, catalog reservation and
its outbox included. The checkout's own HTTP latency (POST -> 202) is reported beside it.
Confirmed orders/s at saturation = orders confirmed / (last confirmation - first placement).
Figures go to ``bench/results/orders.json`` and ``bench/REPORT.md`` (bench/report.py). A
benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from bench.report import REPORT, machine, write_report
from devstack.config import load_env
from devstack.shoppers import mint_shoppers
from devstack.stack import PlatformRun

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "orders.json"
STOCK = 1_000_000

# Targets from the issue (reported, never asserted).
TARGET_P50_MS = 50
TARGET_P99_MS = 250
TARGET_RATE = 20
TARGET_CONFIRMED_PER_S = 100

BENCH_SETTINGS = {
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_ANONYMOUS": "10000000/minute",
    "RATE_LIMIT_USER": "10000000/minute",
    "RATE_LIMIT_STRICT": "10000000/minute",
    "LOGIN_THROTTLE_RATE": "100000/min",
    "REGISTER_THROTTLE_RATE": "100000/min",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


# --------------------------------------------------------------------------- the platform


class Stack(PlatformRun):
    """The platform as the benchmarks run it: ``.env`` with BENCH_SETTINGS and ``extra``."""

    def __init__(self, extra: dict[str, str]) -> None:
        super().__init__({**load_env(), **BENCH_SETTINGS, **extra}, prefix="msh-bench-")


def staff_token(client: httpx.Client, env: dict[str, str]) -> str:
    response = client.post(
        "/api/auth/login", json={"email": env["ADMIN_EMAIL"], "password": env["ADMIN_PASSWORD"]}
    )
    response.raise_for_status()
    return response.json()["access"]


def make_product(client: httpx.Client, token: str, stock: int = STOCK) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/catalog/categories", json={"name": "Bench", "slug": "bench"}, headers=headers)
    sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
    response = client.post(
        "/api/catalog/products",
        json={"sku": sku, "name": f"Bench item {sku}", "price": "9.99", "category": "bench"},
        headers=headers,
    )
    response.raise_for_status()
    product_id = response.json()["id"]
    response = client.post(
        f"/api/catalog/products/{product_id}/stock", json={"quantity": stock}, headers=headers
    )
    response.raise_for_status()
    return product_id


# --------------------------------------------------------------------------- where the CPU goes

# Process families of the platform, told apart by their command lines (first match wins).
FAMILIES = (
    ("orders web", "orders.app"),
    ("orders worker", "orders.worker"),
    ("catalog web", "catalog.app"),
    ("catalog worker", "catalog.worker"),
    ("mainapp web (API, admin, sockets)", "mainapp.asgi"),
    ("mainapp worker", "mainapp.worker"),
    ("gateway", "-m gateway"),
    ("mongodb (nx-27017 or mongod)", "nx-27017"),
    ("mongodb (nx-27017 or mongod)", "mongod "),
    ("postgresql", "postgres"),
    ("redis", "redis-server"),
    ("load generator", "bench.orders_bench"),
)


def cpu_seconds_by_family() -> dict[str, float]:
    """User + system CPU seconds of every live process, summed per family (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        family = next((name for name, key in FAMILIES if key in cmdline), None)
        if family is not None:
            totals[family] = totals.get(family, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def cpu_per_order(before: dict[str, float], after: dict[str, float], orders: int) -> dict:
    """Milliseconds of CPU per confirmed order, per process family, heaviest first."""
    spent = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    return {
        name: round(seconds / orders * 1000, 2)
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
        if orders and seconds > 0
    }


# --------------------------------------------------------------------------- load


async def place(
    client: httpx.AsyncClient,
    token: str,
    product_id: str,
    placed: list[str],
    http_latency: list[float],
    errors: list[str],
) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(
            "/api/orders",
            json={"lines": [{"product_id": product_id, "quantity": 1}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        errors.append(type(exc).__name__)
        return
    if response.status_code != 202:
        errors.append(str(response.status_code))
        return
    http_latency.append(time.perf_counter() - started)
    placed.append(response.json()["id"])


async def steady(url: str, tokens: list[str], product_id: str, rate: float, seconds: float):
    placed: list[str] = []
    http_latency: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            token = tokens[n % len(tokens)]
            tasks.append(
                asyncio.create_task(place(client, token, product_id, placed, http_latency, errors))
            )
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return placed, http_latency, errors, elapsed


async def saturate(url: str, tokens: list[str], product_id: str, clients: int, seconds: float):
    placed: list[str] = []
    http_latency: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def shopper(index: int) -> None:
            n = index
            while time.perf_counter() < deadline:
                await place(
                    client, tokens[n % len(tokens)], product_id, placed, http_latency, errors
                )
                n += clients

        start = time.perf_counter()
        await asyncio.gather(*(shopper(i) for i in range(clients)))
        elapsed = time.perf_counter() - start
    return placed, http_latency, errors, elapsed


def wait_confirmed(env: dict[str, str], order_ids: list[str], timeout: float = 120) -> list[tuple]:
    """(status, created_at, confirmed_at) of each order once none is pending."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(env["ORDERS_DATABASE_URL"], autocommit=True) as db:
        while True:
            rows = db.execute(
                "SELECT status, created_at, confirmed_at FROM orders WHERE id = ANY(%s::uuid[])",
                (order_ids,),
            ).fetchall()
            if all(status != "pending" for status, _, _ in rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.5)


def saga_latencies(rows: list[tuple]) -> list[float]:
    return [
        (confirmed_at - created_at).total_seconds()
        for status, created_at, confirmed_at in rows
        if status == "confirmed"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="orders/s, steady phase")
    parser.add_argument("--seconds", type=float, default=30, help="length of the steady phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent shoppers, saturation")
    parser.add_argument("--saturation-seconds", type=float, default=20)
    parser.add_argument("--shoppers", type=int, default=200, help="distinct users")
    parser.add_argument(
        "--worker-concurrency", default=os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
    )
    args = parser.parse_args()

    stack = Stack(
        {
            "ORDERS_WORKER_CONCURRENCY": args.worker_concurrency,
            "CATALOG_WORKER_CONCURRENCY": args.worker_concurrency,
        }
    )
    try:
        stack.start()
        env = stack.env
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            product_id = make_product(client, staff_token(client, env))
        tokens = [s.token for s in mint_shoppers(env, args.shoppers, ttl_seconds=3600)]

        # A short warm-up: connections, JWKS caches, first-use imports.
        asyncio.run(steady(stack.url, tokens, product_id, 10, 2))

        print(f"steady: {args.rate:g} orders/s for {args.seconds:g} s ...", flush=True)
        placed, http_latency, errors, elapsed = asyncio.run(
            steady(stack.url, tokens, product_id, args.rate, args.seconds)
        )
        rows = wait_confirmed(env, placed)
        steady_result = {
            "rate_target": args.rate,
            "placed": len(placed),
            "placed_per_s": round(len(placed) / elapsed, 1),
            "errors": len(errors),
            "confirmed": sum(1 for status, _, _ in rows if status == "confirmed"),
            "placed_to_confirmed": summary_ms(saga_latencies(rows)),
            "checkout_http": summary_ms(http_latency),
        }
        print(json.dumps(steady_result, indent=2), flush=True)

        print(
            f"saturation: {args.clients} clients for {args.saturation_seconds:g} s ...", flush=True
        )
        cpu_before = cpu_seconds_by_family()
        placed, http_latency, errors, elapsed = asyncio.run(
            saturate(stack.url, tokens, product_id, args.clients, args.saturation_seconds)
        )
        rows = wait_confirmed(env, placed, timeout=300)
        cpu_after = cpu_seconds_by_family()
        confirmed = [row for row in rows if row[0] == "confirmed"]
        span = (
            (max(row[2] for row in confirmed) - min(row[1] for row in confirmed)).total_seconds()
            if confirmed
            else float("nan")
        )
        saturation_result = {
            "clients": args.clients,
            "placed": len(placed),
            "placed_per_s": round(len(placed) / elapsed, 1),
            "errors": len(errors),
            "confirmed": len(confirmed),
            "confirmed_per_s": round(len(confirmed) / span, 1) if confirmed else 0,
            "placed_to_confirmed": summary_ms(saga_latencies(rows)),
            "checkout_http": summary_ms(http_latency),
            "cpu_ms_per_order": cpu_per_order(cpu_before, cpu_after, len(confirmed)),
        }
        print(json.dumps(saturation_result, indent=2), flush=True)
    finally:
        stack.stop()

    report = {
        "benchmark": "orders placed -> confirmed",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {"worker_concurrency": args.worker_concurrency, "shoppers": args.shoppers},
        "steady": steady_result,
        "saturation": saturation_result,
        "targets": {
            "p50_ms_at_20_per_s": TARGET_P50_MS,
            "p99_ms_at_20_per_s": TARGET_P99_MS,
            "confirmed_per_s_at_saturation": TARGET_CONFIRMED_PER_S,
        },
        "met": {
            "p50": steady_result["placed_to_confirmed"]["p50_ms"] <= TARGET_P50_MS,
            "p99": steady_result["placed_to_confirmed"]["p99_ms"] <= TARGET_P99_MS,
            "throughput": saturation_result["confirmed_per_s"] >= TARGET_CONFIRMED_PER_S,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    write_report()
    steady_lat = steady_result["placed_to_confirmed"]
    print(
        f"\nplaced -> confirmed at {args.rate:g}/s: p50 {steady_lat['p50_ms']} ms, "
        f"p95 {steady_lat['p95_ms']} ms, p99 {steady_lat['p99_ms']} ms "
        f"(targets p50 <= {TARGET_P50_MS}, p99 <= {TARGET_P99_MS})\n"
        f"saturation ({args.clients} clients): {saturation_result['confirmed_per_s']} confirmed "
        f"orders/s (target >= {TARGET_CONFIRMED_PER_S})\n"
        f"written to {RESULTS.relative_to(ROOT)}, {REPORT.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
