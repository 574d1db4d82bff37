"""Fault drills while orders flow, then the saga's invariants (``make chaos``).

Starts the whole platform natively as ``make dev`` does, with its shipped settings (``.env``
under the environment: the visibility timeout, the sweepers, the breakers are the ones a user
gets) and durable data stores like compose's (PostgreSQL with fsync, Redis with an append-only
file), on throwaway directories and free ports. Shoppers place orders through the gateway at a
steady rate the whole time (one or two lines each, against a few products with limited stock,
so that orders are both confirmed and rejected), cancel some of them, and list their orders;
a browser reads the catalog. Meanwhile, one after another:

1. **baseline**: no fault, for reference;
2. **worker kills**: catalog's and orders' Celery workers SIGKILLed at random moments, each
   started again a moment later (a crash and a container restart);
3. **Redis outage**: the broker stopped for 10 s and started again;
4. **catalog down**: the catalog service stopped, then started again;
5. **PostgreSQL restart**: the orders database's server restarted (natively, mainapp's database
   lives in the same server; in compose each has its own).

Two poison messages (malformed envelopes) go to catalog's and orders' queues at the start, on
purpose. When the traffic stops, every accepted order must reach an outcome within a bound, and
then: no order lost, none stuck, none applied twice, no stock oversold, the stock invariant
holds, every confirmed order holds its reservation, the dead-letter stores hold exactly the
poison messages, and no process died on its own. Each drill and each invariant prints a
PASS/FAIL line with its figures; ``bench/results/chaos.json`` and ``bench/REPORT.md`` get them.
The exit status is 1 when any line fails.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis
from pymongo import MongoClient

from bench.orders_bench import make_product, percentile, staff_token
from bench.report import machine, write_report
from devstack.config import load_env
from devstack.shoppers import mint_shoppers
from devstack.stack import PlatformRun

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chaos.json"
# How long the catalog's stock may take to agree with the orders once every order has its
# outcome (the check's bound; it usually agrees within a second).
STOCK_SETTLE_SECONDS = 30
LOGS = ROOT / ".run" / "chaos-logs"  # every process's log of the last run, kept for a look

# The drills may exceed the shipped gateway limits with one client address; nothing else changes.
CHAOS_SETTINGS = {
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_ANONYMOUS": "100000/minute",
    "RATE_LIMIT_USER": "100000/minute",
    "RATE_LIMIT_STRICT": "100000/minute",
}
WORKERS = ("catalog-worker", "orders-worker")
SETTLED = ("confirmed", "rejected", "cancelled")
RECOVERY_SECONDS = 60  # longest wait, after a drill's pause, for the platform to serve again


# --------------------------------------------------------------------------- the platform


class ChaosStack(PlatformRun):
    """The platform with every process and data store under the drills' hands; durable data
    stores like compose's. Its logs are kept in .run/chaos-logs/."""

    def __init__(self, settings: dict[str, str]) -> None:
        super().__init__(settings, prefix="msh-chaos-", durable=True)
        self.killed: set[str] = set()  # stopped by a drill, not by themselves
        self.crashes: Counter[str] = Counter()

    def stop(self, keep_logs: Path | None = LOGS) -> None:
        super().stop(keep_logs)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        self.killed.add(name)
        process = self.processes[name]
        process.signal(signum)
        process.process.wait()

    def start_again(self, name: str) -> None:
        self.restart(name)
        self.killed.discard(name)

    def supervise(self) -> None:
        """What a container restart policy does: start again a process that exited by itself."""
        for name, process in list(self.processes.items()):
            if name not in self.killed and not process.alive:
                self.crashes[name] += 1
                print(f"  ! {name} exited by itself (code {process.process.returncode})")
                self.start_again(name)

    def mongo(self):
        return MongoClient(self.env["MONGO_URL"])[self.env.get("CATALOG_MONGO_DB", "catalog")]


# --------------------------------------------------------------------------- the traffic


@dataclass
class Call:
    kind: str  # checkout | cancel | my-orders | browse (catalog) | profile (mainapp)
    started: float
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    order_id: str | None = None
    lines: tuple[tuple[str, int], ...] = ()
    error_code: str | None = None


