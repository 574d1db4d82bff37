"""Static checks of the Docker packaging: compose files, Dockerfiles, observability configs.

No Docker engine is needed (none runs here): the compose files are validated against the
compose-spec schema (check-jsonschema), every Dockerfile with hadolint, and the structural rules
of the platform (healthchecks, start order, networks, limits, variables, commands) are read from
the files with PyYAML, with compose's variable interpolation applied from the top-level ``.env``.
These tests do not use the ``stack`` fixture: they start nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

from devstack.services import service_processes, setup_commands

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROOT_FILE = "docker-compose.yml"
PART_FILES = (
    "docker-compose-mainapp.yml",
    "docker-compose-flask.yml",
    "docker-compose-fastapi.yml",
)
COMPOSE_FILES = (ROOT_FILE, *PART_FILES)

# Every deployable: its Dockerfile, its build context and the context's ignore file.
DOCKERFILES = {
    "gateway": ("gateway/Dockerfile", ".", "gateway/Dockerfile.dockerignore"),
    "mainapp": ("mainapp/Dockerfile", ".", "mainapp/Dockerfile.dockerignore"),
    "catalog": (
        "microservices/catalog/Dockerfile",
        ".",
        "microservices/catalog/Dockerfile.dockerignore",
    ),
    "orders": (
        "microservices/orders/Dockerfile",
        ".",
        "microservices/orders/Dockerfile.dockerignore",
    ),
    "frontend": ("frontend/Dockerfile", "frontend", "frontend/.dockerignore"),
}

# Each database and the service (prefix) that owns it: only that service's containers reach it.
DATABASES = {"mainapp-postgres": "mainapp", "catalog-mongo": "catalog", "orders-postgres": "orders"}
DB_DATA_DIRS = {"postgres": "/var/lib/postgresql/data", "mongo": "/data/db"}

# The services with events: each one's worker consumes its queue and sweeps its outbox (a thread,
# msh_events.worker) with the service's chores; no relay process of their own any more. What
# the sweep reads, beyond what every process of the service reads.
EVENT_SERVICES = ("mainapp", "catalog", "orders")
SWEEP_VARIABLES = {
    "mainapp": {"OUTBOX_SWEEP_SECONDS"},
    "catalog": {"OUTBOX_SWEEP_SECONDS"},
    # orders' chore: the pending-order sweeper
    "orders": {
        "OUTBOX_SWEEP_SECONDS",
        "ORDERS_SWEEP_SECONDS",
        "ORDERS_PENDING_REPUBLISH_SECONDS",
        "ORDERS_PENDING_REPUBLISH_MAX",
    },
}

# Variables that are secrets or must be chosen deliberately: always ${VAR:?message}.
REQUIRED_VARIABLES = {
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "MONGO_USER",
    "MONGO_PASSWORD",
    "DJANGO_SECRET_KEY",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "PUBLIC_URL",
    "GATEWAY_PORT",
}

# Images built here; workers and jobs reuse them (never a build of their own).
OWN_IMAGE = re.compile(r"^microservicehub/(?P<name>[a-z]+):")

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


@cache
def dotenv() -> dict[str, str]:
    return {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: ``$$``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``..."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset_or_empty = not value if op and op.startswith(":") else value is None
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return value
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def _interpolate_tree(node: object, env: Mapping[str, str]) -> object:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


@cache
def raw(file: str) -> str:
    return (ROOT / file).read_text()


@cache
def compose(file: str) -> dict:
    """One compose file, YAML anchors resolved, variables interpolated from ``.env``."""
    return _interpolate_tree(yaml.safe_load(raw(file)), dotenv())


@cache
def services() -> dict[str, dict]:
    """The merged model of ``docker compose up``: the root file and everything it includes."""
    merged: dict[str, dict] = {}
    for file in COMPOSE_FILES:
        for name, service in compose(file).get("services", {}).items():
            assert name not in merged, f"service {name} is defined twice ({file})"
            merged[name] = {**service, "_file": file}
    return merged


def without_comments(text: str) -> str:
    return "\n".join(re.split(r"(?:^|\s)#", line, maxsplit=1)[0] for line in text.splitlines())


def service_networks(service: dict) -> set[str]:
    networks = service.get("networks", ["default"])
    return set(networks)


def is_job(service: dict) -> bool:
    return service.get("labels", {}).get("org.microservicehub.kind") == "job"


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on", {})
    return {name: {} for name in deps} if isinstance(deps, list) else deps


def normalise_argv(argv: tuple[str, ...]) -> list[str]:
    """A native command line as it runs in a container: ``python``, listening on every
    interface (the container's network namespace, not the host's)."""
    out = ["python", *argv[1:]]
    every_interface = "0.0.0.0"  # noqa: S104 - inside a container, on purpose
    out = [arg.replace("127.0.0.1:", f"{every_interface}:") for arg in out]
    return [
        every_interface if arg == "127.0.0.1" and out[i - 1] == "--host" else arg
        for i, arg in enumerate(out)
    ]


def native_env() -> dict[str, str]:
    """The environment the launcher would give, with the ports the containers listen on."""
    return {
        **dotenv(),
        "GATEWAY_PORT": "8000",
        "MAINAPP_PORT": "8001",
        "CATALOG_PORT": "8002",
        "ORDERS_PORT": "8003",
    }


def dockerfile_cmd(path: str) -> list[str]:
    text = (ROOT / path).read_text()
    match = re.findall(r"^CMD (\[.*\])\s*$", text, re.MULTILINE)
    assert match, f"{path} has no exec-form CMD"
    return json.loads(match[-1])


# --- the tools ---------------------------------------------------------------------------------


def test_compose_files_are_valid_against_the_compose_spec() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", *COMPOSE_FILES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("deployable", sorted(DOCKERFILES))
def test_hadolint_finds_nothing(deployable: str) -> None:
    dockerfile = DOCKERFILES[deployable][0]
    result = subprocess.run(
        [BIN / "hadolint", "--no-color", "--failure-threshold", "warning", dockerfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config_accepts_the_files_when_the_plugin_exists() -> None:
    docker = shutil.which("docker")
    probe = (
        subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if docker
        else None
    )
    if probe is None or probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed here")
    result = subprocess.run(
        [docker, "compose", "-f", ROOT_FILE, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("deployable", sorted(DOCKERFILES))
def test_dockerfile_is_multi_stage_pinned_and_runs_as_non_root(deployable: str) -> None:
    dockerfile, context, ignore = DOCKERFILES[deployable]
    text = (ROOT / dockerfile).read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.MULTILINE))
    bases = [args.get(b.strip("${}"), b) for b in re.findall(r"^FROM (\S+)", text, re.MULTILINE)]
    assert len(bases) >= 2, f"{dockerfile} is not multi-stage"
    for base in bases:
        assert ":" in base, f"{dockerfile}: base image {base} has no tag"
        assert not base.endswith(":latest"), f"{dockerfile}: {base} is not pinned"
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users, f"{dockerfile} has no USER"
    assert users[-1].split(":")[0] not in ("root", "0"), f"{dockerfile} runs as root"
    assert "HEALTHCHECK" in text, f"{dockerfile} has no HEALTHCHECK"
    assert (ROOT / ignore).is_file(), f"{dockerfile}: no {ignore} for its build context"
    assert (ROOT / context).is_dir()
    # dependencies are installed before the code is copied (layer caching), from the service's
    # lock with every hash checked, and libs/ on top without dependencies (they are in the lock)
    if deployable != "frontend":
        lock = f"COPY {Path(dockerfile).parent}/requirements.lock "
        assert text.index(lock) < text.index(f"COPY {Path(dockerfile).parent}/ ")
        assert "pip install --require-hashes -r /build/requirements.lock" in text
        assert "pip install --no-deps --no-build-isolation /build/libs" in text
    # no secret baked in: no ENV/ARG assigning a password, secret or key value
    for line in re.findall(r"^(?:ENV|ARG) .*$", text, re.MULTILINE):
        assert not re.search(r"(PASSWORD|SECRET)\w*=", line), f"{dockerfile}: {line}"


def test_python_images_ignore_everything_but_their_code_and_libs() -> None:
    for deployable, (_dockerfile, context, ignore) in DOCKERFILES.items():
        lines = (ROOT / ignore).read_text().splitlines()
        if context == ".":
            assert "*" in lines, f"{ignore} must start from nothing"
            assert "!libs/" in lines, f"{ignore} must let libs/ in"
            assert any(line.startswith("!") and deployable in line for line in lines), ignore
        assert any(".env" in line for line in lines), f"{ignore} must keep .env out"
    assert (ROOT / ".dockerignore").is_file()


@pytest.mark.parametrize("deployable", ["gateway", "mainapp", "catalog", "orders"])
def test_image_default_command_is_the_launchers(deployable: str) -> None:
    specs = {spec.name: spec for spec in service_processes(native_env())}
    assert dockerfile_cmd(DOCKERFILES[deployable][0]) == normalise_argv(specs[deployable].argv)


def test_every_image_is_pinned_and_workers_reuse_their_services_image() -> None:
    built: dict[str, str] = {}
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: {image} is not pinned"
        if "build" in service:
            assert OWN_IMAGE.match(image), f"{name} builds {image}: not one of ours"
            assert image not in built, f"{image} is built by both {built.get(image)} and {name}"
            built[image] = name
    for name, service in services().items():
        own = OWN_IMAGE.match(service["image"])
        if own and "build" not in service:
            assert service["image"] in built, f"{name}: nobody builds {service['image']}"
            assert service.get("pull_policy") == "never", f"{name} would try to pull our image"
    for prefix in EVENT_SERVICES:
        assert services()[f"{prefix}-worker"]["image"] == services()[prefix]["image"]


# --- compose structure -------------------------------------------------------------------------


def test_root_file_includes_every_part() -> None:
    assert compose(ROOT_FILE)["include"] == list(PART_FILES)


def test_every_container_has_a_healthcheck_or_is_a_one_shot_job() -> None:
    for name, service in services().items():
        if is_job(service):
            assert service.get("restart") == "no", f"job {name} must not restart"
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name}: no healthcheck"
        assert service.get("restart") in ("unless-stopped", "always"), f"{name}: restart policy"


def test_every_container_has_a_memory_limit() -> None:
    for name, service in services().items():
        limit = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        assert limit or service.get("mem_limit"), f"{name} has no memory limit"


def test_depends_on_waits_for_health_or_completion_of_existing_services() -> None:
    for name, service in services().items():
        for dependency, options in depends_on(service).items():
            assert dependency in services(), f"{name} depends on missing {dependency}"
            target = services()[dependency]
            expected = "service_completed_successfully" if is_job(target) else "service_healthy"
            assert options.get("condition") == expected, f"{name} -> {dependency}"
            if target["_file"] != service["_file"] and target["_file"] != ROOT_FILE:
                # a part also starts alone, against the others running in another project
                assert options.get("required") is False, f"{name} -> {dependency}: required"


def test_services_wait_for_their_migrations_and_seed() -> None:
    jobs = {name for name, service in services().items() if is_job(service)}
    assert jobs == {
        "mainapp-jwt-key",
        "mainapp-migrate",
        "mainapp-seed",
        "catalog-setup",
        "orders-migrate",
    }
    for web, needs in {
        "mainapp": {"mainapp-jwt-key", "mainapp-migrate", "mainapp-seed"},
        "catalog": {"catalog-setup"},
        "orders": {"orders-migrate"},
        "mainapp-worker": {"mainapp-migrate"},
        "catalog-worker": {"catalog-setup"},
        "orders-worker": {"orders-migrate"},
    }.items():
        assert needs <= set(depends_on(services()[web])), web


def test_only_the_gateway_publishes_a_port_unless_opted_in() -> None:
    for name, service in services().items():
        ports = service.get("ports", [])
        if name == "gateway":
            assert ports == [f"{dotenv()['GATEWAY_PORT']}:8000"]
        elif ports:
            assert service.get("profiles"), f"{name} publishes {ports} without being opt-in"
            for port in ports:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} not on loopback"


def test_each_database_is_reachable_only_by_its_owner() -> None:
    for database, owner in DATABASES.items():
        db = services()[database]
        assert db.get("ports") is None
        for network in service_networks(db):
            members = {n for n, s in services().items() if network in service_networks(s)}
            strangers = {m for m in members if m != database and not m.startswith(owner)}
            assert not strangers, f"{database} on {network} is reachable by {strangers}"
            definition = compose(db["_file"])["networks"][network]
            assert definition.get("internal") is True, f"{network} must be internal"


def test_every_database_keeps_its_data_in_a_named_volume() -> None:
    for database in (*DATABASES, "redis"):
        service = services()[database]
        volumes = compose(service["_file"]).get("volumes", {})
        mounts = [str(v).split(":") for v in service.get("volumes", [])]
        named = [m for m in mounts if m[0] in volumes]
        assert named, f"{database} has no named volume"
        kind = service["image"].split(":")[0]
        if kind in DB_DATA_DIRS:
            assert any(m[1] == DB_DATA_DIRS[kind] for m in named), f"{database}: data dir"


def test_shared_networks_are_declared_identically_in_every_part() -> None:
    declared: dict[str, dict] = {}
    for file in COMPOSE_FILES:
        for network, definition in compose(file).get("networks", {}).items():
            if network in declared:
                assert declared[network] == definition, f"{network} differs in {file}"
            declared[network] = definition
    for name, service in services().items():
        for network in service_networks(service):
            assert network in compose(service["_file"]).get("networks", {}), (name, network)
    # the gateway and the frontend share the front network, and nothing else is on it
    front = {n for n, s in services().items() if "front" in service_networks(s)}
    assert front == {"gateway", "frontend"}


def test_required_variables_fail_fast_and_every_variable_is_in_dotenv() -> None:
    for file in COMPOSE_FILES:
        for match in _VARIABLE.finditer(without_comments(raw(file))):
            name = match.group("name") or match.group("bare")
            if not name:
                continue
            assert name in dotenv(), f"{file}: ${{{name}}} is not in .env"
            if name in REQUIRED_VARIABLES or re.search(r"(PASSWORD|SECRET_KEY)$", name):
                assert match.group("op") == ":?" and match.group("arg"), (
                    f"{file}: {match.group(0)} must be written ${{{name}:?message}}"
                )
    with pytest.raises(ValueError, match="required variable DJANGO_SECRET_KEY"):
        _interpolate_tree(yaml.safe_load(raw(PART_FILES[0])), {**dotenv(), "DJANGO_SECRET_KEY": ""})


def test_secrets_given_to_containers_come_from_the_environment_only() -> None:
    for file in COMPOSE_FILES:
        for name, service in yaml.safe_load(raw(file)).get("services", {}).items():
            environment = service.get("environment", {})
            for key, value in environment.items():
                if re.search(r"(PASSWORD|SECRET_KEY)$", key):
                    assert str(value).startswith("${"), f"{file} {name}: {key} is hard-coded"


def test_every_process_runs_the_launchers_command() -> None:
    env = native_env()
    native = {spec.name: spec for spec in service_processes(env)}
    for name, spec in native.items():
        assert name in services(), f"the launcher runs {name}; compose does not"
        assert services()[name]["command"] == normalise_argv(spec.argv), name
    for job in setup_commands():
        if job.name == "mainapp-static":  # part of the image (Dockerfile RUN collectstatic)
            assert "collectstatic --noinput -v0" in (ROOT / "mainapp/Dockerfile").read_text()
            continue
        if job.name == "frontend-build":  # the frontend image's build stage
            assert "RUN npm run build" in (ROOT / "frontend/Dockerfile").read_text()
            continue
        assert job.name in services(), f"the launcher runs {job.name} first; compose does not"
        assert services()[job.name]["command"] == normalise_argv(job.argv), job.name


def test_the_long_running_containers_are_the_launchers_processes_and_no_relay() -> None:
    native = {spec.name for spec in service_processes(native_env())}
    ours = {
        name
        for name, service in services().items()
        if OWN_IMAGE.match(service["image"]) and not is_job(service)
    }
    assert ours == native | {"frontend"}, ours ^ (native | {"frontend"})
    for name, service in services().items():
        assert "relay" not in name, f"{name}: the workers sweep the outboxes now"
        command = " ".join(service.get("command", []))
        assert not re.search(r"\brelay(_outbox)?\b", command), f"{name} runs {command}"


@pytest.mark.parametrize("service", EVENT_SERVICES)
def test_each_worker_sweeps_its_outbox_with_what_the_sweep_needs(service: str) -> None:
    worker, web = services()[f"{service}-worker"], services()[service]
    environment = worker["environment"]
    assert SWEEP_VARIABLES[service] <= set(environment), SWEEP_VARIABLES[service] - set(environment)
    for name in SWEEP_VARIABLES[service]:
        assert environment[name] == dotenv()[name], name
    # every setting the service's web process has, but the multi-process metrics directory
    web_only = {"PROMETHEUS_MULTIPROC_DIR"}
    assert set(web["environment"]) - web_only <= set(environment)
    # the outbox and dead-letter gauges: on METRICS_PORT, probed by the healthcheck, scraped
    assert environment["METRICS_PORT"] == "9100"
    assert "127.0.0.1:9100/metrics" in " ".join(worker["healthcheck"]["test"])
    # its database and the broker, from the start (the relay container's start order)
    database = next(name for name, owner in DATABASES.items() if owner == service)
    assert {"broker", f"{service}-db", "observability"} <= service_networks(worker)
    assert {database, "redis"} <= set(depends_on(worker))


def test_web_services_get_their_upstreams_by_service_name() -> None:
    gateway = services()["gateway"]["environment"]
    assert gateway["MAINAPP_URL"] == "http://mainapp:8001"
    assert gateway["CATALOG_URL"] == "http://catalog:8002"
    assert gateway["ORDERS_URL"] == "http://orders:8003"
    assert services()["orders"]["environment"]["CATALOG_URL"] == "http://catalog:8002"
    for name in ("mainapp", "catalog", "orders", "gateway"):
        env = services()[name]["environment"]
        assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_mainapp_accepts_every_host_name_the_gateway_calls_it_by() -> None:
    """The gateway sends Host: <service>:<port> (REST, sockets and health probes alike)."""
    gateway = services()["gateway"]["environment"]
    allowed = services()["mainapp"]["environment"]["DJANGO_ALLOWED_HOSTS"].split(",")
    for url in ("MAINAPP_URL", "MAINAPP_WS_URL"):  # one process serves the API and the sockets
        assert urlsplit(gateway[url]).hostname in allowed, (url, allowed)


def test_the_gateway_proxies_the_browser_app_to_the_frontend_container(tmp_path: Path) -> None:
    dockerfile = (ROOT / "gateway/Dockerfile").read_text()
    # The image's step: the services discovered by DNS, then the frontend route appended.
    step = re.search(
        r"RUN sed '([^']+)' gateway/routes.toml \\\n\s+> (\S+) \\\n\s+&& cat (\S+) >> \2",
        dockerfile,
    )
    assert step is not None
    assert step.group(2, 3) == ("/app/routes.compose.toml", "/tmp/frontend-routes.toml")
    environment = services()["gateway"]["environment"]
    assert environment["GATEWAY_ROUTES_FILE"] == "/app/routes.compose.toml"
    assert environment["FRONTEND_DIST"] == ""
    discovered = subprocess.run(
        ["sed", step[1], str(ROOT / "gateway/gateway/routes.toml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    combined = tmp_path / "routes.compose.toml"
    combined.write_text(discovered + (ROOT / "deploy/gateway/frontend-routes.toml").read_text())
    # the gateway's own loader, in its own folder (as it runs), against the compose URLs
    check = (
        "import json, sys; from pathlib import Path;"
        "from gateway.routing import load_route_table; from gateway.settings import Settings;"
        "env = json.loads(sys.argv[2]);"
        "t = load_route_table(Path(sys.argv[1]), Settings(), environ=env);"
        "print(json.dumps([t.match(p).upstream.name for p in sys.argv[3:]]"
        " + [t.upstreams['frontend'].base]"
        " + [sorted(n for n, u in t.upstreams.items() if u.discover)]))"
    )
    paths = ["/products/42", "/", "/api/users/me", "/api/catalog/products"]
    result = subprocess.run(
        [sys.executable, "-c", check, str(combined), json.dumps(environment), *paths],
        cwd=ROOT / "gateway",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    *upstreams, frontend, discovered_upstreams = json.loads(result.stdout)
    assert upstreams == ["frontend", "frontend", "mainapp", "catalog"]
    assert frontend.startswith("http://frontend:8080")
    assert discovered_upstreams == ["catalog", "mainapp", "mainapp-ws", "orders"]  # --scale works


# --- observability -----------------------------------------------------------------------------


def test_observability_tools_are_an_opt_in_profile() -> None:
    tools = {"prometheus", "grafana", "otel-collector", "jaeger"}
    for tool in tools:
        assert services()[tool].get("profiles") == ["observability"], tool
    for name, service in services().items():
        if name not in tools and name != "mailpit-ui":
            assert not service.get("profiles"), f"{name} would not start by default"


def test_prometheus_scrapes_every_service_and_worker() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    hosts = {target.split(":")[0] for target in targets}
    expected = {
        name
        for name, service in services().items()
        if OWN_IMAGE.match(service["image"]) and not is_job(service) and name != "frontend"
    }
    assert expected <= hosts, f"not scraped: {expected - hosts}"
    for target in targets:
        host, port = target.split(":")
        assert host in services(), target
        if port == "9100":
            assert services()[host]["environment"]["METRICS_PORT"] == "9100", target
            assert "observability" in service_networks(services()[host]), target


def test_grafana_is_provisioned_with_the_platform_dashboard() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/microservicehub.json").read_text())
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    )
    for metric in (
        "gateway_requests_total",
        "gateway_upstream_latency_seconds_bucket",
        "msh_http_requests_total",
        "msh_queue_depth",
        "msh_outbox_backlog",
        "msh_outbox_oldest_pending_seconds",
        "msh_events_handled_total",
        "msh_dead_letters",
    ):
        assert metric in queries, f"the dashboard does not show {metric}"
    sources = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/datasources.yml").read_text()
    )
    uids = {source["uid"] for source in sources["datasources"]}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids


def test_otel_collector_sends_traces_to_jaeger() -> None:
    config = yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    exporter = config["exporters"][pipeline["exporters"][0]]
    assert exporter["endpoint"].split(":")[0] in services()


def test_the_frontend_image_sends_the_gateways_content_security_policy():
    """Natively the gateway serves the SPA (gateway/gateway/spa.py); in compose the frontend
    image does, and must send the same policy on every file."""
    spa = (ROOT / "gateway" / "gateway" / "spa.py").read_text()
    parts = re.search(r"CONTENT_SECURITY_POLICY = \(\n((?:\s+\".*\"\n)+)\)", spa)
    assert parts is not None
    policy = "".join(re.findall(r'"(.*)"', parts.group(1)))
    sent = re.findall(
        r'add_header Content-Security-Policy "([^"]+)" always;',
        (ROOT / "frontend" / "nginx.conf").read_text(),
    )
    assert sent == [policy, policy]  # both locations (add_header is not inherited)
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
