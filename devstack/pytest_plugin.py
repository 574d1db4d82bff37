"""pytest building blocks: each test session gets its own throwaway servers.

A test suite names the servers it needs in its pytest configuration::

    [pytest]
    addopts = -p devstack.pytest_plugin
    msh_servers = postgres redis

They are started before any conftest or Django settings load, so a service's settings read the
real URLs from the environment exactly as in production, and they are stopped when the session
ends. pytest-postgresql/pytest-redis are not used: pytest-postgresql runs ``pg_ctl`` as the
current user, which PostgreSQL refuses when that is root, and one building block for both the
launcher and the tests keeps them identical.
"""

from __future__ import annotations

import os
import shutil

import pytest

from .config import load_env
from .infra import Infra
from .servers import throwaway_dir

_infra: Infra | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("msh_servers", "servers to start for the session", type="args", default=[])  # type: ignore[maybe-unrecognized-str-typeform]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args) -> None:
    global _infra
    for key, value in load_env().items():
        os.environ.setdefault(key, value)
    kinds = early_config.getini("msh_servers")
    if not kinds or _infra is not None:
        return
    base = throwaway_dir("msh-test-")
    os.environ["JWT_PRIVATE_KEYS_DIR"] = str(base / "jwt-keys")
    os.environ["EMAIL_FILE_PATH"] = str(base / "mail")
    _infra = Infra(base, os.environ, kinds, durable=False).start()
    # pytest_unconfigure does not run when a conftest fails to import; cleanups always do
    early_config.add_cleanup(_stop_infra)
    os.environ.update(_infra.env())


def _stop_infra() -> None:
    global _infra
    if _infra is not None:
        _infra.stop()
        shutil.rmtree(_infra.base_dir, ignore_errors=True)
        _infra = None


@pytest.fixture(scope="session")
def msh_infra() -> Infra:
    """The servers this session started (see ``msh_servers``)."""
    if _infra is None:
        pytest.fail("no servers configured: set msh_servers in the pytest configuration")
    return _infra
