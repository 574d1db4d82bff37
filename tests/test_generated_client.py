"""A real client in the tests: ``openapi-python-client`` generates a Python client from the
gateway's ``/api/openapi.json`` at test time, and a shop journey written with nothing but that
client (tests/generated_client_scenario.py) runs against the stack and passes ``mypy``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.timeout(180)

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(stack, tmp_path_factory) -> Path:
    """The directory holding the generated package ``msh_client``."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{stack.url}/api/openapi.json", timeout=15).content)
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(root / "msh_client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Nothing of the document may be dropped: a warning means a schema or operation is missing.
    assert "Warning" not in result.stdout.replace("Skipping Integration", ""), result.stdout
    return root


def test_a_shop_journey_with_only_the_generated_client(stack, generated):
    sys.path.insert(0, str(generated))
    try:
        scenario = importlib.import_module("generated_client_scenario")
        journey = scenario.run(stack.url, stack.env["ADMIN_EMAIL"], stack.env["ADMIN_PASSWORD"])
    finally:
        sys.path.remove(str(generated))
    assert journey.registered.endswith("@example.com")
    assert len(journey.found) == 1 and journey.found[0].endswith("teapot")
    assert journey.placed_twice_same_id  # the Idempotency-Key answered the same order
    assert str(journey.confirmed) == "confirmed"
    assert journey.listed == 1
    assert str(journey.cancelled) == "cancelled"
    assert journey.refreshed and journey.logged_out_refresh_refused
    assert journey.report_orders >= 1


def test_the_journey_type_checks_against_the_generated_client(generated):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--ignore-missing-imports",
            "--follow-imports=silent",  # the generated code is its authors' to type-check
            "--disallow-untyped-defs",
            str(HERE / "generated_client_scenario.py"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(generated)},
        timeout=170,
    )
    assert result.returncode == 0, result.stdout + result.stderr
