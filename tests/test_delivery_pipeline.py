"""The delivery pipeline's files: the GitHub workflow is valid and runs .ci/run before it builds and
pushes the images; the Jenkinsfile's stages call only Makefile targets that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def test_the_workflow_is_valid_for_github() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_tests_with_ci_run_then_pushes_images_tagged_by_commit() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    test_steps = [step.get("run", "") for step in jobs["test"]["steps"]]
    assert ".ci/run" in test_steps
    images = jobs["images"]
    assert images["needs"] == "test"
    assert images["env"] == {"REGISTRY": "${{ vars.REGISTRY }}", "IMAGE_TAG": "${{ github.sha }}"}
    runs = [step.get("run", "") for step in images["steps"]]
    assert "make push-images" in runs


def test_every_jenkins_stage_calls_a_make_target_that_exists() -> None:
    jenkinsfile = (ROOT / "Jenkinsfile").read_text()
    called = re.findall(r"sh '([^']*)'", jenkinsfile)
    assert called == ["make lint", "make test", "make images", "make push-images"]
    targets = make_targets()
    for command in called:
        target = command.removeprefix("make ")
        assert target in targets, f"the Jenkinsfile calls `{command}`, which the Makefile lacks"
    assert {"images", "push-images", "lint", "test"} <= targets