@dataclass
class Traffic:
    """Shoppers and a browser, through the gateway, for as long as the drills run."""

    url: str
    tokens: list[str]
    products: list[str]
    rate: float
    cancel_share: float
    calls: list[Call] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.rng = random.Random(8)  # noqa: S311 - traffic shape, not secrets
        self.owner: dict[str, str] = {}  # order id -> its shopper's token
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=24)
        self.threads = [
            threading.Thread(target=self._checkouts, daemon=True),
            threading.Thread(target=self._browse, daemon=True),
        ]

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.url, timeout=15)
        return self.local.client

    def _call(self, kind: str, method: str, path: str, token: str | None, **kwargs) -> Call:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.time()
        clock = time.perf_counter()
        try:
            response = self.client().request(method, path, headers=headers, **kwargs)
            status, body = response.status_code, response.content
        except httpx.HTTPError:
            status, body = 0, b""
        call = Call(kind, started, time.perf_counter() - clock, status)
        if status >= 400 and body:
            try:
                call.error_code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                call.error_code = "not the platform's error shape"
        elif status == 202 and kind == "checkout":
            call.order_id = json.loads(body)["id"]
        self.calls.append(call)
        return call

    def _checkout(self, token: str, lines: tuple[tuple[str, int], ...]) -> None:
        body = {"lines": [{"product_id": p, "quantity": q} for p, q in lines]}
        call = self._call("checkout", "POST", "/api/orders", token, json=body)
        call.lines = lines
        if call.order_id:
            self.owner[call.order_id] = token
            if self.rng.random() < self.cancel_share:
                time.sleep(self.rng.uniform(0.2, 2))
                self._call("cancel", "POST", f"/api/orders/{call.order_id}/cancel", token)
        if self.rng.random() < 0.5:
            self._call("my-orders", "GET", "/api/orders", token)

    def _checkouts(self) -> None:
        """Open model: one checkout every 1/rate s, whatever the answers take."""
        start, n = time.perf_counter(), 0
        while not self.stop.is_set():
            delay = start + n / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            token = self.tokens[n % len(self.tokens)]
            chosen = self.rng.sample(self.products, self.rng.choice((1, 1, 2)))
            lines = tuple((p, self.rng.randint(1, 3)) for p in chosen)
            self.pool.submit(self._checkout, token, lines)
            n += 1

    def _browse(self) -> None:
        """A visitor reading the catalog, and a signed-in user reading their profile (mainapp)."""
        n = 0
        while not self.stop.is_set():
            self._call("browse", "GET", "/api/catalog/products", None, params={"page_size": 10})
            if n % 2 == 0:
                self._call("profile", "GET", "/api/users/me", self.tokens[n % len(self.tokens)])
            n += 1
            self.stop.wait(0.25)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.pool.shutdown(wait=True)

    def healthy(self) -> bool:
        """The latest checkout was accepted and the latest catalog read answered: the next
        drill starts from a recovered platform (breakers closed again), not from the last
        drill's tail."""
        latest = {c.kind: c.status for c in self.calls[-40:]}
        return latest.get("checkout") == 202 and latest.get("browse") == 200

    def accepted_ids(self) -> list[str]:
        """The ids of every order a checkout placed (answered 202), in the order placed."""
        return [c.order_id for c in self.calls if c.kind == "checkout" and c.order_id]

    def between(self, since: float, until: float, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind and since <= c.started < until]

    def first_ok_after(self, since: float, kind: str, status: int) -> float | None:
        """Seconds from ``since`` to the first later call of ``kind`` answered ``status``."""
        oks = [
            c.started
            for c in self.calls
            if c.kind == kind and c.started >= since and c.status == status
        ]
        return round(min(oks) - since, 2) if oks else None


# --------------------------------------------------------------------------- the drills


@dataclass
class Drill:
    name: str
    since: float = 0.0
    until: float = 0.0
    notes: dict = field(default_factory=dict)


def statuses(calls: list[Call]) -> dict[str, int]:
    return dict(sorted(Counter(str(c.status) for c in calls).items()))


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1) if values else float("nan")


def baseline(stack: ChaosStack, seconds: float) -> Drill:
    drill = Drill("baseline (no fault)", since=time.time())
    time.sleep(seconds)
    drill.until = time.time()
    return drill


