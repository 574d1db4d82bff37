"""What runs on top of the data stores: every service and worker, as commands (each worker
also sweeps its service's outbox: msh_events.worker).

One list serves ``make dev`` (handed to honcho) and the whole-stack tests (started one by one so
a test can kill and restart a worker).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import ROOT

PYTHON = sys.executable
# The services' uvicorn protocol: bounded request heads, slowloris cut-off (msh_common).
SERVICE_HTTP = "msh_common.http_protocol:ServiceHttpProtocol"
# gunicorn's threaded worker, its refusals of malformed requests in the JSON error shape.
SERVICE_WORKER = "msh_common.gunicorn_worker.JsonErrorThreadWorker"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    health_url: str | None = None


def celery_worker(service: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """A service's Celery worker: its own app, its own queue only, threads (light on memory)."""
    return (
        PYTHON,
        "-m",
        "celery",
        "-A",
        f"{service}.worker",
        "worker",
        "--queues",
        service,
        "--pool",
        "threads",
        "--concurrency",
        env.get(f"{service.upper()}_WORKER_CONCURRENCY", "4"),
        "--loglevel",
        env.get("LOG_LEVEL", "INFO"),
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"{service}@%h",
    )


def worker(service: str, env: Mapping[str, str], directory: Path) -> ProcessSpec:
    """The process every service with events runs beside its web process: it consumes the
    service's queue and sweeps its outbox."""
    return ProcessSpec(f"{service}-worker", celery_worker(service, env), directory)


def mainapp_server(env: Mapping[str, str], mainapp_dir: Path) -> ProcessSpec:
    """mainapp's one server process (mainapp.asgi under uvicorn): the REST API, the admin and
    the notifications sockets."""
    port = env["MAINAPP_PORT"]
    # --no-proxy-headers: forwarding headers are mainapp.edge's (TRUSTED_PROXIES)
    return web_process(
        "mainapp",
        f"""uvicorn mainapp.asgi:application --host 127.0.0.1 --port {port}
        --workers {env.get("MAINAPP_WEB_WORKERS", "1")} --no-access-log --no-proxy-headers
        --no-server-header --lifespan off --http {SERVICE_HTTP} --ws-max-size 65536
        --timeout-graceful-shutdown 5""",
        mainapp_dir,
        port,
    )


def web_process(name: str, command: str, cwd: Path, port: str) -> ProcessSpec:
    """``python -m <command>`` (its arguments split on whitespace), ready when ``/health`` on
    ``port`` answers."""
    return ProcessSpec(
        name,
        (PYTHON, "-m", *command.split()),
        cwd,
        health_url=f"http://127.0.0.1:{port}/health",
    )


def mainapp_command(*args: str) -> tuple[str, ...]:
    return (PYTHON, "manage.py", *args)


def service_processes(env: Mapping[str, str]) -> list[ProcessSpec]:
    """The platform's long-running processes, the gateway last."""
    mainapp_dir = ROOT / "mainapp"
    gateway_dir = ROOT / "gateway"
    gateway_port = env["GATEWAY_PORT"]
    return [
        mainapp_server(env, mainapp_dir),
        worker("mainapp", env, mainapp_dir),
        *catalog_processes(env),
        *orders_processes(env),
        # on GATEWAY_HOST:GATEWAY_PORT, with the server options of gateway/gateway/__main__.py
        web_process("gateway", "gateway", gateway_dir, gateway_port),
    ]


def setup_commands() -> list[ProcessSpec]:
    """One-shot jobs before the services start: keys, migrations, static files, demo seed,
    and the browser app's build when its sources changed (the gateway serves frontend/dist)."""
    mainapp_dir = ROOT / "mainapp"
    return [
        ProcessSpec("frontend-build", (PYTHON, "-m", "devstack.frontend"), ROOT),
        ProcessSpec("mainapp-jwt-key", mainapp_command("ensure_jwt_key"), mainapp_dir),
        ProcessSpec("mainapp-migrate", mainapp_command("migrate", "--noinput"), mainapp_dir),
        ProcessSpec(
            "mainapp-static", mainapp_command("collectstatic", "--noinput", "-v0"), mainapp_dir
        ),
        ProcessSpec("mainapp-seed", mainapp_command("ensure_admin"), mainapp_dir),
        *catalog_setup_commands(),
        *orders_setup_commands(),
    ]


