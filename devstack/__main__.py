"""``python -m devstack dev``: start the platform natively and run it until Ctrl-C or SIGTERM.
``python -m devstack openapi [PATH]``: save the merged OpenAPI document (:mod:`.openapi`).

Data stores are started first (data kept under ``.run/``), then the one-shot jobs, then every
service under honcho, which multiplexes their output and, on Ctrl-C/SIGTERM or when any of them
exits, stops them all; then the data stores stop. Nothing is left running.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from .config import RUN_DIR, load_env
from .stack import Platform, wait_healthy


def announce_when_healthy(platform: Platform, stop: threading.Event) -> None:
    try:
        wait_healthy(
            f"{platform.gateway_url}/health", timeout=120, is_alive=lambda: not stop.is_set()
        )
    except Exception as exc:
        print(f"\n*** the platform did not become healthy: {exc}\n", flush=True)
        return
    print(
        f"\n*** MicroServiceHub is up: {platform.gateway_url}\n"
        f"*** admin: {platform.gateway_url}/admin/  (Ctrl-C stops everything)\n",
        flush=True,
    )


def dev() -> int:
    platform = Platform(RUN_DIR, load_env())
    # Until honcho takes over the signals, turn Ctrl-C/SIGTERM into a clean stop.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stop = threading.Event()
    try:
        print("devstack: starting PostgreSQL, Redis and MongoDB-compatible server...", flush=True)
        platform.start_infra()
        print("devstack: keys, migrations, static files, demo seed...", flush=True)
        platform.run_setup()
        manager = Manager(Printer(sys.stdout))
        env = platform.env()
        for spec in platform.processes():
            command = "exec " + shlex.join(spec.argv)
            manager.add_process(spec.name, command, env={**env, **spec.env}, cwd=str(spec.cwd))
        threading.Thread(target=announce_when_healthy, args=(platform, stop), daemon=True).start()
        manager.loop()
        return manager.returncode or 0
    except KeyboardInterrupt:
        return 130
    finally:
        stop.set()
        print("devstack: stopping data stores...", flush=True)
        platform.stop_infra()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["dev", "openapi"])
    parser.add_argument("path", nargs="?", type=Path, help="openapi: where to save it")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        from .openapi import DEFAULT_PATH, save_openapi

        print(f"devstack: saved {save_openapi(args.path or DEFAULT_PATH)}", flush=True)
        return 0
    return dev()


if __name__ == "__main__":
    sys.exit(main())