def in_flight(stack: ChaosStack, queue: str) -> int:
    """Messages of ``queue`` a worker has taken and not yet acknowledged (kombu's ``unacked``)."""
    try:
        entries = redis.Redis.from_url(stack.env["REDIS_URL"]).hvals("unacked")
    except redis.RedisError:
        return 0
    return sum(1 for raw in entries if json.loads(raw)[2] == queue)


def worker_kills(stack: ChaosStack, seconds: float, rng: random.Random) -> Drill:
    """Each worker in turn, at a random moment, SIGKILLed; preferably with events in its hands
    (it is watched for up to 3 s for a moment when it holds one), then started again."""
    drill = Drill("workers SIGKILLed and restarted", since=time.time())
    kills: Counter[str] = Counter()
    caught = 0  # messages in the workers' hands at the moments they were killed
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(1.5, 4))
        name = WORKERS[turn % len(WORKERS)]
        turn += 1
        queue = name.removesuffix("-worker")
        watch_until = time.monotonic() + 3
        while not (holding := in_flight(stack, queue)) and time.monotonic() < watch_until:
            time.sleep(0.002)
        stack.kill(name)
        kills[name] += 1
        caught += holding
        time.sleep(rng.uniform(0.3, 2))
        stack.start_again(name)
    drill.until = time.time()
    drill.notes["kills"] = dict(kills)
    drill.notes["messages_in_flight_at_kills"] = caught
    return drill


def redis_outage(stack: ChaosStack, seconds: float) -> Drill:
    drill = Drill("Redis stopped and started again", since=time.time())
    redis = stack.platform.infra.redis
    redis.stop()
    time.sleep(seconds)
    drill.until = time.time()
    redis.start()
    drill.notes["back_at"] = time.time()
    return drill


def catalog_down(stack: ChaosStack, seconds: float) -> Drill:
    drill = Drill("catalog service stopped and started again", since=time.time())
    stack.kill("catalog", signal.SIGTERM)
    time.sleep(seconds)
    drill.until = time.time()
    stack.start_again("catalog")
    drill.notes["back_at"] = time.time()
    return drill


def postgres_restart(stack: ChaosStack, seconds: float) -> Drill:
    """Stopped ("fast" shutdown: clients cut off), down ``seconds``, then started again."""
    drill = Drill("PostgreSQL restarted", since=time.time())
    postgres = stack.platform.infra.postgres
    postgres.stop()
    drill.notes["down_at"] = time.time()
    time.sleep(seconds)
    postgres.start()
    drill.until = drill.notes["back_at"] = time.time()
    return drill


# --------------------------------------------------------------------------- the verdicts


@dataclass
class Line:
    name: str
    passed: bool
    line: str
    figures: dict = field(default_factory=dict)

    def print(self) -> None:
        print(f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.line}", flush=True)


@dataclass
class DrillCalls:
    """What the traffic saw while one drill ran, and the figures every drill reports."""

    drill: Drill
    traffic: Traffic
    settle: dict  # order id -> seconds from placement to outcome
    checkouts: list = field(default_factory=list)
    browse: list = field(default_factory=list)
    mine: list = field(default_factory=list)
    profile: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    slowest: float = 0.0
    all_ok: bool = True
    figures: dict = field(default_factory=dict)

    @classmethod
    def of(cls, drill: Drill, traffic: Traffic, settle: dict) -> DrillCalls:
        window = (drill.since, drill.until)
        calls = cls(drill, traffic, settle)
        calls.checkouts = traffic.between(*window, "checkout")
        calls.browse = traffic.between(*window, "browse")
        calls.mine = traffic.between(*window, "my-orders")
        calls.profile = traffic.between(*window, "profile")
        calls.accepted = [c.order_id for c in calls.checkouts if c.order_id]
        calls.slowest = max((settle.get(o, float("inf")) for o in calls.accepted), default=0.0)
        calls.figures = {
            "seconds": round(drill.until - drill.since, 1),
            "checkouts": statuses(calls.checkouts),
            "checkout_p50_ms": ms([c.seconds for c in calls.checkouts], 50),
            "checkout_max_ms": ms([c.seconds for c in calls.checkouts], 100),
            "browse": statuses(calls.browse),
            "my_orders": statuses(calls.mine),
            "profile": statuses(calls.profile),
            "accepted_orders_settled_within_s": round(calls.slowest, 1),
        }
        calls.all_ok = all(c.status == 202 for c in calls.checkouts) and all(
            c.status == 200 for c in calls.browse + calls.mine + calls.profile
        )
        return calls


