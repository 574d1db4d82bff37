"""PostgreSQL, Redis and a MongoDB-compatible server, started together under one directory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .servers import ExternalMongo, MongoServer, PostgresServer, RedisServer, mongo_server
from .system import ensure_system_packages

KINDS = ("postgres", "redis", "mongo")


class Infra:
    """The data stores of the platform; ``env()`` tells services where they are."""

    def __init__(
        self,
        base_dir: Path,
        settings: Mapping[str, str],
        kinds: Iterable[str] = KINDS,
        durable: bool = True,
    ) -> None:
        self.base_dir = base_dir
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown servers: {', '.join(sorted(unknown))}")
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.mongo: MongoServer | ExternalMongo | None = None
        if "postgres" in self.kinds:
            self.postgres = PostgresServer(
                base_dir / "postgres",
                user=settings.get("POSTGRES_USER", "msh"),
                password=settings.get("POSTGRES_PASSWORD", "msh"),
                durable=durable,
            )
        if "redis" in self.kinds:
            self.redis = RedisServer(base_dir / "redis", durable=durable)
        if "mongo" in self.kinds:
            self.mongo = mongo_server(base_dir / "mongo")

    @property
    def servers(self) -> list:
        return [s for s in (self.postgres, self.redis, self.mongo) if s is not None]

    def start(self) -> Infra:
        ensure_system_packages()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        try:
            for server in self.servers:
                server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def env(self) -> dict[str, str]:
        """Connection URLs in the variables every service reads."""
        env: dict[str, str] = {}
        if self.postgres:
            env["MAINAPP_DATABASE_URL"] = self.postgres.url("mainapp")
            env["ORDERS_DATABASE_URL"] = self.postgres.url("orders")
        if self.redis:
            env["REDIS_URL"] = self.redis.url
        if self.mongo:
            env["MONGO_URL"] = self.mongo.url
        return env
