"""Real servers for the gateway tests: upstreams in threads, the gateway as a subprocess.

The gateway is started exactly as every launcher does it (``python -m gateway`` from the gateway
directory), so the tests also cover its server options, the factory, settings and logging.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.client
import io
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

GATEWAY_DIR = Path(__file__).resolve().parents[1]

# Environment that would change how the gateway or uvicorn behave; tests start from defaults.
_ENV_PREFIXES = (
    "GATEWAY_",
    "UPSTREAM_",
    "HEALTH_",
    "UVICORN_",
    "FORWARDED_ALLOW_IPS",
    "RATE_LIMIT_",
    "JWT_",
    "JWKS_",
    "BREAKER_",
    "TRUSTED_PROXIES",
    "CORS_",
    "METRICS_",
    "OPENAPI_",
    "LOG_",
)
_ENV_NAMES = {"MAINAPP_URL", "ENVIRONMENT"}
# Started by the devstack plugin for the session (gateway/pytest.ini: msh_servers = redis).
REDIS_URL = os.environ["REDIS_URL"]

GZIP_BODY = gzip.compress(b'{"compressed": true}' * 10, mtime=0)


# --------------------------------------------------------------------------- HTTP client


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    *,
    source: str | None = None,
    timeout: float = 10,
) -> Reply:
    """One request with http.client: the target is sent exactly as given, no re-quoting,
    and only the headers passed (plus Host unless given, and Content-Length for a body)."""
    headers = list(headers)
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.putrequest(
            method,
            target,
            skip_host=any(name.lower() == "host" for name, _ in headers),
            skip_accept_encoding=True,
        )
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


class _BytesSocket:
    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
        return self._file


def raw_exchange(port: int, data: bytes, *, source: str | None = None, timeout: float = 5) -> Reply:
    """Send raw bytes, read until the server closes, parse one response."""
    with socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None
    ) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    response = http.client.HTTPResponse(_BytesSocket(received))  # type: ignore[arg-type]
    response.begin()
    return Reply(response.status, response.getheaders(), response.read())


# --------------------------------------------------------------------------- upstreams


class ServerThread:
    """An ASGI app under a real uvicorn server, in a daemon thread, on a free port."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("upstream server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class EchoUpstream:
    """Answers with what it received (method, raw path, raw query, headers, body) as JSON.

    Some paths behave differently, to exercise the proxy:
      /health           status ``health_status`` after ``health_delay`` seconds
      .../sleep/<s>     echo after sleeping <s> seconds
      .../stream        Server-Sent Events: one event, 1 s pause, another event
      .../endless       one event, then nothing until the gateway hangs up (path recorded
                        in ``disconnected``)
      .../cookies       302 with a relative Location and three Set-Cookie headers
      .../gzip          a gzip-encoded body with Content-Encoding: gzip
      .../teapot        a 418 HTML error page (upstream errors must pass through as-is)
      /openapi.json     ``ECHO_OPENAPI`` (status ``openapi_status``)
    """

    gzip_body: bytes = GZIP_BODY
    received: list[dict[str, Any]] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)
    health_status: int = 200
    health_delay: float = 0.0
    openapi_status: int = 200

    def reset(self) -> None:
        self.health_status = 200
        self.health_delay = 0.0
        self.openapi_status = 200

    def paths_received(self) -> list[str]:
        return [entry["path"] for entry in self.received]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["raw_path"].decode("latin-1")
        echo = {
            "client_port": scope["client"][1],
            "method": scope["method"],
            "path": path,
            "query": scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": body.decode("latin-1"),
        }
        self.received.append(echo)

        if path == "/health":
            await asyncio.sleep(self.health_delay)
            await _send(send, self.health_status, b'{"status": "ok"}', "application/json")
        elif path == "/openapi.json":
            body = json.dumps(ECHO_OPENAPI).encode() if self.openapi_status == 200 else b"{}"
            await _send(send, self.openapi_status, body, "application/json")
        elif "/sleep/" in path:
            await asyncio.sleep(float(path.rsplit("/sleep/", 1)[1].split("/")[0]))
            await _send(send, 200, json.dumps(echo).encode(), "application/json")
        elif path.endswith("/stream"):
            await _start_stream(send)
            await asyncio.sleep(1.0)
            await send({"type": "http.response.body", "body": b"data: two\n\n"})
        elif path.endswith("/endless"):
            await _start_stream(send)
            while (await receive())["type"] != "http.disconnect":
                pass
            self.disconnected.append(path)
        elif path.endswith("/cookies"):
            await _send(
                send,
                302,
                b"",
                "text/html",
                [
                    (b"location", b"/admin/login/?next=/admin/"),
                    (
                        b"set-cookie",
                        (
                            b"csrftoken=abc123; expires=Wed, 21 Oct 2026 07:28:00 GMT; "
                            b"Max-Age=31449600; Path=/; SameSite=Lax"
                        ),
                    ),
                    (b"set-cookie", b"sessionid=s3ss10n; HttpOnly; Path=/; SameSite=Lax"),
                    (b"set-cookie", b"messages=; Max-Age=0; Path=/"),
                ],
            )
        elif path.endswith("/gzip"):
            await _send(send, 200, GZIP_BODY, "application/json", [(b"content-encoding", b"gzip")])
        elif path.endswith("/teapot"):
            await _send(send, 418, b"<h1>I am a teapot</h1>", "text/html")
        else:
            await _send(send, 200, json.dumps(echo).encode(), "application/json")