def judge_drills(drills: list[Drill], traffic: Traffic, outcome: dict) -> list[Line]:
    """Each drill's figures from the calls made during it, and its pass/fail rule."""
    lines = []
    for drill in drills:
        calls = DrillCalls.of(drill, traffic, outcome["settle_seconds"])
        judge = next(
            (rule for prefix, rule in DRILL_RULES if drill.name.startswith(prefix)), _judge_calm
        )
        passed, text = judge(calls)
        lines.append(Line(drill.name, passed, text, calls.figures))
    return lines


def _judge_workers(calls: DrillCalls) -> tuple[bool, str]:
    notes, figures = calls.drill.notes, calls.figures
    figures["kills"] = notes["kills"]
    figures["messages_in_flight_at_kills"] = notes["messages_in_flight_at_kills"]
    passed = calls.all_ok and sum(notes["kills"].values()) > 0
    text = (
        f"{sum(notes['kills'].values())} kills {notes['kills']}, "
        f"{figures['messages_in_flight_at_kills']} events in the killed workers' hands; "
        f"{len(calls.accepted)} orders accepted meanwhile, every answer 2xx: {calls.all_ok}; "
        f"the slowest settled {calls.slowest:.1f} s after placement"
    )
    return passed, text


def _judge_redis(calls: DrillCalls) -> tuple[bool, str]:
    back, settle, figures = calls.drill.notes["back_at"], calls.settle, calls.figures
    during = [settle.get(o, float("inf")) for o in calls.accepted]
    figures["outage_orders_out_after_redis_back_s"] = round(
        max((c.started + settle.get(c.order_id, float("inf")) for c in calls.checkouts
             if c.order_id), default=back) - back, 1
    )  # fmt: skip
    passed = calls.all_ok and all(s != float("inf") for s in during)
    text = (
        f"{len(calls.accepted)} orders accepted during the {figures['seconds']} s outage "
        f"(checkout p50 {figures['checkout_p50_ms']} ms, max "
        f"{figures['checkout_max_ms']} ms), browsing {statuses(calls.browse)}; all settled "
        f"{figures['outage_orders_out_after_redis_back_s']} s after Redis was back"
    )
    return passed, text


def _judge_catalog(calls: DrillCalls) -> tuple[bool, str]:
    # A checkout in flight when the catalog stopped may still complete (graceful stop);
    # once it is down, every checkout must be refused, with a 503, quickly.
    drill, checkouts, figures = calls.drill, calls.checkouts, calls.figures
    late = [c for c in checkouts if c.started >= drill.since + 1]
    refused = [c for c in late if c.status == 503]
    recovered = calls.traffic.first_ok_after(drill.notes["back_at"], "checkout", 202)
    figures["first_checkout_accepted_after_restart_s"] = recovered
    figures["refused_checkout_p50_ms"] = ms([c.seconds for c in refused], 50)
    figures["refused_checkout_p95_ms"] = ms([c.seconds for c in refused], 95)
    passed = (
        bool(late)
        and len(refused) == len(late)
        and all(c.status in (202, 503) for c in checkouts)
        and all(c.status == 200 for c in calls.mine + calls.profile)
        and figures["refused_checkout_p95_ms"] <= 1000
        and recovered is not None
    )
    text = (
        f"checkout answered {statuses(checkouts)} (503 p50 "
        f"{figures['refused_checkout_p50_ms']} ms, p95 "
        f"{figures['refused_checkout_p95_ms']} ms), my orders {statuses(calls.mine)}, profile "
        f"{statuses(calls.profile)}, "
        f"browsing the catalog {statuses(calls.browse)}; first checkout accepted {recovered} s "
        "after the catalog was back"
    )
    return passed, text


