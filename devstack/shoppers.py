"""Many real users at once, for whole-stack tests and benchmarks, without paying for their
password hashes: rows inserted straight into mainapp's database, and access tokens signed with
the platform's own newest key (what mainapp would issue at login)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple


class Shopper(NamedTuple):
    user_id: str
    email: str
    token: str


def mint_shoppers(env: Mapping[str, str], count: int, ttl_seconds: int = 600) -> list[Shopper]:
    """``count`` active customers of the platform whose environment is ``env``."""
    import psycopg

    from devstack.stub_http import AUDIENCE, ISSUER, access_token

    path = sorted(Path(env["JWT_PRIVATE_KEYS_DIR"]).glob("*.pem"))[-1]
    pem, kid = path.read_bytes(), path.stem
    users = [
        (str(uuid.uuid4()), f"shopper-{uuid.uuid4().hex[:12]}@example.com") for _ in range(count)
    ]
    with psycopg.connect(env["MAINAPP_DATABASE_URL"], autocommit=True) as db, db.cursor() as cur:
        cur.executemany(
            "INSERT INTO accounts_user (id, password, is_superuser, email, name, is_active, "
            "is_staff, date_joined) VALUES (%s, '!', false, %s, '', true, false, now())",
            users,
        )
    return [
        Shopper(
            user_id,
            email,
            access_token(
                pem,
                kid,
                sub=user_id,
                email=email,
                ttl_seconds=ttl_seconds,
                iss=env.get("JWT_ISSUER", ISSUER),
                aud=env.get("JWT_AUDIENCE", AUDIENCE),
            ),
        )
        for user_id, email in users
    ]
