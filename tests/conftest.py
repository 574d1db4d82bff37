"""Whole-stack tests: the platform runs natively (real servers, services, workers, relay) and
the tests talk to it through the gateway only; they look into databases and queues to check
what a user cannot see (exactly-once, published events)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from devstack.config import load_env
from devstack.processes import ServiceProcess
from devstack.pytest_plugin import throwaway_dir
from devstack.stack import Platform, wait_healthy

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


class Stack:
    def __init__(self, platform: Platform, processes: dict[str, ServiceProcess]) -> None:
        self.platform = platform
        self.processes = processes
        self.env = platform.env()
        self.url = platform.gateway_url

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

    def restart(self, name: str, **extra_env: str) -> ServiceProcess:
        """Start process ``name`` again (after a kill), optionally with extra environment."""
        old = self.processes[name]
        old.stop()
        new = ServiceProcess(old.spec, {**self.env, **extra_env}, old.log_path.parent)
        new.start()
        self.processes[name] = new
        return new

    def mails_to(self, address: str) -> list[str]:
        if not self.mail_dir.exists():
            return []
        texts = (path.read_text(errors="replace") for path in sorted(self.mail_dir.iterdir()))
        return [text for text in texts if f"To: {address}" in text]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    run_dir = throwaway_dir("msh-stack-")
    settings = {**load_env(), **STACK_SETTINGS}
    for key in ("JWT_PRIVATE_KEYS_DIR", "EMAIL_FILE_PATH", "MAINAPP_STATIC_ROOT"):
        settings.pop(key, None)  # the platform puts them in its throwaway run directory
    platform = Platform(run_dir, settings, durable=False, free_ports=True)
    processes: dict[str, ServiceProcess] = {}
    try:
        platform.start_infra()
        platform.run_setup()
        env = platform.env()
        for spec in platform.processes():
            processes[spec.name] = ServiceProcess(spec, env, run_dir / "logs")
            processes[spec.name].start()
        try:
            wait_healthy(f"{platform.gateway_url}/health", timeout=90)
        except Exception:
            for process in processes.values():
                print(f"===== {process.spec.name} =====\n{process.log()[-3000:]}")
            raise
        yield Stack(platform, processes)
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        platform.stop_infra()
        shutil.rmtree(run_dir, ignore_errors=True)


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
    page's final state is saved as tests/artifacts/<test>[-n].png (git-ignored)."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900):
        context = chromium.new_context(
            base_url=stack.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for index, context in enumerate(contexts):
        suffix = f"-{index}" if index else ""
        for page in context.pages:
            with contextlib.suppress(Exception):
                page.screenshot(path=ARTIFACTS / f"{request.node.name}{suffix}.png", full_page=True)
        context.close()
