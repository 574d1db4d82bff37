"""Gateway vs nginx vs direct: requests/s and latency with wrk (``make bench-gateway``).

Starts, side by side on free loopback ports:

- **direct**: nginx (one worker) serving a small JSON file: the upstream;
- **nginx**: nginx (one worker) as a plain reverse proxy to it, keep-alive upstream pool;
- **gateway**: the gateway exactly as the launcher runs it (one uvicorn process, uvloop,
  httptools) with every edge feature on: the route requires a JWT (verified against a JWKS
  the upstream serves), per-user rate limiting shared through a real Redis (limit set out of
  reach so nothing is refused, but every request is counted and synchronised), request ids,
  traceparent, the JSON access log (written to a file) and Prometheus metrics;

then loads each with ``wrk`` at 1 and 32 connections and prints requests/s, p50 and p99,
and the ratios gateway/nginx and gateway/direct. Figures go to ``bench/results/gateway.json``
and ``bench/REPORT.md`` (bench/report.py).
nginx and wrk come from Debian's packages; they are installed with apt-get when missing
(as root), else the script says what to install. A benchmark, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import REPORT, machine, write_report
from devstack.servers import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gateway.json"
PATH = "/api/bench/item"
PAYLOAD = {"id": 1, "name": "Espresso cup", "price": "7.50", "tags": ["kitchen", "coffee"]}

# Targets from the issue (reported, never asserted).
TARGET_RPS_32 = 6000
TARGET_NGINX_RATIO = 0.20
TARGET_ADDED_P50_MS = 0.3


# --------------------------------------------------------------------------- system tools


def ensure_tools() -> tuple[str, str]:
    """Paths of nginx and wrk, installing Debian's packages when missing and allowed."""
    missing = [pkg for pkg, binary in (("nginx", "nginx"), ("wrk", "wrk")) if not _which(binary)]
    if missing:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            install = ["apt-get", "install", "-y", "-q", *missing]
            if subprocess.run(install, env=env, check=False).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
                subprocess.run(install, env=env, check=True)
        else:
            sys.exit(
                f"missing: {' '.join(missing)}; install with: sudo apt-get install -y "
                f"{' '.join(missing)}"
            )
    nginx, wrk = _which("nginx"), _which("wrk")
    assert nginx and wrk
    return nginx, wrk


def _which(binary: str) -> str | None:
    return shutil.which(binary) or next(
        (str(p) for p in (Path("/usr/sbin") / binary, Path("/sbin") / binary) if p.exists()), None
    )


# --------------------------------------------------------------------------- servers


