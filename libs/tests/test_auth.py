import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from msh_auth import InvalidToken, JWKSCache, VerifiedTokens, verify_access_token
from msh_auth.jwks import parse_jwks

ISS = AUD = "microservicehub"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(private_key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def token(private_key, kid="k1", alg="RS256", typ="at+jwt", **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": "u1",
        "roles": ["staff"],
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "token_type": "access",
    }
    claims.update(overrides)
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid, "typ": typ})


def verify(tok, keys):
    return verify_access_token(tok, keys, issuer=ISS, audience=AUD)


def test_a_valid_token_gives_its_principal(key):
    principal = verify(token(key), {"k1": key.public_key()})
    assert principal.user_id == "u1"
    assert principal.is_staff


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"aud": "other"}, "invalid"),
        ({"iss": "other"}, "invalid"),
        ({"token_type": "refresh"}, "not an access token"),
        ({"roles": "staff"}, "roles"),
    ],
)
def test_claims_are_checked(key, overrides, reason):
    with pytest.raises(InvalidToken, match=reason):
        verify(token(key, **overrides), {"k1": key.public_key()})


def test_an_access_token_is_told_by_its_header_type_rfc_9068(key):
    keys = {"k1": key.public_key()}
    assert verify(token(key, typ="application/at+jwt"), keys).user_id == "u1"  # the media type
    # A refresh token, a plain JWT or none at all: refused whatever the claims say.
    for typ in ("rt+jwt", "JWT", None):
        with pytest.raises(InvalidToken, match="not an access token"):
            verify(token(key, typ=typ), keys)


def test_unknown_kid_and_foreign_key_are_refused(key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="unknown key"):
        verify(token(key, kid="nope"), {"k1": key.public_key()})
    with pytest.raises(InvalidToken):
        verify(token(other), {"k1": key.public_key()})


def test_alg_none_and_hs256_are_refused(key):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'kid': 'k1'})}.{b64({'sub': 'u1'})}."
    with pytest.raises(InvalidToken, match="algorithm"):
        verify(unsigned, {"k1": key.public_key()})
    hs = jwt.encode(
        {"sub": "u1"},
        "secret-bytes-long-enough-for-hmac-32b",
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(InvalidToken, match="algorithm"):
        verify(hs, {"k1": key.public_key()})


def test_the_cache_refetches_on_an_unknown_kid_but_not_more_than_allowed(key):
    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = {"keys": [jwk_of(key, "k1")]}
    fetches = []

    def fetch():
        fetches.append(time.monotonic())
        return parse_jwks(published)

    cache = JWKSCache(fetch, issuer=ISS, audience=AUD, min_refetch_interval=0.2)
    assert cache.verify(token(key)).user_id == "u1"
    published["keys"].append(jwk_of(second, "k2"))  # mainapp rotated its key
    with pytest.raises(InvalidToken, match="unknown key"):
        cache.verify(token(second, kid="k2"))  # too soon after the first fetch
    time.sleep(0.25)
    assert cache.verify(token(second, kid="k2")).user_id == "u1"
    for _ in range(5):
        with pytest.raises(InvalidToken):
            cache.verify(token(second, kid="made-up"))
    assert len(fetches) <= 3


def test_private_keys_in_a_jwks_are_ignored(key):
    private_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    assert parse_jwks({"keys": [{**private_jwk, "kid": "k1"}]}) == {}


def test_a_verified_token_is_remembered_until_it_expires(key):
    fetches = []

    def fetch():
        fetches.append(1)
        return parse_jwks({"keys": [jwk_of(key, "k1")]})

    cache = JWKSCache(fetch, issuer=ISS, audience=AUD)
    short_lived = token(key, exp=int(time.time()) + 2)
    first = cache.verify(short_lived)
    assert cache.verify(short_lived) is first  # remembered: the same principal, not re-verified
    assert len(fetches) == 1
    time.sleep(max(0.0, first.claims["exp"] - time.time()) + 0.05)
    with pytest.raises(InvalidToken, match="expired"):
        cache.verify(short_lived)


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(key):
    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = {"keys": [jwk_of(key, "k1")]}
    cache = JWKSCache(
        lambda: parse_jwks(published), issuer=ISS, audience=AUD, ttl=0.2, min_refetch_interval=0.1
    )
    old = token(key)
    assert cache.verify(old).user_id == "u1"
    assert cache.verify(old).user_id == "u1"
    published["keys"] = [jwk_of(second, "k2")]  # k1 withdrawn (compromised, rotated out)
    time.sleep(0.25)
    with pytest.raises(InvalidToken, match="unknown key"):
        cache.verify(old)
    assert cache.verify(token(second, kid="k2")).user_id == "u1"


def test_only_verified_tokens_are_remembered(key):
    cache = JWKSCache(lambda: parse_jwks({"keys": [jwk_of(key, "k1")]}), issuer=ISS, audience=AUD)
    forged = token(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    for _ in range(2):
        with pytest.raises(InvalidToken, match="invalid"):
            cache.verify(forged)


def test_the_memory_of_verified_tokens_is_bounded_oldest_first(key):
    tokens = VerifiedTokens(max_tokens=10)
    keys = {"k1": key.public_key()}
    minted = [token(key, sub=f"u{n}") for n in range(11)]
    for tok in minted:
        tokens.add(tok, verify(tok, keys))
    assert len(tokens) == 10
    assert tokens.get(minted[0]) is None  # the oldest went first
    assert tokens.get(minted[10]).user_id == "u10"
    tokens.clear()
    assert len(tokens) == 0 and tokens.get(minted[10]) is None


def test_the_memory_is_kept_while_the_kids_stay_and_forgotten_when_they_change(key):
    tokens = VerifiedTokens()
    keys = {"k1": key.public_key()}
    remembered = token(key)
    tokens.add(remembered, verify(remembered, keys))
    assert tokens.rekeyed(keys, dict(keys)) is False  # fetched again, the same keys
    assert tokens.get(remembered) is not None
    assert tokens.rekeyed(keys, {"k2": key.public_key()}) is True  # k1 withdrawn
    assert tokens.get(remembered) is None
