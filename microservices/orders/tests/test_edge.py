"""Every orders answer is no-store; forwarding headers count only from TRUSTED_PROXIES."""

from __future__ import annotations

import pytest

from msh_common.forwarding import TrustedProxies
from orders.api.edge import trusted_scope

GATEWAY = TrustedProxies.parse("127.0.0.1")
FORWARDED = [(b"x-forwarded-for", b"203.0.113.5"), (b"x-forwarded-proto", b"https")]


def test_carts_orders_and_errors_are_no_store(client, user):
    for response in (
        client.get("/api/cart", headers=user.headers),
        client.get("/api/orders", headers=user.headers),
        client.get("/api/orders"),  # 401, the error shape
    ):
        assert response.headers["cache-control"] == "no-store", response.request.url


@pytest.mark.parametrize(
    ("peer", "client", "headers"),
    [
        (("127.0.0.1", 4000), ("203.0.113.5", 0), FORWARDED),  # the gateway names the client
        (("198.51.100.1", 4000), ("198.51.100.1", 4000), []),  # anyone else: headers dropped
    ],
)
def test_the_client_is_believed_only_from_a_trusted_proxy(peer, client, headers):
    scope = {"type": "http", "client": peer, "headers": [(b"host", b"orders"), *FORWARDED]}
    resolved = trusted_scope(scope, GATEWAY)
    assert resolved["client"] == client
    assert [h for h in resolved["headers"] if h[0] != b"host"] == headers
