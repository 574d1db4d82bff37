"""WebSockets through the gateway (websocket.py) to a real WebSocket server: messages both ways,
the token checked at the edge, caps, the idle timeout, the size limit and close codes passed
through."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

from devstack.sockets import close_code
from devstack.waiting import eventually

ROUTES = """
[upstreams.live]
openapi = ""
health = "/"

[[routes]]
prefix = "/ws/"
upstream = "live"
methods = ["GET"]
websocket = true
"""
WAIT_SECONDS = 10


class Upstream:
    """Echoes each message; ``close <code>`` closes with that code; records what it saw."""

    def __init__(self) -> None:
        self.offered: list[list[str]] = []
        self.closed_with: list[int | None] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, socket: ServerConnection) -> None:
        header = socket.request.headers.get("Sec-WebSocket-Protocol", "") if socket.request else ""
        self.offered.append([part.strip() for part in header.split(",")])
        try:
            async for message in socket:
                if isinstance(message, str) and message.startswith("close "):
                    await socket.close(code=int(message.split()[1]))
                    break
                await socket.send(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed_with.append(socket.close_code)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()

        def choose(connection: ServerConnection, offered: Any) -> str | None:
            return "msh.bearer" if "msh.bearer" in offered else None

        async with serve(self._handle, "127.0.0.1", 0, select_subprotocol=choose) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def __enter__(self) -> Upstream:
        threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True).start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture(scope="module")
def ws_gateway(start_gateway, make_routes, upstream, keyring_server, new_redis_url):
    return start_gateway(
        {
            "GATEWAY_ROUTES_FILE": make_routes(ROUTES),
            "LIVE_URL": f"http://127.0.0.1:{upstream.port}",
            "JWKS_URL": keyring_server[1].url + "/jwks",
            "REDIS_URL": new_redis_url(),
            "WS_MAX_SOCKETS_PER_USER": "2",
            "WS_IDLE_SECONDS": "1",
            "WS_MAX_MESSAGE_BYTES": "1024",
            "RATE_LIMIT_USER": "100000/minute",
        }
    )


def open_sockets(gateway) -> float:
    for line in gateway.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith("gateway_websockets_open "):
            return float(line.split()[1])
    raise AssertionError("no gateway_websockets_open")


def url(gateway) -> str:
    return f"ws://127.0.0.1:{gateway.port}/ws/notifications"


def socket_to(gateway, token: str | None) -> Any:
    offered = ["msh.bearer", token] if token is not None else None
    return connect(url(gateway), subprotocols=offered, open_timeout=WAIT_SECONDS)  # type: ignore[arg-type]


async def refusal(gateway, token: str | None, path: str | None = None) -> tuple[int, Any]:
    target = url(gateway) if path is None else f"ws://127.0.0.1:{gateway.port}{path}"
    offered = ["msh.bearer", token] if token is not None else None
    with pytest.raises(InvalidStatus) as refused:
        async with connect(target, subprotocols=offered):  # type: ignore[arg-type]
            pass
    response = refused.value.response
    return response.status_code, json.loads(bytes(response.body or b"{}"))


def test_messages_flow_both_ways_with_the_token_checked_and_passed_on(
    ws_gateway, keyring, upstream
):
    token = keyring.token(sub="ws-1")

    async def scenario() -> tuple[str | None, str]:
        async with socket_to(ws_gateway, token) as socket:
            await socket.send("hello")
            async with asyncio.timeout(WAIT_SECONDS):
                return socket.subprotocol, str(await socket.recv())

    chosen, echoed = asyncio.run(scenario())
    assert (chosen, echoed) == ("msh.bearer", "hello")
    assert upstream.offered[-1] == ["msh.bearer", token]  # mainapp checks the token again


def test_absent_forged_and_expired_tokens_are_refused_with_json(ws_gateway, keyring):
    expired = keyring.token(sub="ws-2", ttl=-10)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = keyring.token(sub="ws-2", key=other_key)  # the real kid, another key

    async def scenario() -> list[tuple[int, Any]]:
        return [
            await refusal(ws_gateway, None),
            await refusal(ws_gateway, "not.a.token"),
            await refusal(ws_gateway, expired),
            await refusal(ws_gateway, forged),
            await refusal(ws_gateway, keyring.token(sub="ws-2"), "/ws-nothing-here"),
        ]

    refusals = asyncio.run(scenario())
    assert [(status, body["error"]["code"]) for status, body in refusals] == [
        (401, "not_authenticated"),
        (401, "invalid_token"),
        (401, "invalid_token"),
        (401, "invalid_token"),
        (404, "not_found"),
    ]


def test_a_user_may_hold_only_so_many_sockets_and_gets_them_back(ws_gateway, keyring):
    token = keyring.token(sub="ws-3")

    async def scenario() -> tuple[tuple[int, Any], str]:
        async with socket_to(ws_gateway, token) as first, socket_to(ws_gateway, token):
            too_many = await refusal(ws_gateway, token)
            await first.send("still here")
            async with asyncio.timeout(WAIT_SECONDS):
                await first.recv()
        # Both closed: once the gateway has seen them go, there is room again.
        await asyncio.to_thread(eventually, lambda: open_sockets(ws_gateway) == 0, WAIT_SECONDS)
        async with socket_to(ws_gateway, token) as again:
            await again.send("back")
            async with asyncio.timeout(WAIT_SECONDS):
                return too_many, str(await again.recv())

    (status, body), echoed = asyncio.run(scenario())
    assert (status, body["error"]["code"]) == (429, "too_many_sockets")
    assert echoed == "back"


def test_an_idle_socket_is_closed_with_1001(ws_gateway, keyring):
    async def scenario() -> int | None:
        async with socket_to(ws_gateway, keyring.token(sub="ws-4")) as socket:
            return await close_code(socket)  # nothing sent: WS_IDLE_SECONDS=1

    assert asyncio.run(scenario()) == 1001


def test_a_message_over_the_size_limit_closes_with_1009(ws_gateway, keyring):
    async def scenario() -> int | None:
        async with socket_to(ws_gateway, keyring.token(sub="ws-5")) as socket:
            await socket.send("x" * 2000)
            return await close_code(socket)

    assert asyncio.run(scenario()) == 1009


def test_close_codes_pass_through_both_ways(ws_gateway, keyring, upstream):
    async def scenario() -> int | None:
        async with socket_to(ws_gateway, keyring.token(sub="ws-6")) as socket:
            await socket.send("close 4401")  # the upstream closes: the client sees its code
            return await close_code(socket)

    assert asyncio.run(scenario()) == 4401
    # The upstream records a close once its side of the handshake ends, which can be after the
    # client's: wait for it, so it is not taken for the next socket's.
    eventually(lambda: 4401 in upstream.closed_with, timeout=WAIT_SECONDS)

    async def client_closes() -> None:
        async with socket_to(ws_gateway, keyring.token(sub="ws-7")) as socket:
            await socket.close(code=4000, reason="leaving")

    before = len(upstream.closed_with)
    asyncio.run(client_closes())
    eventually(lambda: 4000 in upstream.closed_with[before:], timeout=WAIT_SECONDS)


def metric(gateway, sample: str) -> float:
    """The value of one sample line of the gateway's /metrics (0 when not there yet)."""
    for line in gateway.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return 0.0


