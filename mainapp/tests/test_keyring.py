"""The JWT keyring: JWKS publishing, rotation without restart, retiring a key, the commands."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from mainapp.accounts import keys
from mainapp.accounts.keys import Keyring, NoSigningKey, generate_key, keyring

KID = re.compile(r"^\d{8}T\d{6}Z$")


@pytest.fixture
def keys_dir(tmp_path, settings):
    """A key directory of the test's own, so rotating does not disturb the session's key."""
    directory = tmp_path / "jwt-keys"
    settings.JWT_PRIVATE_KEYS_DIR = directory
    return directory


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/auth/jwks", "/.well-known/jwks.json"])
def test_jwks_is_public_cacheable_and_has_no_private_parts(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "kid", "use", "alg", "n", "e"}
    assert (key["kty"], key["alg"], key["use"], key["kid"]) == (
        "RSA",
        "RS256",
        "sig",
        keyring().active().kid,
    )
    public = jwt.PyJWK(key).key
    assert public.public_numbers() == keyring().active().public_key.public_numbers()


def test_generate_key_writes_a_private_2048_bit_rsa_key_named_by_utc_time(keys_dir):
    before = datetime.now(UTC).strftime(keys.KID_FORMAT)
    kid = generate_key(keys_dir)
    path = keys_dir / f"{kid}.pem"
    assert KID.match(kid) and kid >= before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert private.key_size == 2048
    assert [p.name for p in keys_dir.iterdir()] == [path.name]  # no temporary file left


def test_keys_made_in_the_same_second_get_distinct_increasing_kids(keys_dir):
    made = [generate_key(keys_dir) for _ in range(3)]
    assert len(set(made)) == 3
    assert made == sorted(made)
    assert Keyring(keys_dir).active().kid == made[-1]


def test_ensure_jwt_key_creates_a_key_only_when_there_is_none(keys_dir, capsys):
    call_command("ensure_jwt_key")
    assert "created signing key" in capsys.readouterr().out
    [first] = keys_dir.glob("*.pem")
    call_command("ensure_jwt_key")
    assert "nothing to do" in capsys.readouterr().out
    assert list(keys_dir.glob("*.pem")) == [first]


@pytest.mark.django_db
def test_rotation_new_tokens_use_the_new_key_old_tokens_still_verify(
    keys_dir, api, user, login, bearer, capsys, assert_error
):
    call_command("ensure_jwt_key")
    old = login(user.email)
    old_kid = kid_of(old["access"])

    call_command("rotate_jwt_key")  # the running process notices the new file by itself
    assert "older keys still verify" in capsys.readouterr().out
    new = login(user.email)
    new_kid = kid_of(new["access"])
    assert new_kid != old_kid and new_kid > old_kid

    assert api.get("/api/users/me", **bearer(old["access"])).status_code == 200
    assert api.get("/api/users/me", **bearer(new["access"])).status_code == 200
    assert {k["kid"] for k in api.get("/api/auth/jwks").json()["keys"]} == {old_kid, new_kid}
    # a refresh token signed by the old key is rotated into one signed by the new key
    rotated = api.post("/api/auth/refresh", {"refresh": old["refresh"]}, format="json").json()
    assert kid_of(rotated["refresh"]) == new_kid

    (keys_dir / f"{old_kid}.pem").unlink()  # retiring the old key
    assert_error(api.get("/api/users/me", **bearer(old["access"])), 401)
    assert [k["kid"] for k in api.get("/api/auth/jwks").json()["keys"]] == [new_kid]


def test_jwt_active_kid_pins_the_signing_key(keys_dir, settings):
    first, second = generate_key(keys_dir), generate_key(keys_dir)
    assert keyring().active().kid == second
    settings.JWT_ACTIVE_KID = first
    assert keyring().active().kid == first
    assert set(keyring().by_kid()) == {first, second}


def test_a_pinned_kid_that_is_missing_is_a_configuration_error(keys_dir, settings):
    generate_key(keys_dir)
    settings.JWT_ACTIVE_KID = "19990101T000000Z"
    with pytest.raises(NoSigningKey):
        keyring().active()


def test_an_empty_directory_has_no_signing_key_and_an_empty_jwks(keys_dir):
    assert keyring().jwks() == {"keys": []}
    with pytest.raises(NoSigningKey, match="ensure_jwt_key"):
        keyring().active()


def test_a_key_that_is_not_rsa_is_refused(keys_dir):
    keys_dir.mkdir()
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (keys_dir / "ec.pem").write_bytes(pem)
    with pytest.raises(ImproperlyConfigured, match="RSA"):
        keyring().by_kid()


def test_files_that_are_not_keys_are_ignored(keys_dir):
    kid = generate_key(keys_dir)
    (keys_dir / "README").write_text("not a key")
    (keys_dir / ".tmp-half.pem").write_text("half written")
    assert list(keyring().by_kid()) == [kid]
