"""Token revocation (msh_auth.revocation) against a real Redis: writer, readers, Redis outages."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.servers import RedisServer
from msh_auth import (
    InvalidToken,
    JWKSCache,
    RevocationList,
    RevocationUnavailable,
    RevocationWriter,
)

LIFETIME = 300


@pytest.fixture
def server(tmp_path):
    server = RedisServer(tmp_path / "data", durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def writer(server):
    return RevocationWriter.from_url(server.url, max_token_lifetime=LIFETIME)


@pytest.fixture
def make_reader(server):
    readers: list[RevocationList] = []

    def make(**kwargs) -> RevocationList:
        reader = RevocationList.from_url(server.url, **kwargs)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.stop()


def claims(sid: str | None = None, sub: str = "u1", iat: float | None = None) -> dict:
    return {"sub": sub, "sid": sid or str(uuid.uuid4()), "iat": int(iat or time.time())}


def refused_within(reader: RevocationList, token_claims: dict, seconds: float) -> float:
    """How long it took until ``reader`` refused the claims (fails after ``seconds``)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            reader.check(token_claims)
        except InvalidToken:
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"not refused within {seconds}s")


def test_a_session_revocation_reaches_a_running_reader_within_two_seconds(writer, make_reader):
    reader = make_reader()
    revoked, other = claims(), claims()
    reader.check(revoked)  # accepted, and the reader is now following the stream
    writer.revoke_session(revoked["sid"])
    refused_within(reader, revoked, 2.0)
    reader.check(other)  # another session of the same user is untouched


def test_a_reader_started_later_loads_the_live_entries(writer, make_reader):
    revoked = claims()
    writer.revoke_session(revoked["sid"])
    with pytest.raises(InvalidToken, match="revoked"):
        make_reader().check(revoked)


def test_a_user_revocation_voids_tokens_issued_before_it_only(writer, make_reader):
    reader = make_reader()
    before = claims(sub="u7", iat=time.time())
    reader.check(before)
    writer.revoke_user("u7")
    refused_within(reader, before, 2.0)
    reader.check(claims(sub="u7", iat=time.time() + 1))  # issued from the next second on
    reader.check(claims(sub="u8", iat=time.time() - 1))  # another user


def test_entries_older_than_the_token_lifetime_are_trimmed(server, make_reader):
    short = RevocationWriter.from_url(server.url, max_token_lifetime=1)
    short.revoke_session("old")
    time.sleep(1.1)  # the entry must age past the lifetime; nothing observable to wait for
    short.revoke_session("new")
    client = redis.Redis.from_url(server.url, decode_responses=True)
    subjects = [fields["subject"] for _id, fields in client.xrange("msh:auth:revocations")]
    assert subjects == ["new"]
    assert 0 < client.ttl("msh:auth:revocations") <= 61


def test_redis_down_serves_the_local_copy_then_fails_closed_then_recovers(
    server, writer, make_reader
):
    reader = make_reader(max_staleness=2.0)
    revoked, fine = claims(), claims()
    writer.revoke_session(revoked["sid"])
    refused_within(reader, revoked, 2.0)

    server.stop()
    stopped = time.monotonic()
    reader.check(fine)  # within max_staleness: served from the local copy
    with pytest.raises(InvalidToken):
        reader.check(revoked)
    while True:
        try:
            reader.check(fine)
        except RevocationUnavailable:
            break
        assert time.monotonic() - stopped < 5, "never failed closed"
        time.sleep(0.05)
    assert time.monotonic() - stopped >= 0.5  # the local copy was served for a while

    server.start()
    deadline = time.monotonic() + 5
    while True:
        try:
            reader.check(fine)
            break
        except RevocationUnavailable:
            assert time.monotonic() < deadline, "never recovered"
            time.sleep(0.05)
    writer.revoke_session(revoked["sid"])  # the restarted (non-durable) Redis lost the entry
    refused_within(reader, revoked, 2.0)


def test_jwks_cache_consults_the_revocation_list(writer, make_reader):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cache = JWKSCache(
        lambda: {"k1": key.public_key()},
        issuer="microservicehub",
        audience="microservicehub",
        revocations=make_reader(),
    )
    sid = str(uuid.uuid4())
    now = int(time.time())
    body = {"sub": "u1", "iss": "microservicehub", "aud": "microservicehub", "iat": now}
    body |= {"exp": now + 300, "jti": "j1", "sid": sid}
    tok = jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1", "typ": "at+jwt"})
    assert cache.verify(tok).user_id == "u1"
    writer.revoke_session(sid)
    deadline = time.monotonic() + 2
    with pytest.raises(InvalidToken, match="revoked"):  # noqa: PT012 - poll until refused
        while time.monotonic() < deadline:
            cache.verify(tok)
            time.sleep(0.05)


def test_a_reader_that_never_synced_refuses(tmp_path):
    unreachable = RedisServer(tmp_path / "none", durable=False)  # never started
    reader = RevocationList.from_url(unreachable.url, initial_wait=0.5)
    try:
        with pytest.raises(RevocationUnavailable):
            reader.check(claims())
    finally:
        reader.stop()
