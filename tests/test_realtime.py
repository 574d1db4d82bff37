"""Notifications over WebSockets, through the gateway to mainapp's Channels process: a customer
hears their order's status, nobody else does; staff announcements reach every socket; a revoked
session is told and closed; bad tokens are refused at the edge (401 JSON) and by mainapp itself
(close 4401)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from helpers import login, new_product, place_order, register, shopper, staff_token
from test_admin import admin_login
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from devstack.sockets import close_code

SUBPROTOCOLS = ["msh.bearer"]
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright (sync API) keeps an
    event loop running in this one for the whole session."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


WAIT_SECONDS = 20


def socket_url(base: str) -> str:
    return base.replace("http://", "ws://", 1) + "/ws/notifications"


def open_socket(base: str, token: str | None) -> Any:
    offered = [*SUBPROTOCOLS, token] if token is not None else None
    return connect(socket_url(base), subprotocols=offered)  # type: ignore[arg-type]


async def next_message(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_SECONDS):
        return json.loads(await socket.recv())


async def refused(base: str, token: str | None) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as refusal:
        async with open_socket(base, token):
            pass
    response = refusal.value.response
    return response.status_code, json.loads(bytes(response.body or b""))


def admin_session(stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url, timeout=15)
    admin_login(stack, client)
    return client


def announce(stack, client: httpx.Client, text: str, audience: str) -> None:
    """Staff send an announcement from the Django admin (``client`` logged in), as a person
    would."""
    page = client.get("/admin/realtime/announcement/add/")
    assert page.status_code == 200, (page.headers.get("location"), page.text[:500])
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    response = client.post(
        "/admin/realtime/announcement/add/",
        data={"text": text, "audience": audience, "csrfmiddlewaretoken": csrf.group(1)},
        headers={"Referer": f"{stack.url}/admin/", "Origin": stack.url},
    )
    assert response.status_code == 302, response.text[:2000]


def test_a_customer_hears_their_order_confirmed_and_another_customer_nothing(stack, client):
    staff = staff_token(client, stack)
    product = new_product(client, staff, stock=5)
    _, buyer = shopper(client)
    _, bystander = shopper(client)

    async def scenario() -> tuple[str, dict[str, Any], dict[str, Any]]:
        async with (
            open_socket(stack.url, buyer) as mine,
            open_socket(stack.url, bystander) as other,
        ):
            assert mine.subprotocol == "msh.bearer"  # the token is never echoed
            order = place_order(client, buyer, [(product["id"], 1)]).json()
            heard = await next_message(mine)
            with contextlib.closing(admin_session(stack)) as admin:
                await asyncio.to_thread(announce, stack, admin, "Closing early today", "everyone")
            # The bystander's first message is the announcement: the order went to no one else.
            return order["id"], heard, await next_message(other)

    order_id, heard, first_for_other = run(scenario())
    assert heard == {
        "type": "order.status",
        "version": 1,
        "order_id": order_id,
        "status": "confirmed",
        "reason": None,
    }
    assert first_for_other["type"] == "announcement"
    assert first_for_other["text"] == "Closing early today"


def test_a_staff_announcement_reaches_staff_and_not_customers(stack, client):
    staff = staff_token(client, stack)
    _, customer = shopper(client)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with open_socket(stack.url, staff) as desk, open_socket(stack.url, customer) as shop:
            with contextlib.closing(admin_session(stack)) as admin:
                await asyncio.to_thread(announce, stack, admin, "Stock count at six", "staff")
                heard = await next_message(desk)
                await asyncio.to_thread(announce, stack, admin, "Sale starts now", "everyone")
            return heard, await next_message(shop)

    for_staff, for_customer = run(scenario())
    assert (for_staff["type"], for_staff["audience"]) == ("announcement", "staff")
    assert for_customer["text"] == "Sale starts now"  # the staff-only one never came


def test_a_revoked_session_is_told_and_closed(stack, client):
    user = register(client)
    tokens = login(client, user["email"])

    async def scenario() -> tuple[dict[str, Any], int | None]:
        async with open_socket(stack.url, tokens["access"]) as socket:
            logout = client.post("/api/auth/logout", json={"refresh": tokens["refresh"]})
            assert logout.status_code == 204, logout.text
            return await next_message(socket), await close_code(socket)

    message, code = run(scenario())
    assert message == {"type": "session.revoked", "version": 1}
    assert code == 4401


def test_bad_tokens_are_refused_at_the_edge_with_json(stack, client):
    _, token = shopper(client)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        return [await refused(stack.url, None), await refused(stack.url, forged)]

    (absent_status, absent), (forged_status, forged_body) = run(scenario())
    assert (absent_status, absent["error"]["code"]) == (401, "not_authenticated")
    assert (forged_status, forged_body["error"]["code"]) == (401, "invalid_token")


def test_mainapp_itself_closes_a_socket_with_a_bad_token(stack, client):
    _, token = shopper(client)
    direct = stack.env["MAINAPP_WS_URL"]

    async def scenario() -> tuple[str | None, int | None]:
        async with open_socket(direct, token) as good:
            accepted = good.subprotocol
        async with open_socket(direct, "not.a.token") as bad:
            return accepted, await close_code(bad)

    accepted, code = run(scenario())
    assert accepted == "msh.bearer"
    assert code == 4401


def test_mainapp_refuses_a_handshake_without_the_token_subprotocol(stack):
    async def scenario() -> int:
        with pytest.raises(InvalidStatus) as refusal:
            async with connect(socket_url(stack.env["MAINAPP_WS_URL"])):
                pass
        return refusal.value.response.status_code

    assert run(scenario()) == 403


def token_for(stack, user_id: str, ttl_seconds: int) -> str:
    """An access token of ``user_id`` signed with the platform's key, as mainapp issues them."""
    from devstack.stub_http import access_token

    key = sorted(Path(stack.env["JWT_PRIVATE_KEYS_DIR"]).glob("*.pem"))[-1]
    claims = {"iss": stack.env["JWT_ISSUER"], "aud": stack.env["JWT_AUDIENCE"]}
    return access_token(key.read_bytes(), key.stem, sub=user_id, ttl_seconds=ttl_seconds, **claims)


def test_an_expired_token_closes_the_socket_and_a_renewed_one_keeps_it(stack):
    user_id = register(httpx.Client(base_url=stack.url, timeout=15))["id"]
    direct = stack.env["MAINAPP_WS_URL"]

    async def expires() -> int | None:
        async with open_socket(direct, token_for(stack, user_id, ttl_seconds=2)) as socket:
            return await close_code(socket)

    async def renewed() -> bool:
        async with open_socket(direct, token_for(stack, user_id, ttl_seconds=2)) as socket:
            fresh = token_for(stack, user_id, ttl_seconds=300)
            await socket.send(json.dumps({"type": "auth", "token": fresh}))
            await asyncio.sleep(4)  # past the first token's expiry, and a check of it
            async with asyncio.timeout(WAIT_SECONDS):
                await (await socket.ping())  # still open
            return True

    async def another_users_token() -> int | None:
        async with open_socket(direct, token_for(stack, user_id, ttl_seconds=300)) as socket:
            other = register(httpx.Client(base_url=stack.url, timeout=15))["id"]
            await socket.send(json.dumps({"type": "auth", "token": token_for(stack, other, 300)}))
            return await close_code(socket)

    assert run(expires()) == 4401
    assert run(renewed())
    assert run(another_users_token()) == 4403