def _judge_postgres(calls: DrillCalls) -> tuple[bool, str]:
    drill, figures = calls.drill, calls.figures
    recovered = calls.traffic.first_ok_after(drill.notes["back_at"], "checkout", 202)
    figures["down_s"] = round(drill.until - drill.notes["down_at"], 1)
    figures["first_checkout_accepted_after_restart_s"] = recovered
    after = [
        c
        for c in calls.traffic.calls
        if c.kind in ("checkout", "my-orders", "profile")
        and drill.since <= c.started < drill.until + 10
    ]
    no_500 = all(c.status in (200, 202, 503) for c in after)
    browse_ok = all(c.status == 200 for c in calls.browse)
    passed = no_500 and browse_ok and recovered is not None and recovered <= 15
    text = (
        f"down {figures['down_s']} s; orders and profile calls then and 10 s after "
        f"{statuses(after)} (only 2xx or 503 allowed), browsing {statuses(calls.browse)}; "
        f"first checkout accepted {recovered} s after the server was back"
    )
    return passed, text


def _judge_calm(calls: DrillCalls) -> tuple[bool, str]:
    text = (
        f"{len(calls.accepted)} orders, checkout p50 {calls.figures['checkout_p50_ms']} ms, every "
        f"answer 2xx: {calls.all_ok}; slowest settled {calls.slowest:.1f} s after placement"
    )
    return calls.all_ok, text


# Which rule judges a drill, by the start of its name (others: every answer 2xx).
DRILL_RULES = (
    ("workers", _judge_workers),
    ("Redis", _judge_redis),
    ("catalog", _judge_catalog),
    ("PostgreSQL", _judge_postgres),
)


def wait_for_outcomes(env: dict[str, str], order_ids: list[str], bound: float) -> float:
    """Seconds until no accepted order is pending (or ``bound``)."""
    started = time.monotonic()
    with psycopg.connect(env["ORDERS_DATABASE_URL"], autocommit=True) as db:
        while time.monotonic() - started < bound:
            (pending,) = db.execute(
                "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = 'pending'",
                (order_ids,),
            ).fetchone()
            if not pending:
                break
            print(f"  {pending} orders pending...", flush=True)
            time.sleep(2)
    return round(time.monotonic() - started, 1)


def wait_for_stock_to_settle(
    stack: ChaosStack, traffic: Traffic, env: dict[str, str], ids: list[str]
) -> dict[str, dict]:
    """The orders once the catalog's stock agrees with them (or after STOCK_SETTLE_SECONDS):
    the last cancellations' releases, and events a fault left to the outbox sweep (which
    takes them once they are SWEEP_MIN_AGE_SECONDS old), arrive after the orders' outcomes."""
    started = time.monotonic()
    while True:
        orders = read_orders(env, ids)
        settled = all(line.passed for line in _stock_invariants(stack, traffic, orders))
        if settled or time.monotonic() - started > STOCK_SETTLE_SECONDS:
            waited = time.monotonic() - started
            print(f"  stock agrees with the orders: {settled}, after {waited:.1f} s", flush=True)
            return orders
        time.sleep(0.5)


def read_orders(env: dict[str, str], order_ids: list[str]) -> dict[str, dict]:
    with psycopg.connect(env["ORDERS_DATABASE_URL"], autocommit=True) as db:
        rows = db.execute(
            "SELECT o.id::text, o.status, o.version, EXTRACT(EPOCH FROM "
            "  COALESCE(o.confirmed_at, o.rejected_at, o.cancelled_at) - o.created_at), "
            "  o.confirmed_at IS NOT NULL, "
            "  (SELECT count(*) FROM outbox_events e WHERE e.type IN ('order.confirmed', "
            "   'order.rejected') AND e.envelope->'data'->>'order_id' = o.id::text), "
            "  (SELECT json_object_agg(l.product_id, l.quantity) FROM order_lines l "
            "   WHERE l.order_id = o.id) "
            "FROM orders o WHERE o.id = ANY(%s::uuid[])",
            (order_ids,),
        ).fetchall()
    return {
        r[0]: {"status": r[1], "version": r[2], "settle": float(r[3]) if r[3] is not None else None,
               "was_confirmed": r[4], "outcomes": r[5], "lines": r[6] or {}}
        for r in rows
    }  # fmt: skip


def settle_seconds(orders: dict[str, dict]) -> dict[str, float]:
    """Order id -> seconds from placement to outcome, for the orders that reached one."""
    return {o: r["settle"] for o, r in orders.items() if r["settle"]}


