"""``python -m gateway``: serve the gateway on GATEWAY_HOST:GATEWAY_PORT."""

from __future__ import annotations

import uvicorn

from gateway.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=False,  # the gateway writes its own access log
        proxy_headers=False,  # forwarding headers are the gateway's job (TRUSTED_PROXIES)
        server_header=False,
        loop="uvloop",
        http="gateway.server:GatewayHttpProtocol",  # httptools + connection limits
    )


if __name__ == "__main__":
    main()
