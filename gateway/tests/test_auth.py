"""Edge authentication: bearer JWTs verified against the JWKS before anything is forwarded."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def _refused(reply, status: int = 401, code: str = "invalid_token") -> dict:
    assert reply.status == status, reply.body
    assert reply.header("content-type") == "application/json"
    error = reply.json()["error"]
    assert error["code"] == code, error
    if status == 401:
        assert reply.header("www-authenticate").startswith('Bearer realm="microservicehub"')
    assert reply.header("x-request-id")
    return error


def test_missing_token_is_refused_before_reaching_the_service(gateway, echo):
    path = f"/private/{uuid.uuid4().hex}"
    reply = gateway.request("GET", path)
    _refused(reply, code="not_authenticated")
    assert reply.header("www-authenticate") == 'Bearer realm="microservicehub"'
    assert path not in echo.paths_received()


def test_valid_token_passes_and_the_service_learns_who_called(gateway, echo, keyring):
    token = keyring.token(sub="42", roles=["customer"])
    reply = gateway.request(
        "GET",
        "/private/me",
        [
            *_bearer(token),
            # Forged identity and trust headers from the client never reach the service.
            ("X-User-Id", "1"),
            ("X-User-Roles", "staff"),
            ("X-Internal-Trusted", "yes"),
            ("X-Gateway-Verified", "yes"),
        ],
    )
    assert reply.status == 200
    headers = reply.json()["headers"]
    values = {name: [v for n, v in headers if n == name] for name, _ in headers}
    assert values["x-user-id"] == ["42"]
    assert values["x-user-roles"] == ["customer"]
    assert values["authorization"] == [f"Bearer {token}"]  # services verify it themselves
    assert "x-internal-trusted" not in values
    assert "x-gateway-verified" not in values


@pytest.mark.parametrize(
    "case",
    ["expired", "other-key", "wrong-audience", "wrong-issuer", "refresh-token", "garbage"],
)
def test_invalid_tokens_are_refused(gateway, echo, keyring, case):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "expired": lambda: keyring.token(ttl=-10),
        "other-key": lambda: keyring.token(key=other),
        "wrong-audience": lambda: keyring.token(aud="someone-else"),
        "wrong-issuer": lambda: keyring.token(iss="https://evil.example"),
        "refresh-token": lambda: keyring.token(token_type="refresh"),
        "garbage": lambda: "not.a.jwt",
    }[case]()
    path = f"/private/{uuid.uuid4().hex}"
    error = _refused(gateway.request("GET", path, _bearer(token)))
    assert path not in echo.paths_received()
    if case == "expired":
        assert "expired" in error["message"]


def test_only_rs256_is_accepted(gateway, keyring):
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": "1", "iss": "microservicehub", "aud": "microservicehub", "exp": 2**31}
    unsigned = f"{b64({'alg': 'none', 'kid': keyring.active_kid})}.{b64(claims)}."
    _refused(gateway.request("GET", "/private/x", _bearer(unsigned)))
    hs256 = keyring.token(key="a-shared-secret-of-enough-length-for-hs256", algorithm="HS256")
    _refused(gateway.request("GET", "/private/x", _bearer(hs256)))


def test_malformed_authorization_header_is_refused(gateway):
    reply = gateway.request("GET", "/private/x", [("Authorization", "Basic dXNlcjpwYXNz")])
    _refused(reply)
    assert 'error="invalid_request"' in reply.header("www-authenticate")


def test_staff_routes_need_the_staff_role(gateway, keyring):
    customer = keyring.token(roles=["customer"])
    _refused(gateway.request("GET", "/staff/report", _bearer(customer)), 403, "permission_denied")
    staff = keyring.token(roles=["customer", "staff"])
    assert gateway.request("GET", "/staff/report", _bearer(staff)).status == 200


def test_write_auth_protects_only_writes(gateway, keyring):
    assert gateway.request("GET", "/shop/items").status == 200
    _refused(gateway.request("POST", "/shop/items", body=b"{}"), code="not_authenticated")
    customer = keyring.token(roles=["customer"])
    reply = gateway.request("POST", "/shop/items", _bearer(customer), b"{}")
    _refused(reply, 403, "permission_denied")
    staff = keyring.token(roles=["staff"])
    assert gateway.request("POST", "/shop/items", _bearer(staff), b"{}").status == 200


def test_public_routes_ignore_a_bad_token_but_identify_a_good_one(gateway, keyring):
    reply = gateway.request("GET", "/api/public", _bearer("not.a.jwt"))
    assert reply.status == 200
    assert "x-user-id" not in dict(reply.json()["headers"])
    reply = gateway.request("GET", "/api/public", _bearer(keyring.token(sub="77")))
    assert dict(reply.json()["headers"])["x-user-id"] == "77"


@pytest.mark.parametrize(
    "query",
    ["access_token=abc", "x=1&access_token=abc", "t=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"],
)
def test_tokens_in_the_query_string_are_refused(gateway, echo, query):
    path = f"/api/q/{uuid.uuid4().hex}"
    reply = gateway.request("GET", f"{path}?{query}")
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "token_in_query"
    assert 'error="invalid_request"' in reply.header("www-authenticate")
    assert path not in echo.paths_received()


def test_other_query_parameters_named_token_pass(gateway):
    # mainapp's password-reset link carries its own (non-JWT) token in the query.
    assert gateway.request("GET", "/api/reset?token=MQ.c3b-0123456789abcdef").status == 200


def test_a_new_signing_key_is_fetched_on_first_sight(gateway, keyring):
    before = keyring.fetches
    kid = keyring.add_key()
    try:
        time.sleep(0.3)  # JWKS_MIN_REFETCH_SECONDS=0.2 in the test environment
        token = keyring.token(kid=kid)
        assert gateway.request("GET", "/private/rotated", _bearer(token)).status == 200
        assert keyring.fetches > before
        # A made-up kid refetches at most every JWKS_MIN_REFETCH_SECONDS.
        fetches = keyring.fetches
        for _ in range(5):
            made_up = keyring.token(kid=uuid.uuid4().hex)
            _refused(gateway.request("GET", "/private/x", _bearer(made_up)))
        assert keyring.fetches - fetches <= 2
    finally:
        keyring.keys.pop(kid)


def test_a_revoked_session_is_refused_at_the_edge_within_two_seconds(
    start_gateway, test_gateway_env, keyring, new_redis_url
):
    """The edge itself refuses (the echo upstream would answer 200), remembered token or not."""
    from msh_auth import RevocationWriter

    url = new_redis_url()
    gateway = start_gateway({**test_gateway_env, "REDIS_URL": url})
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    token = keyring.token(sub="42", sid=sid)
    assert gateway.request("GET", "/private/me", _bearer(token)).status == 200
    RevocationWriter.from_url(url, max_token_lifetime=300).revoke_session(sid)
    deadline = time.monotonic() + 2
    reply = gateway.request("GET", "/private/me", _bearer(token))
    while reply.status == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        reply = gateway.request("GET", "/private/me", _bearer(token))
    _refused(reply)
    fine = keyring.token(sub="42", sid=other)
    assert gateway.request("GET", "/private/me", _bearer(fine)).status == 200


def test_the_edge_fails_closed_when_the_revocation_list_cannot_be_followed(
    start_gateway, test_gateway_env, keyring
):
    from devstack.servers import free_port

    gateway = start_gateway(
        {**test_gateway_env, "REVOCATION_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )
    reply = gateway.request("GET", "/private/me", _bearer(keyring.token(sub="42")))
    _refused(reply, 503, "auth_unavailable")
    assert reply.header("retry-after") == "5"
