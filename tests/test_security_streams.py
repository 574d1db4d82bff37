"""Live-status streams through the real stack: one user may hold SSE_MAX_STREAMS_PER_USER (5)
open at once; the next is 429 at the gateway, while another user still gets theirs."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from helpers import new_product, place_order, shopper, staff_token

PER_USER = 5


def open_stream(stack, token: str, order_id: str) -> tuple[socket.socket, int]:
    """A raw event-stream request; the socket (kept open) and the status it was answered."""
    url = urlsplit(stack.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.sendall(
        f"GET /api/orders/{order_id}/events HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head and (chunk := sock.recv(65536)):
        head += chunk
    return sock, int(head.split(b" ", 2)[1])


def test_one_user_holds_at_most_five_live_streams(stack, client):
    product = new_product(client, staff_token(client, stack), stock=5)
    _, token = shopper(client)
    _, other = shopper(client)
    worker = stack.processes["catalog-worker"]
    worker.stop()  # the orders stay pending: their streams stay open
    sockets: list[socket.socket] = []
    try:
        order = place_order(client, token, [(product["id"], 1)]).json()
        theirs = place_order(client, other, [(product["id"], 1)]).json()
        for _ in range(PER_USER):
            sock, status = open_stream(stack, token, order["id"])
            sockets.append(sock)
            assert status == 200
        sock, status = open_stream(stack, token, order["id"])
        sockets.append(sock)
        assert status == 429
        sock, status = open_stream(stack, other, theirs["id"])
        sockets.append(sock)
        assert status == 200
    finally:
        for sock in sockets:
            sock.close()
        stack.restart("catalog-worker")
