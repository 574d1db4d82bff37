"""Tokens a client made up, or that outlived their time, are refused (401) through the gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import assert_error, bearer, claims_for, register


@pytest.fixture(scope="module")
def victim(stack):
    with stack.client() as client:
        return register(client)


@pytest.fixture(scope="module")
def real_key(stack):
    """The platform's active signing key and kid, read from its key directory."""
    path = sorted(stack.keys_dir.glob("*.pem"))[-1]
    return path.read_bytes(), path.stem


def refused(client, token: str) -> None:
    response = client.get("/api/users/me", headers=bearer(token))
    assert_error(response, 401)


def test_the_real_key_is_accepted_so_the_refusals_below_mean_something(client, victim, real_key):
    pem, kid = real_key
    token = jwt.encode(
        claims_for(victim), pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    assert client.get("/api/users/me", headers=bearer(token)).status_code == 200


def test_token_signed_with_another_key_is_refused(client, victim, real_key):
    _, kid = real_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        claims_for(victim), other, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    refused(client, token)


def test_expired_token_is_refused(client, victim, real_key):
    pem, kid = real_key
    past = int(time.time()) - 3600
    token = jwt.encode(
        claims_for(victim, iat=past, exp=past + 300),
        pem,
        algorithm="RS256",
        headers={"kid": kid, "typ": "at+jwt"},
    )
    refused(client, token)


def test_alg_none_is_refused(client, victim, real_key):
    _, kid = real_key

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims_for(victim))}."
    refused(client, token)


def test_hs256_signed_with_the_public_key_is_refused(client, victim, real_key):
    pem, kid = real_key
    public_pem = (
        serialization.load_pem_private_key(pem, password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = (
        jwt.api_jws.base64url_encode(json.dumps(header).encode())
        + b"."
        + (jwt.api_jws.base64url_encode(json.dumps(claims_for(victim)).encode()))
    )
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + jwt.api_jws.base64url_encode(signature)).decode()
    refused(client, token)


@pytest.mark.parametrize("claim", [{"aud": "someone-else"}, {"iss": "https://evil.example"}])
def test_wrong_audience_or_issuer_is_refused(client, victim, real_key, claim):
    pem, kid = real_key
    token = jwt.encode(
        claims_for(victim, **claim), pem, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    refused(client, token)
