"""Whole-stack tests: the platform runs natively (real servers, services and workers) and
the tests talk to it through the gateway only; they look into databases and queues to check
what a user cannot see (exactly-once, published events)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from devstack.config import load_env
from devstack.stack import PlatformRun

# What Django's console and file e-mail backends write after each message.
MAIL_SEPARATOR = "-" * 79

# Faster than production so crash recovery fits in a test: a killed worker's message returns
# after ~VISIBILITY seconds.
STACK_SETTINGS = {
    "LOG_FORMAT": "json",
    "CELERY_VISIBILITY_TIMEOUT": "6",
    "CELERY_RESTORE_INTERVAL": "1",
    "OUTBOX_SWEEP_SECONDS": "0.5",
    "EVENTS_RETRY_BACKOFF_MAX": "2",
    "LOGIN_THROTTLE_RATE": "1000/min",
    "REGISTER_THROTTLE_RATE": "1000/min",
    "PASSWORD_RESET_THROTTLE_RATE": "1000/min",
    "MAINAPP_WEB_WORKERS": "2",
    # gateway rate limits: generous, so that tests sharing 127.0.0.1 do not throttle each other
    # (the 429 tests start their own gateway with strict limits)
    "RATE_LIMIT_ANONYMOUS": "100000/minute",
    "RATE_LIMIT_USER": "100000/minute",
    "RATE_LIMIT_STRICT": "100000/minute",
    # orders: the sweeper re-publishes order.placed for orders pending 5 s; short heartbeats
    "ORDERS_PENDING_REPUBLISH_SECONDS": "5",
    "ORDERS_SWEEP_SECONDS": "1",
    "ORDERS_SSE_HEARTBEAT_SECONDS": "1",
}


class Stack(PlatformRun):
    """The platform for the whole-stack tests, with what they look at."""

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15, **kwargs)

    @property
    def mail_dir(self) -> Path:
        return Path(self.env["EMAIL_FILE_PATH"])

    @property
    def keys_dir(self) -> Path:
        return Path(self.env["JWT_PRIVATE_KEYS_DIR"])

    def mainapp_db(self) -> psycopg.Connection:
        return psycopg.connect(self.env["MAINAPP_DATABASE_URL"], autocommit=True)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.env["REDIS_URL"])

    def mails_to(self, address: str) -> list[str]:
        if not self.mail_dir.exists():
            return []
        # Django's file backend names a file by the second and the backend object's id, so two
        # messages a process sends within a second can share a file: split it into messages.
        texts = (path.read_text(errors="replace") for path in sorted(self.mail_dir.iterdir()))
        messages = (message for text in texts for message in text.split(MAIL_SEPARATOR))
        return [message for message in messages if f"To: {address}" in message]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with Stack({**load_env(), **STACK_SETTINGS}, prefix="msh-stack-") as stack:
        yield stack


@pytest.fixture(scope="session")
def replicated_stack() -> Iterator[Stack]:
    """A second platform with two replicas of catalog and of orders (web and worker each),
    the gateway balancing over them (tests/test_replicas.py)."""
    settings = {**load_env(), **STACK_SETTINGS}
    replicas = {"catalog": 2, "orders": 2}
    with Stack(settings, prefix="msh-replicas-", replicas=replicas) as stack:
        yield stack


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


# --------------------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (``make install`` apt-installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(make install runs apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, stack: Stack, request: pytest.FixtureRequest):
    """``open(viewport=...)`` gives a new page on the stack's origin (its own cookies); each
    page's final state is saved as tests/artifacts/<test>[-n].png (git-ignored).

    Every page runs under the SPA's Content-Security-Policy; a test whose pages had anything
    blocked by it fails (the shop must work under it), unless it expects that itself
    (``request.node.csp_violations_expected``)."""
    contexts = []
    violations: list[str] = []

    def note_violation(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(message.text)

    def open_page(width: int = 1280, height: int = 900):
        context = chromium.new_context(
            base_url=stack.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        context.on("console", note_violation)
        contexts.append(context)
        return context.new_page()

    open_page.csp_violations = violations  # type: ignore[attr-defined]
    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for index, context in enumerate(contexts):
        suffix = f"-{index}" if index else ""
        for page in context.pages:
            with contextlib.suppress(Exception):
                page.screenshot(path=ARTIFACTS / f"{request.node.name}{suffix}.png", full_page=True)
        context.close()
    if not getattr(request.node, "csp_violations_expected", False):
        assert violations == [], "blocked by the Content-Security-Policy"