ECHO_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Echo API", "version": "1"},
    "paths": {
        "/api/things": {
            "get": {"operationId": "listThings", "responses": {"200": {"description": "ok"}}},
            "post": {
                "operationId": "addThing",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                    }
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/api/readonly/{id}": {
            "get": {"operationId": "readThing", "responses": {"200": {"description": "ok"}}},
            "delete": {"operationId": "dropThing", "responses": {"204": {"description": "gone"}}},
        },
        "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}},
        "/internal/stats": {"get": {"responses": {"200": {"description": "not routed"}}}},
    },
    "components": {"schemas": {"Thing": {"type": "object", "properties": {"id": {}}}}},
}


async def _start_stream(send) -> None:
    """An event stream's head and its first event."""
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})


async def _send(
    send: Any,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Canned responses of the raw upstream, byte for byte: things a well-behaved ASGI server
# refuses to produce. Every response closes the connection.
RAW_RESPONSES: dict[str, bytes] = {
    "/health": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    "/raw/hop-by-hop": (
        b"HTTP/1.1 200 OK\r\n"
        b"Connection: close, X-Upstream-Hop\r\n"
        b"X-Upstream-Hop: secret\r\n"
        b"Keep-Alive: timeout=5, max=100\r\n"
        b"Proxy-Authenticate: Basic realm=upstream\r\n"
        b"Proxy-Connection: keep-alive\r\n"
        b"TE: trailers\r\n"
        b"Trailer: X-Checksum\r\n"
        b"Upgrade: h2c\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Server: raw-upstream/1.0\r\n"
        b"Date: Mon, 01 Jan 2001 00:00:00 GMT\r\n"
        b"X-Request-ID: upstream-made-this-up\r\n"
        b"X-End-To-End: kept\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    ),
    "/raw/not-modified": (
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 1234\r\n'
        b"Connection: close\r\n\r\n"
    ),
    "/raw/truncated-chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n"
        b"Connection: close\r\n\r\na\r\n0123456789\r\n"
    ),
    "/raw/early-hints": (
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal"
    ),
    "/raw/framed": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Frame-Options: SAMEORIGIN\r\n"
        b"Referrer-Policy: same-origin\r\nAccess-Control-Allow-Origin: *\r\n"
        b"Connection: close\r\n\r\nok"
    ),
    "/raw/truncated": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n"
        b"Connection: close\r\n\r\n0123456789"
    ),
}


class RawUpstream(socketserver.ThreadingTCPServer):
    """A TCP server answering each request with the canned bytes for its path."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RawHandler)
        self.port: int = self.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"


class _RawHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode("latin-1")
        if path.startswith("/raw/drop-once/"):
            # The first request on each such path loses its connection before any response
            # (what a restarting upstream does); the next one is answered.
            if path not in DROPPED:
                DROPPED.add(path)
                return
            path = "/health"
        self.request.sendall(
            RAW_RESPONSES.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        )


DROPPED: set[str] = set()


class ToggleServer:
    """A raw upstream on a fixed port that can be switched off (connection refused) and on."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: RawUpstream | None = None

    def up(self) -> None:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _RawHandler, False)
        server.allow_reuse_address = True
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server  # type: ignore[assignment]

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --------------------------------------------------------------------------- tokens


ISSUER = AUDIENCE = "microservicehub"


