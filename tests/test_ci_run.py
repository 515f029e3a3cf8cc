""".ci/run refuses to test without the upstream reference, before it installs anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout holding only .ci/run, with stand-ins for what it would start: nothing real runs."""
    (tmp_path / "repo" / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", tmp_path / "repo" / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # python3 records that it was reached and stops the script; cloud-init "exists", so apt-get is not run.
    (bin_dir / "python3").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/python3.calls\nexit 3\n')
    (bin_dir / "cloud-init").write_text("#!/bin/sh\nexit 0\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    return tmp_path


def ci_run(checkout: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "CLUSTERCTL_PY_REFERENCE"}
    base["PATH"] = f"{checkout / 'bin'}:{base.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        ["bash", str(checkout / "repo" / ".ci" / "run")], env={**base, "CI": "true", **env}, capture_output=True, text=True, timeout=60
    )


def test_missing_shared_reference_stops_the_run(checkout):
    result = ci_run(checkout)
    assert result.returncode == 1
    assert result.stderr.startswith("error: upstream reference not found at ../shared/reference (resolved from ")
    assert "set CLUSTERCTL_PY_REFERENCE to the folder that contains crds/" in result.stderr
    assert not (checkout / "python3.calls").exists()  # nothing installed, no test run


def test_missing_reference_from_the_environment_is_named(checkout):
    result = ci_run(checkout, CLUSTERCTL_PY_REFERENCE=str(checkout / "elsewhere"))
    assert result.returncode == 1
    assert f"upstream reference not found at {checkout / 'elsewhere'} " in result.stderr


@pytest.mark.parametrize("layout", ["shared/reference/crds", "custom/crds"])
def test_present_reference_lets_the_run_go_on(checkout, layout):
    (checkout / layout / "cluster-api").mkdir(parents=True)
    env = {} if layout.startswith("shared/") else {"CLUSTERCTL_PY_REFERENCE": str(checkout / "custom")}
    result = ci_run(checkout, **env)
    assert result.returncode == 3, result.stderr  # stopped by the python3 stand-in, past the check
    assert (checkout / "python3.calls").read_text().splitlines() == ["-m venv .venv"]