class Nginx:
    """One nginx master with one worker, everything under ``prefix`` (no root paths)."""

    def __init__(self, binary: str, prefix: Path, name: str, server_block: str) -> None:
        self.binary = binary
        self.prefix = prefix / name
        self.prefix.mkdir(parents=True)
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        temp = self.prefix / "temp"
        temp.mkdir()
        temp.chmod(0o777)
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        (self.prefix / "nginx.conf").write_text(
            f"""
{user}
worker_processes 1;
daemon off;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    {server_block}
}}
"""
        )

    def start(self, port: int) -> None:
        log = open(self.prefix / "stdout.log", "wb")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [
                self.binary,
                "-p",
                str(self.prefix),
                "-e",
                str(self.prefix / "error.log"),
                "-c",
                str(self.prefix / "nginx.conf"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_port(port, self.process, self.name)

    def stop(self) -> None:
        stop(self.process)


def wait_port(port: int, process: subprocess.Popen[bytes] | None, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"{name} exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not start listening on {port}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def make_token(workdir: Path) -> tuple[str, dict[str, Any]]:
    """An RS256 access token and the JWKS that verifies it (as mainapp would issue)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "bench-" + uuid.uuid4().hex[:8]
    now = int(time.time())
    claims = {
        "sub": "1001",
        "roles": ["customer"],
        "iss": "microservicehub",
        "aud": "microservicehub",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "token_type": "access",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return token, {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def start_gateway(
    workdir: Path, port: int, upstream_url: str, redis_url: str, name: str = "gateway"
) -> subprocess.Popen:
    """A gateway as the launcher starts it; ``upstream_url`` may list several instances."""
    routes = workdir / "routes.toml"
    routes.write_text(
        f"""
[upstreams.bench]
openapi = ""
health = "/health.json"

[[routes]]
prefix = "{PATH.rsplit("/", 1)[0]}/"
upstream = "bench"
auth = "jwt"
rate_limit = "default"
"""
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_URL") and not key.startswith(("RATE_LIMIT_", "GATEWAY_", "LOG_"))
    }
    env.update(
        {
            "GATEWAY_ROUTES_FILE": str(routes),
            "BENCH_URL": upstream_url,
            "JWKS_URL": upstream_url.split(",")[0] + "/jwks.json",
            "REDIS_URL": redis_url,
            # Counted, synchronised through Redis, never reached.
            "RATE_LIMIT_USER": "1000000000/minute",
            "RATE_LIMIT_ANONYMOUS": "1000000000/minute",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "ENVIRONMENT": "bench",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child
    # As every launcher runs it (gateway/gateway/__main__.py).
    env.update({"GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)})
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"],
        cwd=ROOT / "gateway",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_port(port, process, name)
    return process


# --------------------------------------------------------------------------- load


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def as_dict(self) -> dict[str, float]:
        return {
            "requests_per_second": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "non_2xx_or_socket_errors": self.errors,
        }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(wrk: str, url: str, connections: int, seconds: int, token: str) -> Result:
    output = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return Result(rps, p50, p99, requests, errors)


def check(url: str, token: str) -> None:
    """One request by hand: the target answers 200 with the payload."""
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL we built
        url, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        assert response.status == 200, response.status
        assert json.loads(response.read()) == PAYLOAD


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", default="1,32", help="comma-separated wrk -c values")
    args = parser.parse_args()
    connection_counts = [int(c) for c in args.connections.split(",")]

    nginx_bin, wrk = ensure_tools()
    workdir = Path(tempfile.mkdtemp(prefix="msh-bench-"))
    workdir.chmod(0o755)
    processes: list[Any] = []
    try:
        token, jwks = make_token(workdir)
        docroot = workdir / "www"
        (docroot / PATH.strip("/")).parent.mkdir(parents=True)
        (docroot / PATH.strip("/")).write_text(json.dumps(PAYLOAD))
        (docroot / "jwks.json").write_text(json.dumps(jwks))
        (docroot / "health.json").write_text('{"status": "ok"}')
        for path in [docroot, *docroot.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

        upstream_port, proxy_port, gateway_port = free_port(), free_port(), free_port()
        # The same nginx on two more ports: three instances to the balancing gateway.
        more_ports, gateway_3_port = (free_port(), free_port()), free_port()
        upstream = Nginx(
            nginx_bin,
            workdir,
            "upstream",
            f"""server {{
        listen 127.0.0.1:{upstream_port};
        listen 127.0.0.1:{more_ports[0]};
        listen 127.0.0.1:{more_ports[1]};
        root {docroot};
        default_type application/json;
        location / {{ try_files $uri =404; }}
    }}""",
        )
        upstream.start(upstream_port)
        processes.append(upstream)
        proxy = Nginx(
            nginx_bin,
            workdir,
            "proxy",
            f"""upstream backend {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}""",
        )
        proxy.start(proxy_port)
        processes.append(proxy)
        redis = RedisServer(workdir / "redis", durable=False)
        redis.start()
        processes.append(redis)
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        gateway = start_gateway(workdir, gateway_port, upstream_url, redis.url)
        processes.append(gateway)
        three = ",".join([upstream_url, *(f"http://127.0.0.1:{port}" for port in more_ports)])
        processes.append(start_gateway(workdir, gateway_3_port, three, redis.url, "gateway_3"))

        targets = {
            "direct": f"{upstream_url}{PATH}",
            "nginx": f"http://127.0.0.1:{proxy_port}{PATH}",
            "gateway": f"http://127.0.0.1:{gateway_port}{PATH}",
            "gateway_3": f"http://127.0.0.1:{gateway_3_port}{PATH}",
        }
        for url in targets.values():
            check(url, token)

        results: dict[str, dict[str, Result]] = {name: {} for name in targets}
        for connections in connection_counts:
            for name, url in targets.items():
                run_wrk(wrk, url, connections, 2, token)  # warm-up: pools, caches, JIT-free
                result = run_wrk(wrk, url, connections, args.seconds, token)
                results[name][str(connections)] = result
                print(
                    f"{name:9} c={connections:<3} {result.rps:10.0f} req/s  "
                    f"p50 {result.p50_ms:7.3f} ms  p99 {result.p99_ms:7.3f} ms"
                    + (f"  errors {result.errors}" if result.errors else ""),
                    flush=True,
                )
        access_lines = sum(
            1
            for line in (workdir / "gateway.log").read_bytes().splitlines()
            if b'"gateway.access"' in line
        )
        with urllib.request.urlopen(
            f"http://127.0.0.1:{gateway_port}/metrics", timeout=5
        ) as response:
            metrics = response.read().decode()
        report(results, connection_counts, access_lines, metrics, args.seconds)
    finally:
        for process in reversed(processes):
            if isinstance(process, subprocess.Popen):
                stop(process)
            else:
                process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(
    results: dict[str, dict[str, Result]],
    connection_counts: list[int],
    access_lines: int,
    metrics: str,
    seconds: int,
) -> None:
    figures: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            **machine(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "seconds_per_run": seconds,
        "path": PATH,
        "gateway_features": [
            "jwt (RS256, JWKS)",
            "rate limit (per user, Redis-synchronised)",
            "request id",
            "traceparent",
            "json access log",
            "prometheus metrics",
        ],
        "results": {
            name: {c: r.as_dict() for c, r in by_c.items()} for name, by_c in results.items()
        },
        "ratios": {},
        "gateway_access_log_lines": access_lines,
        "gateway_requests_counted": _counted(metrics),
    }
    print()
    for connections in connection_counts:
        key = str(connections)
        gateway, nginx, direct = (results[n][key] for n in ("gateway", "nginx", "direct"))
        ratios = {
            "gateway_over_nginx": round(gateway.rps / nginx.rps, 3),
            "gateway_over_direct": round(gateway.rps / direct.rps, 3),
            "gateway_added_p50_ms": round(gateway.p50_ms - direct.p50_ms, 3),
            "nginx_added_p50_ms": round(nginx.p50_ms - direct.p50_ms, 3),
        }
        figures["ratios"][key] = ratios
        print(
            f"c={connections}: gateway/nginx {ratios['gateway_over_nginx']:.2f}, "
            f"gateway/direct {ratios['gateway_over_direct']:.2f}, "
            f"added p50: gateway {ratios['gateway_added_p50_ms']:.3f} ms, "
            f"nginx {ratios['nginx_added_p50_ms']:.3f} ms"
        )
    if "32" in results["gateway"]:
        figures["targets"] = {
            "rps_at_32": {"target": TARGET_RPS_32, "measured": results["gateway"]["32"].rps},
            "nginx_ratio_at_32": {
                "target": TARGET_NGINX_RATIO,
                "measured": figures["ratios"]["32"]["gateway_over_nginx"],
            },
        }
    if "1" in results["gateway"]:
        figures.setdefault("targets", {})["added_p50_ms_at_1"] = {
            "target": TARGET_ADDED_P50_MS,
            "measured": figures["ratios"]["1"]["gateway_added_p50_ms"],
        }
    print(
        f"load average now: {figures['machine']['load_average_after']}; "
        f"access-log lines written: {access_lines}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    write_report()
    print(f"written to {RESULTS.relative_to(ROOT)}, {REPORT.relative_to(ROOT)}")


def _counted(metrics: str) -> int:
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("gateway_requests_total{") and 'route="/api/bench"' in line
        )
    )


if __name__ == "__main__":
    main()
