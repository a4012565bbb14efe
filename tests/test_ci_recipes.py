"""The GitHub Actions workflows the documentation shows are complete.

``github/codeql-action/upload-sarif`` needs ``security-events: write`` and, in a
private repository, ``actions: read`` (it reads the workflow run); a workflow
that sets ``permissions:`` gets nothing it does not list, so a recipe without
``actions: read`` fails the upload in private repositories.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/cli.md")


def workflows(path: Path) -> list[dict[str, object]]:
    """The YAML blocks of ``path`` that are GitHub Actions workflows."""
    blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)
    loaded = [yaml.safe_load(block) for block in blocks]
    return [w for w in loaded if isinstance(w, dict) and "jobs" in w]


def uses(workflow: dict[str, object]) -> list[str]:
    jobs = workflow["jobs"]
    assert isinstance(jobs, dict)
    return [
        str(step.get("uses", ""))
        for job in jobs.values()
        for step in job.get("steps", [])
    ]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_sarif_uploads_have_the_permissions_they_need(document: str) -> None:
    uploading = [
        w for w in workflows(ROOT / document)
        if any(u.startswith("github/codeql-action/upload-sarif") for u in uses(w))
    ]  # fmt: skip
    assert uploading, f"{document} shows no workflow that uploads SARIF"
    for workflow in uploading:
        permissions = workflow.get("permissions")
        assert isinstance(permissions, dict), permissions
        assert permissions.get("security-events") == "write"
        assert permissions.get("actions") == "read"
        assert permissions.get("contents") == "read"