@dataclass
class KeyRing:
    """An RS256 key ring like mainapp's, with its JWKS served over HTTP at ``/jwks``."""

    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    fetches: int = 0

    def add_key(self, kid: str | None = None) -> str:
        kid = kid or uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    @property
    def active_kid(self) -> str:
        return list(self.keys)[-1]

    def token(
        self,
        sub: str = "7",
        roles: Iterable[str] = ("customer",),
        *,
        ttl: int = 300,
        kid: str | None = None,
        key: Any = None,
        algorithm: str = "RS256",
        typ: str = "at+jwt",
        **claims: Any,
    ) -> str:
        kid = kid or self.active_kid
        now = int(time.time())
        payload = {
            "sub": sub,
            "roles": list(roles),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "token_type": "access",
            **claims,
        }
        signing_key = key if key is not None else self.keys.get(kid) or self.keys[self.active_kid]
        headers = {"kid": kid, "typ": typ}
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers=headers)

    def document(self) -> dict[str, Any]:
        keys = []
        for kid, private in self.keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.fetches += 1
        await _send(send, 200, json.dumps(self.document()).encode(), "application/json")


@pytest.fixture(scope="session")
def keyring_server() -> Iterator[tuple[KeyRing, ServerThread]]:
    ring = KeyRing()
    ring.add_key("test-key-1")
    with ServerThread(ring) as server:
        yield ring, server


@pytest.fixture(scope="session")
def keyring(keyring_server: tuple[KeyRing, ServerThread]) -> KeyRing:
    return keyring_server[0]


# --------------------------------------------------------------------------- gateway


@dataclass
class Gateway:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    def request(self, method: str, target: str, *args: Any, **kwargs: Any) -> Reply:
        return request(self.port, method, target, *args, **kwargs)

    def raw(self, data: bytes, **kwargs: Any) -> Reply:
        return raw_exchange(self.port, data, **kwargs)

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_path.read_text().splitlines():
            # Skips uvicorn's own first lines, printed before logging is configured.
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_environ() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _ENV_NAMES
        and not key.startswith(_ENV_PREFIXES)
        and not key.endswith("_URL")  # upstream URLs
    }


