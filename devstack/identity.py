"""A pytest plugin for services that verify mainapp's tokens without mainapp: a signing key made
for the session and its JWKS served by a real HTTP server thread, as mainapp serves it.

Enable with ``-p devstack.identity`` (pytest.ini); sign tokens with
:func:`devstack.stub_http.access_token` and :data:`KID`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.stub_http import http_server, jwks_answer

KID = "test-key"


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    """The session's key, standing in for mainapp's current JWT key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """mainapp's JWKS endpoint with the session key only, on a free port."""
    with http_server(jwks_answer({KID: signing_key.public_key()})) as url:
        yield f"{url}/api/auth/jwks"
