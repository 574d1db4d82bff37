"""A stopped service: the gateway answers 502, then 503 at once from its open circuit
breaker, and serves again after the service is back."""

from __future__ import annotations

from devstack.stack import wait_healthy


def test_open_breaker_while_mainapp_is_stopped_and_recovery(stack, client):
    assert client.get("/.well-known/jwks.json").status_code == 200
    stack.processes["mainapp"].stop()
    try:
        statuses = []
        for _ in range(8):
            response = client.get("/.well-known/jwks.json")
            statuses.append(response.status_code)
            if response.status_code == 503:
                break
        # Connection refused (502, each GET tried twice) until the breaker opens (503).
        assert statuses[0] == 502 and statuses[-1] == 503, statuses
        assert set(statuses) <= {502, 503}
        response = client.get("/api/auth/jwks")  # another route to the same upstream
        assert response.status_code == 503  # the breaker's: the upstream's own failure is 502
        assert response.json()["error"]["code"] == "service_unavailable"
        assert 1 <= int(response.headers["retry-after"]) <= 10
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["upstreams"]["mainapp"]["breaker"] == "open"
        assert (
            'gateway_circuit_breaker_state{upstream="mainapp"} 2.0' in client.get("/metrics").text
        )
    finally:
        if not stack.processes["mainapp"].alive:
            stack.restart("mainapp")
        # /health answers 200 once mainapp is back; its probe also half-opens the breaker.
        wait_healthy(f"{stack.url}/health", timeout=60)
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert 'gateway_circuit_breaker_state{upstream="mainapp"} 0.0' in client.get("/metrics").text
