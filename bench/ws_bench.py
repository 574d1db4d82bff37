"""WebSockets at scale (``make bench-ws``): 1,000 notification sockets held through the gateway
while the shop's REST traffic continues, one announcement fanned out to all of them, and what an
open socket costs in memory.

Starts the platform natively (as ``make dev``; throwaway data, free ports, logs at WARNING),
mints the shoppers (rows in mainapp's database and tokens signed by the platform's key: no
password hashing measured), then:

1. **REST without sockets**: ``--clients`` threads GET a catalog page through the gateway for
   ``--seconds``; p50/p95.
2. **1,000 sockets**: opened through the gateway (one per shopper; the per-user cap is 5), the
   RSS of the gateway and of mainapp's ASGI process read before and after: memory per socket.
3. **fan-out**: staff post ``--announcements`` announcements in the Django admin; the latency of
   each is from just before the POST to each socket's receipt; p50/p99 over all.
4. **REST with the sockets open**: as in 1, beside it.

Figures go to ``bench/results/ws.json`` and ``bench/REPORT.md``. A benchmark: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.orders_bench import Stack, percentile
from bench.report import machine, write_report
from devstack.services import ProcessSpec
from devstack.shoppers import mint_shoppers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ws.json"
TARGET_FANOUT_P99_MS = 250
TARGET_KIB_PER_SOCKET = 50
TARGET_REST_P95_RATIO = 1.20


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def serve_sockets_with_daphne(stack: Stack) -> None:
    """mainapp under daphne instead of uvicorn, the rest unchanged (the comparison the choice
    of uvicorn rests on)."""
    processes = stack.platform.processes

    def with_daphne() -> list[ProcessSpec]:
        specs = processes()
        port = stack.env["MAINAPP_PORT"]
        argv = (sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", port)
        return [
            replace(spec, argv=(*argv, "mainapp.asgi:application"))
            if spec.name == "mainapp"
            else spec
            for spec in specs
        ]

    stack.platform.processes = with_daphne  # type: ignore[method-assign]


def rest_latencies(base: str, clients: int, seconds: float) -> list[float]:
    """GET a catalog page from ``clients`` threads for ``seconds``; each request's seconds."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def run() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                client.get("/api/catalog/products", params={"page_size": 5}).raise_for_status()
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    values = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
    }


def admin_client(stack: Stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url, timeout=15)
    page = client.get("/admin/login/?next=/admin/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": stack.env["ADMIN_EMAIL"],
            "password": stack.env["ADMIN_PASSWORD"],
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.url}/admin/login/", "Origin": stack.url},
    )
    assert response.status_code == 302, response.text[:500]  # to /admin/: logged in
    return client


def announce(stack: Stack, client: httpx.Client, text: str) -> None:
    page = client.get("/admin/realtime/announcement/add/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/admin/realtime/announcement/add/",
        data={"text": text, "audience": "everyone", "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{stack.url}/admin/", "Origin": stack.url},
    )
    assert response.status_code == 302, response.text[:500]  # saved, and so sent


async def open_sockets(url: str, tokens: list[str]) -> list[ClientConnection]:
    sockets: list[ClientConnection] = []
    for start in range(0, len(tokens), 50):  # 50 handshakes at a time
        batch = tokens[start : start + 50]
        sockets += await asyncio.gather(
            *(connect(url, subprotocols=["msh.bearer", t], open_timeout=30) for t in batch)  # type: ignore[list-item]
        )
    return sockets


async def close_all(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets))


async def received(socket: ClientConnection, started: float) -> float:
    """Seconds from ``started`` to the socket's next announcement."""
    while True:
        message = json.loads(await socket.recv())
        if message.get("type") == "announcement":
            return time.perf_counter() - started


async def fan_out(stack: Stack, sockets: list[ClientConnection], count: int) -> list[float]:
    """Seconds from before each announcement's POST to each socket's receipt."""
    latencies: list[float] = []
    admin = await asyncio.to_thread(admin_client, stack)
    for number in range(count):
        started = time.perf_counter()
        await asyncio.to_thread(announce, stack, admin, f"announcement {number}")
        async with asyncio.timeout(60):
            latencies += await asyncio.gather(*(received(socket, started) for socket in sockets))
    admin.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8, help="REST client threads")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--announcements", type=int, default=5)
    parser.add_argument(
        "--asgi-server",
        choices=("uvicorn", "daphne"),
        default="uvicorn",
        help="what serves mainapp's sockets (daphne: pip install daphne first; for comparison)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the children inherit it

    stack = Stack({"WS_MAX_SOCKETS": str(args.sockets * 2)})
    if args.asgi_server == "daphne":
        serve_sockets_with_daphne(stack)
    with stack:
        gateway, mainapp = stack.processes["gateway"], stack.processes["mainapp"]
        assert gateway.process is not None and mainapp.process is not None
        shoppers = mint_shoppers(stack.env, args.sockets, ttl_seconds=3600)
        rest_latencies(stack.url, 2, 2)  # warm-up
        without = summary(rest_latencies(stack.url, args.clients, args.seconds))
        print("REST without sockets:", without, flush=True)

        before = {
            "gateway": rss_kib(gateway.process.pid),
            "mainapp": rss_kib(mainapp.process.pid),
        }
        url = stack.url.replace("http://", "ws://") + "/ws/notifications"
        loop = asyncio.new_event_loop()
        sockets = loop.run_until_complete(open_sockets(url, [s.token for s in shoppers]))
        time.sleep(2)  # the processes settle (allocations after the handshakes)
        after = {
            "gateway": rss_kib(gateway.process.pid),
            "mainapp": rss_kib(mainapp.process.pid),
        }
        per_socket = {k: round((after[k] - before[k]) / len(sockets), 1) for k in before}
        print(f"{len(sockets)} sockets open; KiB per socket: {per_socket}", flush=True)

        fanout = summary(loop.run_until_complete(fan_out(stack, sockets, args.announcements)))
        print("fan-out:", fanout, flush=True)
        with_sockets = summary(rest_latencies(stack.url, args.clients, args.seconds))
        print("REST with sockets:", with_sockets, flush=True)
        loop.run_until_complete(close_all(sockets))
        loop.close()

    figures: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "sockets": len(sockets),
        "announcements": args.announcements,
        "rest_without_sockets": without,
        "rest_with_sockets": with_sockets,
        "fanout": fanout,
        "rss_kib_before": before,
        "rss_kib_after": after,
        "kib_per_socket": per_socket,
        "targets": {
            "fanout_p99_ms": {"target": TARGET_FANOUT_P99_MS, "measured": fanout["p99_ms"]},
            "kib_per_socket_gateway": {
                "target": TARGET_KIB_PER_SOCKET,
                "measured": per_socket["gateway"],
            },
            "kib_per_socket_mainapp": {
                "target": TARGET_KIB_PER_SOCKET,
                "measured": per_socket["mainapp"],
            },
            "rest_p95_ratio": {
                "target": TARGET_REST_P95_RATIO,
                "measured": round(with_sockets["p95_ms"] / max(without["p95_ms"], 0.001), 2),
            },
        },
    }
    figures["asgi_server"] = args.asgi_server
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(figures, indent=2) + "\n")
    if args.results == RESULTS:
        write_report()
    print(f"written to {args.results}")


if __name__ == "__main__":
    main()
