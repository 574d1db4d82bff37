"""mainapp tests run against a real PostgreSQL and Redis started for the session
(``msh_servers`` in pytest.ini)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters live in the (real) Redis cache; each test starts from zero."""
    cache.clear()
