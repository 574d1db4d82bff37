"""The JWT keyring: RSA private keys as PEM files in one directory, the file stem is the kid.

* Every key in the directory verifies tokens and is published in the JWKS (public parts only).
* One key signs: ``JWT_ACTIVE_KID`` when set, else the last kid in sorted order. New keys are
  named with a UTC timestamp (``20261121T043700Z``), so the newest one signs.
* The directory is read lazily and again whenever its listing changes (names, sizes, mtimes; one
  ``scandir`` per use), so ``manage.py rotate_jwt_key`` takes effect in running processes.

Rotating: add a key (``rotate_jwt_key``); it signs from then on while older keys keep verifying
the tokens they signed. Once the longest token lifetime (the refresh lifetime) has passed, delete
the old file: that retires the key. Consumers cache the JWKS (``max-age=300``); to publish a key
before it signs, pin ``JWT_ACTIVE_KID`` to the old kid, add the new one, wait, then unpin.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "RS256"
KEY_SUFFIX = ".pem"
KID_FORMAT = "%Y%m%dT%H%M%SZ"
MIN_KEY_BITS = 2048


class NoSigningKey(ImproperlyConfigured):
    """The key directory is empty (run ``manage.py ensure_jwt_key``) or the pinned kid is absent."""


def _b64uint(value: int) -> str:
    """An unsigned integer as base64url without padding (RFC 7518 section 6.3.1)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK; never includes a private component."""
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "n": _b64uint(numbers.n),
            "e": _b64uint(numbers.e),
        }


def load_key(path: Path) -> SigningKey:
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size < MIN_KEY_BITS:
        raise ImproperlyConfigured(f"{path} is not an RSA key of at least {MIN_KEY_BITS} bits")
    return SigningKey(kid=path.name.removesuffix(KEY_SUFFIX), private_key=private_key)


Listing = tuple[tuple[str, int, int], ...]


class Keyring:
    """The keys of one directory, reloaded when the directory's listing changes."""

    def __init__(self, directory: Path, active_kid: str = "") -> None:
        self.directory = Path(directory)
        self.active_kid = active_kid
        self._lock = threading.Lock()
        self._listing: Listing | None = None
        self._keys: dict[str, SigningKey] = {}

    def _scan(self) -> Listing:
        found = []
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.name.endswith(KEY_SUFFIX):
                        continue
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:  # removed while listing
                        continue
                    found.append((entry.name, stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            return ()
        return tuple(sorted(found))

    def by_kid(self) -> dict[str, SigningKey]:
        """kid -> key, in sorted kid order."""
        listing = self._scan()
        if listing != self._listing:
            with self._lock:
                if listing != self._listing:
                    loaded, complete = [], True
                    for name, _, _ in listing:
                        try:
                            loaded.append(load_key(self.directory / name))
                        except FileNotFoundError:  # removed since the scan: rescan next time
                            complete = False
                    self._keys = {key.kid: key for key in sorted(loaded, key=lambda k: k.kid)}
                    self._listing = listing if complete else None
        return self._keys

    def get(self, kid: str) -> SigningKey | None:
        return self.by_kid().get(kid)

    def active(self) -> SigningKey:
        keys = self.by_kid()
        if self.active_kid:
            if self.active_kid not in keys:
                raise NoSigningKey(
                    f"JWT_ACTIVE_KID={self.active_kid!r} has no {self.active_kid}{KEY_SUFFIX} "
                    f"in {self.directory}"
                )
            return keys[self.active_kid]
        if not keys:
            raise NoSigningKey(f"no *{KEY_SUFFIX} key in {self.directory}; run ensure_jwt_key")
        return keys[max(keys)]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self.by_kid().values()]}


_rings: dict[tuple[str, str], Keyring] = {}
_rings_lock = threading.Lock()


def keyring() -> Keyring:
    """The keyring the settings name (one per directory and pinned kid, shared by threads)."""
    ident = (str(settings.JWT_PRIVATE_KEYS_DIR), settings.JWT_ACTIVE_KID)
    ring = _rings.get(ident)
    if ring is None:
        with _rings_lock:
            ring = _rings.setdefault(ident, Keyring(Path(ident[0]), ident[1]))
    return ring


def _link_new(directory: Path, name: str, pem: bytes) -> bool:
    """Write ``name`` atomically with mode 0600; False if it already exists.

    The key is written to a hidden temporary file and hard-linked into place, so a process
    reloading the keyring never reads half a key and two writers never overwrite each other.
    """
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, directory / name)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def generate_key(directory: Path, bits: int = MIN_KEY_BITS) -> str:
    """Create a new RSA key named by the current UTC second (the next free second if taken)."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    moment = datetime.now(UTC).replace(microsecond=0)
    while True:
        kid = moment.strftime(KID_FORMAT)
        if _link_new(directory, f"{kid}{KEY_SUFFIX}", pem):
            return kid
        moment += timedelta(seconds=1)


def ensure_key(directory: Path, bits: int = MIN_KEY_BITS) -> str | None:
    """Create a key only if the directory has none; return the new kid, or None."""
    if Keyring(Path(directory)).by_kid():
        return None
    return generate_key(directory, bits)