def dead_letter_ids(stack: ChaosStack) -> dict[str, list[str]]:
    env = stack.env
    found: dict[str, list[str]] = {}
    with psycopg.connect(env["ORDERS_DATABASE_URL"], autocommit=True) as db:
        found["orders"] = [
            r[0] for r in db.execute("SELECT event_id FROM dead_letters WHERE replayed_at IS NULL")
        ]
    with psycopg.connect(env["MAINAPP_DATABASE_URL"], autocommit=True) as db:
        found["mainapp"] = [
            r[0]
            for r in db.execute(
                "SELECT event_id FROM eventbus_deadletter WHERE replayed_at IS NULL"
            )
        ]
    catalog = stack.mongo()["dead_letters"].find({"state": "dead"})
    found["catalog"] = [d["event_id"] for d in catalog]
    return found


def judge_invariants(
    stack: ChaosStack,
    traffic: Traffic,
    orders: dict[str, dict],
    drain_seconds: float,
    bound: float,
    poison: dict[str, str],
) -> list[Line]:
    """The invariants after the drills: orders, stock, and the processes' own health."""
    ids = traffic.accepted_ids()
    return [
        *_order_invariants(orders, ids, drain_seconds, bound),
        *_stock_invariants(stack, traffic, orders),
        *_process_invariants(stack, poison),
    ]


def _order_invariants(
    orders: dict[str, dict], ids: list[str], drain_seconds: float, bound: float
) -> list[Line]:
    """No accepted order lost, none stuck, none applied twice."""
    lines = []
    lost = [o for o in ids if o not in orders]
    lines.append(Line("no order lost", not lost,
                      f"{len(ids) - len(lost)} of {len(ids)} accepted orders are in the orders "
                      f"database"))  # fmt: skip

    stuck = [o for o, row in orders.items() if row["status"] not in SETTLED]
    settles = [row["settle"] for row in orders.values() if row["settle"] is not None]
    lines.append(Line(
        "no order stuck", not stuck,
        f"{len(orders) - len(stuck)} of {len(orders)} reached an outcome, the last "
        f"{drain_seconds} s after the traffic stopped (bound {bound:g} s); placed -> outcome p50 "
        f"{ms(settles, 50)} ms, p99 {ms(settles, 99)} ms, max {ms(settles, 100)} ms",
        {"stuck": len(stuck), "max_settle_s": round(max(settles, default=0), 1)},
    ))  # fmt: skip

    # One outcome per order: one status change from pending (and one more for a cancel after
    # confirmation), one outcome event.
    expected_version = {"confirmed": 2, "rejected": 2}
    twice = [
        o
        for o, row in orders.items()
        if row["outcomes"] > 1
        or row["version"] != expected_version.get(row["status"], 3 if row["was_confirmed"] else 2)
    ]
    lines.append(Line("none applied twice", not twice,
                      f"{len(orders) - len(twice)} of {len(orders)} orders changed status once "
                      f"per step and published one outcome"))  # fmt: skip
    return lines


def _stock_invariants(stack: ChaosStack, traffic: Traffic, orders: dict[str, dict]) -> list[Line]:
    """Never oversold; available + reserved = received; every confirmed order holds its units."""
    lines = []
    found = stack.mongo()["products"].find({"_id": {"$in": traffic.products}})
    products = {d["_id"]: d for d in found}
    holds = _holds(stack, traffic.products)
    holding, missing_holds = _holdings(orders, holds)
    oversold = [p for p, d in products.items() if d["available"] < 0 or holding[p] > d["received"]]
    lines.append(Line(
        "no stock oversold", not oversold,
        "confirmed units / received: " + ", ".join(
            f"{holding[p]}/{d['received']}" for p, d in sorted(products.items())),
    ))  # fmt: skip
    broken = [
        p
        for p, d in products.items()
        if d["available"] + d["reserved"] != d["received"]
        or d["reserved"] != sum(holds[p].values())
        or d.get("pending")
        or d["reserved"] != holding[p]
    ]
    detail = "; ".join(
        f"{p}: available {products[p]['available']}, reserved {products[p]['reserved']}, "
        f"received {products[p]['received']}, held {sum(holds[p].values())}, confirmed "
        f"{holding[p]}, pending {len(products[p].get('pending') or ())}"
        for p in broken
    )
    lines.append(Line(
        "stock invariant", not broken,
        "available + reserved = received, reserved = the confirmed orders' units, for "
        f"{len(products) - len(broken)} of {len(products)} products"
        + (f" (broken: {detail})" if broken else ""),
    ))  # fmt: skip
    lines.append(Line("every confirmed order holds its reservation", not missing_holds,
                      f"{len(missing_holds)} confirmed orders without their hold"))  # fmt: skip
    return lines