ORDERS_DIR = ROOT / "microservices" / "orders"


def orders_processes(env: Mapping[str, str]) -> list[ProcessSpec]:
    """orders: the FastAPI app and its worker (queue ``orders``, the outbox sweep and the
    pending-order sweeper)."""
    port = env.get("ORDERS_PORT", "8003")
    return [
        # --no-proxy-headers: forwarding headers are orders.api.edge's (TRUSTED_PROXIES)
        web_process(
            "orders",
            f"""uvicorn --factory orders.app:create_app --host 127.0.0.1 --port {port}
            --workers {env.get("ORDERS_WEB_WORKERS", "1")} --no-access-log --no-proxy-headers
            --no-server-header --loop uvloop --http {SERVICE_HTTP} --timeout-graceful-shutdown 5""",
            ORDERS_DIR,
            port,
        ),
        worker("orders", env, ORDERS_DIR),
    ]


def orders_setup_commands() -> list[ProcessSpec]:
    """The orders schema: Alembic migrations."""
    return [ProcessSpec("orders-migrate", (PYTHON, "-m", "alembic", "upgrade", "head"), ORDERS_DIR)]


CATALOG_DIR = ROOT / "microservices" / "catalog"


def catalog_processes(env: Mapping[str, str]) -> list[ProcessSpec]:
    """catalog: the Flask app (gunicorn) and its worker (queue ``catalog``, the outbox sweep)."""
    port = env.get("CATALOG_PORT", "8002")
    return [
        # --no-control-socket: its default path is one for every gunicorn on the host
        web_process(
            "catalog",
            f"""gunicorn catalog.app:create_app() --bind 127.0.0.1:{port} --no-control-socket
            --workers {env.get("CATALOG_WEB_WORKERS", "1")} --worker-class {SERVICE_WORKER}
            --threads 4 --limit-request-field_size 32768 --limit-request-fields 200
            --graceful-timeout 5 --timeout 30""",
            CATALOG_DIR,
            port,
        ),
        worker("catalog", env, CATALOG_DIR),
    ]


def catalog_setup_commands() -> list[ProcessSpec]:
    """The catalog's indexes, then the demo catalog if it is empty."""
    return [ProcessSpec("catalog-setup", (PYTHON, "-m", "catalog", "setup"), CATALOG_DIR)]


def with_replicas(
    specs: list[ProcessSpec],
    env: Mapping[str, str],
    replicas: Mapping[str, int],
    new_port: Callable[[], int],
) -> list[ProcessSpec]:
    """``specs`` with ``replicas[service]`` copies of catalog and orders in all (web and worker
    each, the copies on ports of their own), and the gateway balancing over every web copy
    (its ``<NAME>_URL`` lists them; the services keep calling the first)."""
    makers = {"catalog": catalog_processes, "orders": orders_processes}
    copies: list[ProcessSpec] = []
    gateway_env: dict[str, str] = {}
    for service, count in replicas.items():
        port_key = f"{service.upper()}_PORT"
        ports = [env[port_key], *(str(new_port()) for _ in range(count - 1))]
        gateway_env[f"{service.upper()}_URL"] = ",".join(f"http://127.0.0.1:{p}" for p in ports)
        for number, port in enumerate(ports[1:], start=2):
            for spec in makers[service]({**env, port_key: port}):
                argv = tuple(
                    a.replace(f"{service}@%h", f"{service}-{number}@%h") for a in spec.argv
                )
                copies.append(
                    replace(spec, name=f"{spec.name}-{number}", argv=argv, env={port_key: port})
                )
    *services, gateway = specs
    assert gateway.name == "gateway", "the gateway starts last"
    return [*services, *copies, replace(gateway, env={**gateway.env, **gateway_env})]
