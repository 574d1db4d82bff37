"""Load: the shop through the gateway at 10, 50 and 100 simulated users (``make bench-load``).

Starts the whole platform natively as ``make dev`` does (throwaway data, free ports, logs at
WARNING, gateway limits and login throttles opened so the load is not throttled), registers a
pool of shoppers (one through the API, the rest as rows with that user's password hash, so the
start-up does not spend minutes hashing), gives the demo catalog plenty of stock, samples the
stack's memory at rest, then runs ``locust --headless`` (bench/load/locustfile.py) once per user
level for ``--seconds``. While each level runs, the resident memory (RSS) of every process of the
stack is sampled every 0.5 s (psutil; the process trees this script started, the load generator
excluded); at rest, also their proportional set size (PSS), which counts each shared page
once. Placed -> confirmed latency of the checkouts is read from the orders database
(``created_at`` -> ``confirmed_at``). Figures go to ``bench/results/load.json`` and
``bench/REPORT.md`` (bench/report.py renders every benchmark's results there). A benchmark, not
a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Literal

import httpx
import psutil
import psycopg

from bench.orders_bench import FAMILIES, Stack, staff_token, summary_ms
from bench.report import GROUPS, REPORT, machine, write_report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "load.json"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PASSWORD = "correct-Horse-battery-9"  # noqa: S105 (throwaway shoppers)
STOCK = 1_000_000

# Targets from the issue (reported, never asserted).
TARGET_USERS, TARGET_P95_MS, TARGET_REST_MIB = 50, 150, 1536

LOAD_SETTINGS = {
    "RATE_LIMIT_ANONYMOUS": "100000/minute",
    "RATE_LIMIT_USER": "100000/minute",
    "RATE_LIMIT_STRICT": "100000/minute",
    "LOGIN_THROTTLE_RATE": "100000/min",
    "REGISTER_THROTTLE_RATE": "100000/min",
}


# --------------------------------------------------------------------------- set-up


def make_users(client: httpx.Client, env: dict[str, str], count: int) -> list[dict]:
    first = f"load-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/api/auth/register", json={"email": first, "password": PASSWORD})
    response.raise_for_status()
    emails = [f"load-{uuid.uuid4().hex[:12]}@example.com" for _ in range(count - 1)]
    with psycopg.connect(env["MAINAPP_DATABASE_URL"], autocommit=True) as db, db.cursor() as cur:
        cur.execute("SELECT password FROM accounts_user WHERE email = %s", (first,))
        (hashed,) = cur.fetchone()
        cur.executemany(
            "INSERT INTO accounts_user (id, password, is_superuser, email, name, is_active, "
            "is_staff, date_joined) VALUES (%s, %s, false, %s, '', true, false, now())",
            [(str(uuid.uuid4()), hashed, email) for email in emails],
        )
    return [{"email": email, "password": PASSWORD} for email in [first, *emails]]


def idle_logins(client: httpx.Client, user: dict, count: int = 12) -> dict:
    """One login at a time on the idle stack (after a warm-up pair): what a single shopper
    waits, mostly the password hash."""
    times = []
    for n in range(count + 2):
        started = time.perf_counter()
        client.post("/api/auth/login", json=user).raise_for_status()
        if n >= 2:
            times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.2)
    times.sort()
    return {
        "count": count,
        "p50_ms": round(times[len(times) // 2], 1),
        "max_ms": round(times[-1], 1),
    }


def login_burst(url: str, users: list[dict], rate: float, count: int = 50) -> dict:
    """Logins at the levels' spawn rate (each user logs in as it starts) on the otherwise idle
    stack, each from a client of its own; ``rate`` 0: ``count`` logins at the same instant.
    What the start-up logins cost without the rest of the load and the load generator."""
    times: list[float] = []
    start = threading.Barrier(count) if not rate else None

    def login(user: dict) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            if start is not None:
                start.wait()
            started = time.perf_counter()
            client.post("/api/auth/login", json=user).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)

    threads = []
    for user in users[:count]:
        threads.append(threading.Thread(target=login, args=(user,)))
        threads[-1].start()
        if rate:
            time.sleep(1 / rate)
    for thread in threads:
        thread.join()
    return {"rate_per_s": rate, **summary_ms([t / 1000 for t in times])}


def stock_catalog(client: httpx.Client, token: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/catalog/products", params={"page_size": 100})
    response.raise_for_status()
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    products = [item["id"] for item in items][:40]
    for product_id in products:
        client.post(
            f"/api/catalog/products/{product_id}/stock", json={"quantity": STOCK}, headers=headers
        ).raise_for_status()
    categories = sorted({item["category"] for item in items if item.get("category")})
    return {"products": products, "categories": categories or ["none"]}


# --------------------------------------------------------------------------- memory


def family_of(cmdline: str) -> str:
    return next((name for name, key in FAMILIES if key in cmdline), cmdline[:60])


class MemorySampler:
    """Every ``interval`` s: RSS of each descendant of this script (the load generator excluded),
    summed per process family; keeps the peak of each family and of the whole stack."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.exclude: set[int] = set()
        self.peak_family: dict[str, int] = {}
        self.peak_total = 0
        self.processes: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self, measure: Literal["rss", "pss"] = "rss") -> tuple[dict[str, int], int]:
        """``measure`` of every process of the stack, summed per family, and their total.
        ``"pss"`` (proportional set size: each shared page split between the processes that map
        it) reads every process's page tables, too slow to sample under load: at rest only."""
        families: dict[str, int] = {}
        excluded: set[int] = set()
        for pid in self.exclude:
            try:
                parent = psutil.Process(pid)
                excluded |= {pid, *(child.pid for child in parent.children(recursive=True))}
            except psutil.Error:
                pass
        for child in psutil.Process().children(recursive=True):
            if child.pid in excluded:
                continue
            try:
                info = child.memory_full_info() if measure == "pss" else child.memory_info()
                cmdline = " ".join(child.cmdline())
            except psutil.Error:
                continue
            # no command line (exiting), or the load generator caught before its pid was excluded
            if not cmdline or "locust" in cmdline:
                continue
            name = family_of(cmdline)
            families[name] = families.get(name, 0) + getattr(info, measure)
        return families, sum(families.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            families, total = self.sample()
            for name, rss in families.items():
                self.peak_family[name] = max(self.peak_family.get(name, 0), rss)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def mib(value: int) -> float:
    return round(value / 2**20, 1)


# --------------------------------------------------------------------------- one level


def run_level(
    url: str, users: int, seconds: float, spawn_rate: float, env: dict, sampler: MemorySampler
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "level"
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
            "--users", str(users), "--spawn-rate", f"{spawn_rate:g}",
            "--run-time", f"{int(seconds)}s", "--csv", str(prefix), "--only-summary",
            "--loglevel", "WARNING", "--stop-timeout", "5",
        ]  # fmt: skip
        started = time.time()
        process = subprocess.Popen(command, env={**os.environ, **env})
        sampler.exclude.add(process.pid)
        process.wait()
        sampler.exclude.discard(process.pid)
        ended = time.time()
        groups: dict[str, dict] = {}
        with open(f"{prefix}_stats.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                groups[row["Name"]] = {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": round(float(row["Requests/s"]), 1),
                    "p50_ms": float(row["50%"] or "nan"),
                    "p95_ms": float(row["95%"] or "nan"),
                    "p99_ms": float(row["99%"] or "nan"),
                }
        failures = []
        failures_csv = Path(f"{prefix}_failures.csv")
        if failures_csv.exists():
            with open(failures_csv, newline="") as handle:
                failures = [
                    {"name": r["Name"], "error": r["Error"][:200], "count": int(r["Occurrences"])}
                    for r in csv.DictReader(handle)
                ]
    return {"users": users, "seconds": seconds, "groups": groups, "failures": failures,
            "window": (started, ended)}  # fmt: skip


def saga_latency(env: dict[str, str], since: float, until: float, wait: float = 60) -> dict:
    """placed -> confirmed of every order created in [since, until], once none is pending."""
    deadline = time.monotonic() + wait
    query = (
        "SELECT status, created_at, confirmed_at FROM orders "
        "WHERE created_at >= to_timestamp(%s) AND created_at <= to_timestamp(%s)"
    )
    with psycopg.connect(env["ORDERS_DATABASE_URL"], autocommit=True) as db:
        while True:
            rows = db.execute(query, (since, until)).fetchall()
            if all(row[0] != "pending" for row in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    statuses: dict[str, int] = {}
    for status, _, _ in rows:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = [(c - p).total_seconds() for s, p, c in rows if s == "confirmed" and c]
    return {"orders": len(rows), "statuses": statuses, **summary_ms(latencies)}


def verdicts(results: list[dict], rest_total: int) -> list[str]:
    """MET or MISSED for each target: latency and failures at TARGET_USERS, RSS at rest."""
    targets = [_latency_verdict(level) for level in results if level["users"] == TARGET_USERS]
    ok = mib(rest_total) < TARGET_REST_MIB
    targets.append(
        f"{'MET' if ok else 'MISSED'}: whole stack < 1.5 GiB RSS at rest: {mib(rest_total)} MiB"
    )
    return targets


def _latency_verdict(level: dict) -> str:
    agg = level["groups"].get("Aggregated", {})
    shop = {n: g for n, g in level["groups"].items() if n in GROUPS[:5]}
    worst = max((g["p95_ms"] for g in shop.values()), default=float("nan"))
    failures = sum(g["failures"] for g in level["groups"].values() if g is not agg)
    ok = worst <= TARGET_P95_MS and failures == 0
    return (
        f"{'MET' if ok else 'MISSED'}: {TARGET_USERS} users, p95 <= {TARGET_P95_MS} ms "
        f"and no failures: worst shop group p95 {worst:g} ms, aggregated p95 (logins "
        f"included: password hashing) {agg.get('p95_ms')} ms, {failures} failures"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default=os.environ.get("BENCH_LOAD_LEVELS", "10,50,100"))
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
    )
    parser.add_argument(
        "--spawn-rate", type=float, default=float(os.environ.get("BENCH_LOAD_SPAWN_RATE", "10"))
    )
    parser.add_argument("--refresh-seconds", type=float, default=120)
    parser.add_argument("--shoppers", type=int, default=150)
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]

    stack = Stack(LOAD_SETTINGS)
    sampler = MemorySampler()
    try:
        stack.start()
        env = stack.env
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            catalog = stock_catalog(client, staff_token(client, env))
            users = make_users(client, env, max(args.shoppers, max(levels)))
            time.sleep(3)  # let start-up work settle before measuring at rest
            rest, rest_total = sampler.sample()
            rest_pss, rest_pss_total = sampler.sample("pss")
            login_idle = idle_logins(client, users[0])
            print(f"one login on the idle stack: {login_idle}", flush=True)
        burst = login_burst(stack.url, users, args.spawn_rate)
        print(f"logins at {args.spawn_rate:g}/s on the idle stack: {burst}", flush=True)
        together = login_burst(stack.url, users, 0, count=int(args.spawn_rate))
        print(f"{int(args.spawn_rate)} logins at once on the idle stack: {together}", flush=True)
        print(f"at rest: RSS {mib(rest_total)} MiB, PSS {mib(rest_pss_total)} MiB", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            users_file, products_file = Path(tmp) / "users.json", Path(tmp) / "products.json"
            users_file.write_text(json.dumps(users))
            products_file.write_text(json.dumps(catalog))
            locust_env = {
                "BENCH_USERS_FILE": str(users_file),
                "BENCH_PRODUCTS_FILE": str(products_file),
                "BENCH_REFRESH_SECONDS": str(args.refresh_seconds),
                "BENCH_SPAWN_RATE": f"{args.spawn_rate:g}",
            }
            sampler.start()
            results = []
            for users_n in levels:
                print(f"{users_n} users for {args.seconds:g} s ...", flush=True)
                level_peak_before = sampler.peak_total
                sampler.peak_total = 0
                level = run_level(
                    stack.url, users_n, args.seconds, args.spawn_rate, locust_env, sampler
                )
                level["peak_rss_total_mib"] = mib(sampler.peak_total)
                sampler.peak_total = max(sampler.peak_total, level_peak_before)
                level["load_average"] = os.getloadavg()
                level["placed_to_confirmed"] = saga_latency(env, *level.pop("window"))
                agg = level["groups"].get("Aggregated", {})
                print(json.dumps({k: level[k] for k in ("users", "placed_to_confirmed")}
                                 | {"aggregated": agg}), flush=True)  # fmt: skip
                results.append(level)
            sampler.stop()
    finally:
        sampler.stop()
        stack.stop()

    targets = verdicts(results, rest_total)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "seconds_per_level": args.seconds,
        "refresh_seconds": args.refresh_seconds,
        "spawn_rate": args.spawn_rate,
        "levels": results,
        "login_idle": login_idle,
        "login_burst": burst,
        "login_together": together,
        "rss_at_rest_mib": {name: mib(v) for name, v in sorted(rest.items())},
        "rss_at_rest_total_mib": mib(rest_total),
        "pss_at_rest_mib": {name: mib(v) for name, v in sorted(rest_pss.items())},
        "pss_at_rest_total_mib": mib(rest_pss_total),
        "rss_peak_mib": {name: mib(v) for name, v in sorted(sampler.peak_family.items())},
        "rss_peak_total_mib": mib(sampler.peak_total),
        "targets": targets,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_report()
    print("\n".join(targets))
    print(f"written: {RESULTS.relative_to(ROOT)}, {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
