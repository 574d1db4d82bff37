"""``python -m gateway [uvicorn options]``: the one way the gateway is served (the launcher,
compose, the image, Kubernetes, the benchmarks), on GATEWAY_HOST:GATEWAY_PORT.

Options given on the command line override these (``--http h11``); every choice below is made
once, here:

- ``--http gateway.server:GatewayHttpProtocol``: httptools with the gateway's client-connection
  limits (header caps, slow clients), applied before a request reaches the app;
- no access log and no ``Server`` header (the gateway writes its own log and headers), no
  X-Forwarded-* from uvicorn (forwarding is the gateway's: TRUSTED_PROXIES);
- WebSockets on ``websockets-sansio`` without permessage-deflate: measured at 1,000 proxied
  sockets (README, "WebSockets"), the legacy implementation held 147 KiB per socket with
  compression (browsers offer it) and 59 without, the sans-I/O one 51: one protocol object per
  socket, pings on a timer instead of a task, and the same JSON refusals (the
  ``websocket.http.response`` extension). Notifications are small JSON: compression would cost
  its zlib state per socket and save next to nothing.
"""

from __future__ import annotations

import sys

from uvicorn.main import main as uvicorn_command

from gateway.settings import Settings


def uvicorn_options(settings: Settings) -> list[str]:
    return [
        "--factory",
        "gateway.app:create_app",
        *("--host", settings.gateway_host, "--port", str(settings.gateway_port)),
        *("--no-access-log", "--no-proxy-headers", "--no-server-header"),
        *("--loop", "uvloop", "--http", "gateway.server:GatewayHttpProtocol"),
        *("--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),
    ]


def main(argv: list[str] | None = None) -> None:
    arguments = [*uvicorn_options(Settings()), *(sys.argv[1:] if argv is None else argv)]
    uvicorn_command.main(args=arguments, prog_name="python -m gateway")


if __name__ == "__main__":
    main()
