"""Static checks of the Kubernetes manifests (deploy/k8s), with no cluster: both overlays render
with kubectl's Kustomize, every object is valid for Kubernetes 1.33 (kubernetes-validate,
strict), checkov finds nothing it does not skip for a written reason, every variable a service
reads is configured, images and commands are the compose files', and production holds no
development secret. The tools live in .venv-deploy (deploy/requirements.lock, `make install`)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from test_env_documented import DJANGO_ENV_READ, PYDANTIC_SERVICES, pydantic_variables

from msh_events.config import ENVIRONMENT as EVENTS_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
TOOLS = ROOT / ".venv-deploy" / "bin"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.33.0"
COMPOSE_FILES = (
    "docker-compose-mainapp.yml",
    "docker-compose-flask.yml",
    "docker-compose-fastapi.yml",
)
# Read by a service, never set in a cluster: the native launcher's file e-mail backend.
NOT_FOR_A_CLUSTER = {"EMAIL_FILE_PATH"}
# Processes only the dev overlay runs, or that compose runs but a cluster does not need.
WEB_REPLICATED = ("gateway", "catalog", "orders", "mainapp")
# Each service's worker consumes its queue and sweeps its outbox (a thread, msh_events.worker),
# orders' with the pending-order sweeper as a chore: what the sweep reads, beyond the rest.
SWEEP_VARIABLES = {
    "mainapp": {"OUTBOX_SWEEP_SECONDS"},
    "catalog": {"OUTBOX_SWEEP_SECONDS", "OUTBOX_CLAIM_SECONDS"},  # its claim lease (MongoDB)
    "orders": {
        "OUTBOX_SWEEP_SECONDS",
        "ORDERS_SWEEP_SECONDS",
        "ORDERS_PENDING_REPUBLISH_SECONDS",
        "ORDERS_PENDING_REPUBLISH_MAX",
    },
}


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make install` (deploy/requirements.lock)")
    return str(path)


@cache
def rendered_text(overlay: str) -> str:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def of_kind(overlay: str, *kinds: str) -> Iterator[dict[str, Any]]:
    return (doc for doc in rendered(overlay) if doc["kind"] in kinds)


def containers(overlay: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of every Deployment, StatefulSet and Job."""
    for workload in of_kind(overlay, "Deployment", "StatefulSet", "Job"):
        spec = workload["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield workload, container


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"k8s-{request.param}")
    path = folder / f"{request.param}.yaml"
    path.write_text(rendered_text(request.param))
    return path