@pytest.fixture(scope="session")
def start_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Gateway]]:
    """Start gateways like the platform launcher does; all are stopped at session end."""
    started: list[Gateway] = []

    def start(env: dict[str, str], extra_args: Iterable[str] = ()) -> Gateway:
        port = free_port()
        environ = {
            **_clean_environ(),
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "FRONTEND_DIST": "",  # no SPA unless a test passes one (test_spa.py)
            **env,
        }
        log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
        # As every launcher runs it; extra_args override its uvicorn options.
        command = [sys.executable, "-m", "gateway", *extra_args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=GATEWAY_DIR, env=environ, stdout=log, stderr=subprocess.STDOUT
            )
        gateway = Gateway(port, process, log_path, environ)
        started.append(gateway)
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited:\n{log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return gateway
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gateway did not start:\n{log_path.read_text()}") from None
                time.sleep(0.05)

    yield start
    for gateway in started:
        gateway.process.terminate()
    for gateway in started:
        try:
            gateway.process.wait(10)
        except subprocess.TimeoutExpired:
            gateway.process.kill()


@pytest.fixture(scope="session")
def echo_server() -> Iterator[tuple[EchoUpstream, ServerThread]]:
    app = EchoUpstream()
    with ServerThread(app) as server:
        yield app, server


@pytest.fixture
def echo(echo_server: tuple[EchoUpstream, ServerThread]) -> Iterator[EchoUpstream]:
    app, _ = echo_server
    app.reset()
    yield app
    app.reset()


@pytest.fixture(scope="session")
def raw_upstream() -> Iterator[RawUpstream]:
    server = RawUpstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


TEST_ROUTES = """
[[routes]]
prefix = "/api/"
upstream = "echo"

[[routes]]
prefix = "/api/readonly/"
upstream = "echo"
methods = ["GET"]

[[routes]]
prefix = "/api/events/"
upstream = "echo"
timeout = 5  # longer than the pauses of the event stream

[[routes]]
prefix = "/slow/"
upstream = "echo"
timeout = 0.5

[[routes]]
prefix = "/named/"
upstream = "echo-by-name"  # the echo server again, addressed by host name

[[routes]]
prefix = "/raw/"
upstream = "raw"

[[routes]]
prefix = "/dead/"
upstream = "dead"

[[routes]]
prefix = "/private/"
upstream = "echo"
auth = "jwt"

[[routes]]
prefix = "/staff/"
upstream = "echo"
auth = "staff"

[[routes]]
prefix = "/shop/"
upstream = "echo"
auth = "none"
write_auth = "staff"

[[routes]]
prefix = "/api/small-bodies/"
upstream = "echo"
max_body_bytes = 10

[[routes]]
prefix = "/login/"
upstream = "echo"
rate_limit = "strict"

[[routes]]
prefix = "/unlimited/"
upstream = "echo"
rate_limit = "none"

[upstreams.raw]
openapi = ""
"""

MAX_BODY = 4096


@pytest.fixture(scope="session")
def test_gateway_env(
    tmp_path_factory: pytest.TempPathFactory,
    echo_server: tuple[EchoUpstream, ServerThread],
    raw_upstream: RawUpstream,
    keyring_server: tuple[KeyRing, ServerThread],
) -> dict[str, str]:
    routes_file = tmp_path_factory.mktemp("routes") / "routes.toml"
    routes_file.write_text(TEST_ROUTES)
    return {
        "GATEWAY_ROUTES_FILE": str(routes_file),
        "ECHO_URL": echo_server[1].url,
        "ECHO_BY_NAME_URL": f"http://localhost:{echo_server[1].port}",
        "RAW_URL": raw_upstream.url,
        "DEAD_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "GATEWAY_MAX_BODY_BYTES": str(MAX_BODY),
        "UPSTREAM_TIMEOUT_SECONDS": "1",
        "HEALTH_TIMEOUT_SECONDS": "0.5",
        "ENVIRONMENT": "test",
        "JWKS_URL": keyring_server[1].url + "/jwks",
        "REDIS_URL": REDIS_URL,
        # Generous: the tests share client addresses; test_ratelimit starts its own gateways.
        "RATE_LIMIT_ANONYMOUS": "100000/minute",
        "RATE_LIMIT_USER": "100000/minute",
        "RATE_LIMIT_STRICT": "100000/minute",
        # Tests hit the dead upstream again and again; test_resilience has its own gateway.
        "BREAKER_FAILURE_THRESHOLD": "1000",
        "JWKS_MIN_REFETCH_SECONDS": "0.2",
    }


@pytest.fixture(scope="session")
def gateway(start_gateway: Callable[..., Gateway], test_gateway_env: dict[str, str]) -> Gateway:
    """Test route table, the production protocol (httptools with connection limits)."""
    return start_gateway(test_gateway_env)


@pytest.fixture(scope="session")
def gateway_h11(start_gateway: Callable[..., Gateway], test_gateway_env: dict[str, str]) -> Gateway:
    """Same, on uvicorn's h11 parser, which lets more malformed requests reach the app."""
    return start_gateway(test_gateway_env, ["--http", "h11"])


@pytest.fixture(scope="session")
def gateway_uvicorn_proxy_headers(
    start_gateway: Callable[..., Gateway], test_gateway_env: dict[str, str]
) -> Gateway:
    """Same, with uvicorn's X-Forwarded-* handling turned on (``python -m gateway`` has it
    off): what the gateway forwards must not depend on that flag."""
    return start_gateway(test_gateway_env, ["--proxy-headers"])


@pytest.fixture(scope="session")
def mainapp_gateway(
    start_gateway: Callable[..., Gateway],
    echo_server: tuple[EchoUpstream, ServerThread],
    keyring_server: tuple[KeyRing, ServerThread],
) -> Gateway:
    """The shipped routes.toml and default settings, with the echo server as mainapp."""
    return start_gateway(
        {
            "MAINAPP_URL": echo_server[1].url,
            "MAINAPP_WS_URL": echo_server[1].url,
            "CATALOG_URL": echo_server[1].url,
            "ORDERS_URL": echo_server[1].url,
            "JWKS_URL": keyring_server[1].url + "/jwks",
            "REDIS_URL": redis_db(1),
        }
    )


_redis_dbs = iter(range(2, 16))


def redis_db(number: int | None = None) -> str:
    """The session's Redis, another database: gateways with their own limits count apart."""
    base, _, _ = REDIS_URL.rpartition("/")
    return f"{base}/{number if number is not None else next(_redis_dbs)}"


@pytest.fixture(scope="session")
def new_redis_url() -> Callable[[], str]:
    """A fresh database of the session's Redis: gateways with their own limits count apart."""
    return redis_db


@pytest.fixture
def toggle_server() -> Iterator[ToggleServer]:
    server = ToggleServer()
    yield server
    server.down()


@pytest.fixture(scope="session")
def unused_port() -> Callable[[], int]:
    return free_port


@pytest.fixture(scope="session")
def make_routes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    def make(text: str) -> str:
        path = tmp_path_factory.mktemp("routes") / "routes.toml"
        path.write_text(text)
        return str(path)

    return make