def test_sockets_are_counted_in_the_metrics(ws_gateway, keyring):
    to_client = 'gateway_websocket_messages_total{direction="to_client"}'
    to_upstream = 'gateway_websocket_messages_total{direction="to_upstream"}'
    closed_4401 = 'gateway_websocket_closes_total{code="4401"}'
    refused = 'gateway_websocket_refusals_total{code="too_many_sockets"}'
    samples = (to_client, to_upstream, closed_4401, refused)
    before = {sample: metric(ws_gateway, sample) for sample in samples}
    token = keyring.token(sub="ws-metrics")

    async def scenario() -> float:
        async with socket_to(ws_gateway, token) as socket, socket_to(ws_gateway, token):
            await refusal(ws_gateway, token)  # a third one for the same user
            await socket.send("one")
            async with asyncio.timeout(WAIT_SECONDS):
                await socket.recv()
            held = open_sockets(ws_gateway)
            await socket.send("close 4401")
            await close_code(socket)
        return held

    assert asyncio.run(scenario()) == 2
    eventually(lambda: open_sockets(ws_gateway) == 0, timeout=WAIT_SECONDS)
    after = {sample: metric(ws_gateway, sample) for sample in samples}
    assert {sample: after[sample] - before[sample] for sample in samples} == {
        to_client: 1,
        to_upstream: 2,
        closed_4401: 1,
        refused: 1,
    }