def _holds(stack: ChaosStack, products: list[str]) -> dict[str, dict[str, int]]:
    """Per product: the catalog's held units per order id (its hold documents)."""
    holds: dict[str, dict[str, int]] = {p: {} for p in products}
    query = {"product_id": {"$in": products}, "state": "held"}
    for doc in stack.mongo()["stock_holds"].find(query):
        holds[doc["product_id"]][doc["order_id"]] = doc["quantity"]
    return holds


def _holdings(orders: dict[str, dict], holds: dict) -> tuple[Counter, list[str]]:
    """Units each product holds for confirmed orders, and the confirmed orders whose
    reservation is not the catalog's record of it."""
    holding: Counter = Counter()
    missing_holds = []
    for order_id, row in orders.items():
        if row["status"] == "confirmed":
            for product_id, quantity in row["lines"].items():
                holding[product_id] += quantity
                held = holds[product_id].get(order_id)
                if held != quantity:
                    missing_holds.append(order_id)
    return holding, missing_holds


def _process_invariants(stack: ChaosStack, poison: dict[str, str]) -> list[Line]:
    """Only the injected poison dead-lettered; no process died by itself."""
    lines = []
    dead = dead_letter_ids(stack)
    expected = {"catalog": [poison["catalog"]], "orders": [poison["orders"]], "mainapp": []}
    exact = all(sorted(dead[s]) == sorted(expected[s]) for s in expected)
    lines.append(Line(
        "dead letters: only the poison injected", exact,
        ", ".join(f"{s} {len(dead[s])}" for s in sorted(dead))
        + " (expected catalog 1, orders 1, mainapp 0: the two malformed messages)",
    ))  # fmt: skip

    crashes = dict(stack.crashes)
    lines.append(Line("no process died on its own", not crashes,
                      f"restarted after exiting by themselves: {crashes or 'none'}"))  # fmt: skip
    return lines


# --------------------------------------------------------------------------- set-up


def inject_poison(env: dict[str, str]) -> dict[str, str]:
    """A malformed envelope (``version`` not an integer) on catalog's and orders' queues."""
    from msh_events.celery_app import make_celery_app
    from msh_events.publisher import CeleryPublisher

    publisher = CeleryPublisher(make_celery_app("chaos", env["REDIS_URL"]))
    ids = {}
    for queue in ("catalog", "orders"):
        ids[queue] = str(uuid.uuid4())
        message = {"id": ids[queue], "type": "order.placed", "producer": "chaos",
                   "version": "not a number", "occurred_at": "2026-01-01T00:00:00+00:00",
                   "data": {}}  # fmt: skip
        publisher.send(message, queue)
    return ids


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=4, help="checkouts per second")
    parser.add_argument("--products", type=int, default=6)
    parser.add_argument("--stock", type=int, default=150, help="units received per product")
    parser.add_argument("--cancel-share", type=float, default=0.1)
    parser.add_argument("--kill-seconds", type=float, default=40)
    parser.add_argument("--redis-seconds", type=float, default=10)
    parser.add_argument("--catalog-seconds", type=float, default=15)
    parser.add_argument("--postgres-seconds", type=float, default=5, help="PostgreSQL down")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=8,
        help="pause between drills, then until checkout and browsing work again",
    )
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def run_drills(
    stack: ChaosStack, traffic: Traffic, args: argparse.Namespace, rng: random.Random
) -> list[Drill]:
    """Every drill in turn; after each, the stack must serve again within the settle time."""
    drills = []
    plan = [
        lambda: baseline(stack, 10),
        lambda: worker_kills(stack, args.kill_seconds, rng),
        lambda: redis_outage(stack, args.redis_seconds),
        lambda: catalog_down(stack, args.catalog_seconds),
        lambda: postgres_restart(stack, args.postgres_seconds),
    ]
    for run in plan:
        drill = run()
        print(f"  {drill.name} ({drill.until - drill.since:.1f} s) {drill.notes}", flush=True)
        drills.append(drill)
        deadline = time.monotonic() + args.settle_seconds
        while time.monotonic() < deadline or not traffic.healthy():
            stack.supervise()
            if time.monotonic() > deadline + RECOVERY_SECONDS:
                raise RuntimeError(f"not recovered {RECOVERY_SECONDS} s after: {drill.name}")
            time.sleep(0.5)
    return drills


