"""Throwaway infrastructure servers started from local binaries, each on a free port.

These are the building blocks of both ``make dev`` (data kept under ``.run/``) and the test
fixtures (data in a temporary directory). Each server is a child process we own: ``stop()``
ends it and waits. PostgreSQL refuses to run as root, so as root it runs as ``postgres``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .system import postgres_bin_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    """Poll ``check()`` until it is true; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            if check():
                return
        except Exception:  # noqa: S110 - not ready yet
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f}s")


def throwaway_dir(prefix: str) -> Path:
    """A temporary directory an unprivileged server account can traverse."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def can_traverse(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether ``account`` may pass through ``path`` and every directory above it."""
    for directory in (path, *path.parents):
        if not directory.exists():
            continue  # made later by us, with the usual 0755
        info = directory.stat()
        if info.st_uid == account.pw_uid:
            needed = 0o100
        elif info.st_gid == account.pw_gid:
            needed = 0o010
        else:
            needed = 0o001
        if not info.st_mode & needed:
            return False
    return True


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Server:
    """A server process with a data directory and a log file."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = field(default=None, init=False)
    name: str = field(default="server", init=False)
    stop_signal: int = field(default=signal.SIGTERM, init=False)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time set-up of the data directory."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def is_ready(self) -> bool:
        return port_open(self.port)

    def after_start(self) -> None:
        """Work once the server answers (create databases...)."""

    def popen_kwargs(self) -> dict:
        return {}

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def start(self, timeout: float = 60) -> None:
        self.prepare()
        log: IO[bytes] = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            self.argv(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops us in order
            **self.popen_kwargs(),
        )
        log.close()
        try:
            wait_for(self.is_ready, timeout, f"{self.name} (log: {self.log_path})", self.process)
            self.after_start()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class PostgresServer(Server):
    """PostgreSQL with one login role and the given databases (created when missing)."""

    user: str = "msh"
    password: str = "msh"  # noqa: S105 - replaced by the launcher with the .env value
    databases: tuple[str, ...] = ("mainapp", "orders")
    durable: bool = True  # False (tests) turns off fsync for speed

    def __post_init__(self) -> None:
        self.name = "postgres"
        self.stop_signal = signal.SIGINT  # "fast" shutdown: roll back clients, checkpoint

    @property
    def bin_dir(self) -> Path:
        found = postgres_bin_dir()
        if not found:
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        return Path(found)

    def url(self, database: str) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _owner(self) -> pwd.struct_passwd | None:
        """As root, the unprivileged account the server runs as."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError(
                "PostgreSQL cannot run as root and there is no 'postgres' user: "
                "apt-get install postgresql (creates it), or run as a normal user"
            ) from exc

    def popen_kwargs(self) -> dict:
        owner = self._owner()
        if owner is None:
            return {}
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "cwd": "/"}

    def _keep_reachable(self, owner: pwd.struct_passwd) -> None:
        """As root the server runs as ``postgres``, which must traverse every directory above
        its data. When the project lives where it cannot (a 0700 home or ``mktemp -d``), the
        data goes under that account's home instead, in a folder named after the original path
        (the same project finds the same data next time); ``location`` beside the original
        records where, for ``make clean``."""
        if can_traverse(self.data_dir.parent.parent, owner):
            return
        wanted = self.data_dir.resolve()
        digest = hashlib.sha256(str(wanted).encode()).hexdigest()[:16]
        self.data_dir = Path(owner.pw_dir) / "msh-data" / digest / "postgres"
        wanted.parent.mkdir(parents=True, exist_ok=True)
        (wanted.parent / "postgres.location").write_text(f"{self.data_dir.parent}\n")

    def prepare(self) -> None:
        owner = self._owner()
        if owner is not None:
            self._keep_reachable(owner)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            # the server's account must reach its directory; make the parent traversable
            self.data_dir.parent.chmod(self.data_dir.parent.stat().st_mode | 0o711)
            os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
            os.chown(self.data_dir.parent, os.geteuid(), os.getegid())
        self.data_dir.chmod(0o700)
        pwfile = self.data_dir.parent / ".pgpass-init"
        pwfile.write_text(self.password + "\n")
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            subprocess.run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
                check=True,
                capture_output=True,
                **self.popen_kwargs(),
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def argv(self) -> list[str]:
        argv = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.data_dir),
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        return argv

    def is_ready(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
        )
        return result.returncode == 0

    def after_start(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            for database in self.databases:
                if database not in existing:
                    conn.execute(f'CREATE DATABASE "{database}"')


@dataclass
class RedisServer(Server):
    durable: bool = True

    def __post_init__(self) -> None:
        self.name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        redis = shutil.which("redis-server")
        if not redis:
            raise RuntimeError("redis-server not found: apt-get install redis-server")
        argv = [redis, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        argv += ["--appendonly", "yes"] if self.durable else ["--save", "", "--appendonly", "no"]
        return argv

    def is_ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")


@dataclass
class MongoServer(Server):
    """A real ``mongod`` when on PATH, else the MongoDB wire-protocol server ``nx-27017``."""

    def __post_init__(self) -> None:
        self.name = "mongo"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        if mongod := shutil.which("mongod"):
            return [
                mongod,
                "--dbpath",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--bind_ip",
                "127.0.0.1",
            ]
        nx = shutil.which("nx-27017") or str(Path(sys.executable).parent / "nx-27017")
        return [
            nx,
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--log-file",
            str(self.data_dir / "nx-27017.log"),
            "--pid-file",
            str(self.data_dir / "nx-27017.pid"),
        ]

    def is_ready(self) -> bool:
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]] = MongoClient(self.url, serverSelectionTimeoutMS=500)
        try:
            return client.admin.command("ping").get("ok") == 1
        finally:
            client.close()


class ExternalMongo:
    """``MONGO_URL`` is set: use that server, start nothing."""

    name = "mongo"

    def __init__(self, url: str) -> None:
        self.url = url

    def start(self, timeout: float = 60) -> None:
        pass

    def stop(self, timeout: float = 30) -> None:
        pass


def mongo_server(data_dir: Path) -> MongoServer | ExternalMongo:
    url = os.environ.get("MONGO_URL")
    return ExternalMongo(url) if url else MongoServer(data_dir)