def test_every_object_is_valid_for_kubernetes_1_33(overlay_file: Path) -> None:
    result = subprocess.run(
        [tool("kubernetes-validate"), "-k", KUBERNETES_VERSION, "--strict", str(overlay_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed for resource deployment/gateway" in result.stdout


def test_checkov_finds_nothing_and_every_skip_says_why(overlay_file: Path) -> None:
    command = [tool("checkov"), "-f", str(overlay_file), "--framework", "kubernetes", "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert not failed and summary["passed"] > 1000, failed
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment") or ""
        assert len(reason) > 20, (skipped["check_id"], skipped["resource"], reason)


# --- configuration -----------------------------------------------------------------------------


def read_by_services() -> set[str]:
    """Every variable the gateway, catalog, orders and mainapp read (as test_env_documented)."""
    variables = set().union(*(pydantic_variables(f, m) for f, m in PYDANTIC_SERVICES))
    source = (ROOT / "mainapp/mainapp/settings.py").read_text()
    return variables | {a or b for a, b in DJANGO_ENV_READ.findall(source)} | set(EVENTS_VARIABLES)


def container_variables(overlay: str, container: dict[str, Any]) -> set[str]:
    """Names set in ``container``: its env, and every key of the ConfigMaps and Secrets it reads
    whole (envFrom). Production's Secrets are the operator's (not rendered): nothing from them."""
    data = {
        (doc["kind"], doc["metadata"]["name"]): set(doc.get("data", {}))
        for doc in of_kind(overlay, "ConfigMap", "Secret")
    }
    names = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        ref = source.get("configMapRef") or source["secretRef"]
        if kind == "Secret" and overlay == "production":
            continue
        names |= data[(kind, ref["name"])]
    return names


def configured(overlay: str) -> set[str]:
    """Names set in some container."""
    return set().union(*(container_variables(overlay, c) for _, c in containers(overlay)))


def test_every_variable_a_service_reads_is_configured_in_the_cluster() -> None:
    missing = read_by_services() - configured("dev") - NOT_FOR_A_CLUSTER
    assert not missing, f"set these in deploy/k8s (config.env or a Secret): {sorted(missing)}"


def test_the_config_map_holds_no_secret() -> None:
    config = (K8S / "base" / "config.env").read_text()
    names = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", config, re.MULTILINE))
    secret = re.compile(r"_PASSWORD$|SECRET|_DATABASE_URL$|MONGO_URL$")
    assert names and not {name for name in names if secret.search(name)}
    assert "REDIS_URL" not in names  # it may carry a password: the Secrets hold it


def test_mainapp_accepts_every_host_name_the_gateway_calls_it_by() -> None:
    config = dict(
        re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (K8S / "base" / "config.env").read_text(), re.M)
    )
    allowed = config["DJANGO_ALLOWED_HOSTS"].split(",")
    for url in ("MAINAPP_URL", "MAINAPP_WS_URL"):
        assert urlsplit(config[url]).hostname in allowed, (url, allowed)


def test_production_has_no_development_secret_and_replicates_the_web() -> None:
    text = rendered_text("production")
    assert "dev-insecure" not in text and "kind: Secret" not in text
    secret_generators = (K8S / "overlays/production/kustomization.yaml").read_text()
    assert "secretGenerator" not in secret_generators
    replicas = {
        d["metadata"]["name"]: d["spec"]["replicas"] for d in of_kind("production", "Deployment")
    }
    assert all(replicas[name] >= 2 for name in WEB_REPLICATED), replicas
    for hpa in of_kind("production", "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2
    environment = next(
        doc["data"]
        for doc in of_kind("production", "ConfigMap")
        if doc["metadata"]["name"].startswith("msh-config")
    )
    assert environment["ENVIRONMENT"] == "production"


# --- the same processes as compose ---------------------------------------------------------------


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    for name in COMPOSE_FILES:
        services.update(yaml.safe_load((ROOT / name).read_text())["services"])
    return services


def as_kubernetes(command: list[str]) -> list[str]:
    """A compose command with ${VAR:-default} written as Kubernetes writes it: $(VAR)."""
    return [re.sub(r"\$\{([A-Z0-9_]+)(:-[^}]*)?\}", r"$(\1)", part) for part in command]


def test_every_process_runs_the_compose_image_and_command() -> None:
    compose = compose_services()
    checked = set()
    for workload, container in containers("dev"):
        name = workload["metadata"]["name"]
        if name not in compose or container["name"] in ("wait-for-migrations", "indexes"):
            continue
        service = compose[name]
        image = service.get("image", "")
        assert container["image"] == re.sub(r":\$\{[^}]+\}$", ":dev", image), name
        if "command" in service:
            assert container["command"] == as_kubernetes(service["command"]), name
        checked.add(name)
    python_processes = {n for n, s in compose.items() if "microservicehub/" in s.get("image", "")}
    assert python_processes <= checked | {"frontend"}, python_processes - checked


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_deployments_are_the_compose_processes_and_no_relay(overlay: str) -> None:
    """The workers sweep the outboxes (msh_events.worker): no relay Deployment, nor anything
    that selected one (a budget, a policy, an autoscaler, a monitor)."""
    compose = compose_services()
    long_running = {
        name
        for name, service in compose.items()
        if "microservicehub/" in service.get("image", "")
        and service.get("labels", {}).get("org.microservicehub.kind") != "job"
    }
    deployments = {d["metadata"]["name"] for d in of_kind(overlay, "Deployment")}
    # and mainapp's server once more for the sockets alone, so that they scale apart
    assert deployments == long_running | {"mainapp-ws"}, deployments ^ long_running
    commands = {
        workload["metadata"]["name"]: container["command"]
        for workload, container in containers(overlay)
        if workload["metadata"]["name"] in ("mainapp", "mainapp-ws")
        and container["name"] == workload["metadata"]["name"]
    }
    port = commands["mainapp"].index("--port") + 1
    assert commands["mainapp"][port] == "8001" and commands["mainapp-ws"][port] == "8004"
    del commands["mainapp"][port], commands["mainapp-ws"][port]
    assert commands["mainapp-ws"] == commands["mainapp"]
    for doc in rendered(overlay):
        labels = doc["metadata"].get("labels", {})
        assert "relay" not in doc["metadata"]["name"], (doc["kind"], doc["metadata"]["name"])
        assert labels.get("app.kubernetes.io/component") != "relay", doc["metadata"]["name"]
        spec = yaml.safe_dump(doc.get("spec", {}), width=1000)  # selectors, scale targets
        assert "component: relay" not in spec and "-relay" not in spec, doc["metadata"]["name"]
    for workload, container in containers(overlay):
        command = " ".join(container.get("command", []) + container.get("args", []))
        assert not re.search(r"\brelay(_outbox)?\b", command), workload["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_worker_sweeps_its_outbox_with_what_the_sweep_needs(overlay: str) -> None:
    workers = {
        workload["metadata"]["name"]: container
        for workload, container in containers(overlay)
        if workload["kind"] == "Deployment" and workload["metadata"]["name"].endswith("-worker")
    }
    assert set(workers) == {f"{service}-worker" for service in SWEEP_VARIABLES}
    for service, needed in SWEEP_VARIABLES.items():
        container = workers[f"{service}-worker"]
        variables = container_variables(overlay, container)
        assert needed | {"METRICS_PORT"} <= variables, (service, needed - variables)
        # its outbox and dead-letter gauges, on the port its probes ask
        assert container["ports"] == [{"name": "metrics", "containerPort": 9100}], service
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}


def test_every_long_running_process_is_probed_limited_and_locked_down() -> None:
    for overlay in OVERLAYS:
        for workload, container in containers(overlay):
            name = f"{overlay}/{workload['metadata']['name']}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
            assert pod["automountServiceAccountToken"] is False, name
            is_init = container in pod.get("initContainers", [])
            if workload["kind"] != "Job" and not is_init:
                probes = {"readinessProbe", "livenessProbe", "startupProbe"}
                assert probes <= set(container), name