def chaos_result(
    args: argparse.Namespace,
    settings: dict[str, str],
    started: float,
    traffic: Traffic,
    orders: dict[str, dict],
    drill_lines: list[Line],
    invariant_lines: list[Line],
) -> dict:
    """What results/chaos.json records of one run."""
    counts = Counter(row["status"] for row in orders.values())
    checkouts = [c for c in traffic.calls if c.kind == "checkout"]
    shown = ("CELERY_VISIBILITY_TIMEOUT", "CELERY_RESTORE_INTERVAL", "OUTBOX_SWEEP_SECONDS",
             "ORDERS_PENDING_REPUBLISH_SECONDS", "ORDERS_CATALOG_BREAKER_FAILURES",
             "ORDERS_CATALOG_BREAKER_RESET_SECONDS")  # fmt: skip
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {
            "checkouts_per_s": str(args.rate),
            "products": f"{args.products} x {args.stock} units",
            "cancel_share": str(args.cancel_share),
            **{key: settings.get(key, "") for key in shown},
        },
        "duration_s": round(time.time() - started, 1),
        "orders": {
            "placed": len(orders),
            "refused": sum(1 for c in checkouts if c.status != 202),
            "confirmed": counts.get("confirmed", 0),
            "rejected": counts.get("rejected", 0),
            "cancelled": counts.get("cancelled", 0),
            "other": sum(v for k, v in counts.items() if k not in SETTLED),
        },
        "scenarios": [vars(line) for line in drill_lines],
        "invariants": [
            {"name": line.name, "passed": line.passed, "line": line.line}
            for line in invariant_lines
        ],
        "passed": all(line.passed for line in drill_lines + invariant_lines),
    }


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - drill timing, not secrets

    settings = {**load_env(), **CHAOS_SETTINGS}
    # The bound within which every order must have its outcome once the traffic stops: a
    # killed worker's message comes back after the visibility timeout and the restore sweep; an
    # order whose event was lost altogether is re-published by the sweeper.
    bound = (
        2 * float(settings.get("CELERY_VISIBILITY_TIMEOUT", "60"))
        + float(settings.get("ORDERS_PENDING_REPUBLISH_SECONDS", "60"))
        + 60
    )
    stack = ChaosStack(settings)
    traffic: Traffic | None = None
    started = time.time()
    try:
        stack.start()
        env = stack.env
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            token = staff_token(client, env)
            products = [make_product(client, token, args.stock) for _ in range(args.products)]
        tokens = [s.token for s in mint_shoppers(env, 100, ttl_seconds=3600)]
        poison = inject_poison(env)
        traffic = Traffic(stack.url, tokens, products, args.rate, args.cancel_share)
        traffic.start()
        print(f"traffic: {args.rate:g} checkouts/s, browsing 4/s; drills:", flush=True)

        drills = run_drills(stack, traffic, args, rng)
        traffic.finish()
        print("traffic stopped; waiting for every accepted order's outcome...", flush=True)
        ids = traffic.accepted_ids()
        drain = wait_for_outcomes(env, ids, bound)
        orders = wait_for_stock_to_settle(stack, traffic, env, ids)
        stack.supervise()
        outcome = {"settle_seconds": settle_seconds(orders)}
        drill_lines = judge_drills(drills, traffic, outcome)
        invariant_lines = judge_invariants(stack, traffic, orders, drain, bound, poison)
    finally:
        if traffic is not None:
            traffic.finish()
        stack.stop()

    print()
    for line in drill_lines + invariant_lines:
        line.print()
    result = chaos_result(args, settings, started, traffic, orders, drill_lines, invariant_lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_report()
    print(f"\n{'PASSED' if result['passed'] else 'FAILED'}; written: {RESULTS.relative_to(ROOT)}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
