"""Real HTTP servers in a thread, for tests: what stands outside the service under test
(mainapp's JWKS endpoint; a catalog that answers 5xx, slowly or in HTML). A real socket, so the
client under test runs all of its own code."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

# The issuer and audience mainapp puts in every token (JWT_ISSUER, JWT_AUDIENCE defaults).
ISSUER = AUDIENCE = "microservicehub"


@dataclass(frozen=True)
class Seen:
    """A request a stub server received."""

    method: str
    path: str
    headers: Message
    body: bytes


Answer = tuple[int, Mapping[str, str], bytes]  # status, headers, body


@contextlib.contextmanager
def http_server(answer: Callable[[Seen], Answer]) -> Iterator[str]:
    """A real HTTP server on a free port, ``answer`` making every response; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_request(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, self.headers, self.rfile.read(length))
            status, headers, body = answer(seen)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client stopped waiting (a timeout test)

        do_GET = do_POST = do_PATCH = do_request

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll: shutdown() waits for the loop to notice (0.5 s by default, per server)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def jwks_answer(keys: Mapping[str, rsa.RSAPublicKey]) -> Callable[[Seen], Answer]:
    """mainapp's JWKS endpoint (``/api/auth/jwks``), publishing ``keys`` by kid."""
    document = {
        "keys": [
            {
                **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key)),
                "kid": kid,
                "use": "sig",
                "alg": "RS256",
            }
            for kid, key in keys.items()
        ]
    }
    body = json.dumps(document).encode()
    return lambda seen: (200, {"Content-Type": "application/json"}, body)


@contextlib.contextmanager
def asgi_server(app: Any, http: str = "httptools") -> Iterator[str]:
    """An ASGI app under a real uvicorn server (as the services run) in a thread; its base URL."""
    import socket
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=http, lifespan="off", log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the ASGI server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def access_claims(
    *,
    sub: str,
    roles: Sequence[str] = ("customer",),
    ttl_seconds: int = 300,
    **claims: Any,
) -> dict[str, Any]:
    """The claims of an access token as mainapp issues them (any claim can be overridden)."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "sub": sub,
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
        "token_type": "access",
        **claims,
    }


def access_token(key: Any, kid: str, **claims: Any) -> str:
    """An RS256 access token as mainapp issues them (RFC 9068: ``typ: at+jwt``):
    :func:`access_claims` signed by ``key``."""
    payload = access_claims(**claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
