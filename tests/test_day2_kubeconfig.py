"""`clusterctl-py kubeconfig NAME [-o FILE]`: the real client against the emulator, through the CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.support import capi_objects as fx
from tests.support.kube_api import serve, without_retry_sleep

KEY = "c2VjcmV0LWtleS1tYXRlcmlhbA"  # a piece of the client key inside fx.workload_kubeconfig


@pytest.fixture
def management(tmp_path, monkeypatch):
    """The emulator holding two clusters, a kubeconfig for it, and no real sleeping between retries."""
    with serve(fx.workload_cluster("prod") + fx.workload_cluster("staging", namespace="teams")) as server:
        path = tmp_path / "management.yaml"
        path.write_text(yaml.safe_dump(server.kubeconfig()))
        without_retry_sleep(monkeypatch)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.delenv("KUBECONFIG", raising=False)
        server.kubeconfig_path = path
        yield server


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_it_private_under_the_config_directory_by_default(management, tmp_path):
    result = run("kubeconfig", "prod", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 0, result.output
    target = tmp_path / "config" / "clusterctl-py" / "prod.kubeconfig"
    assert target.read_text() == fx.workload_kubeconfig("prod")
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert result.stdout == ""
    assert KEY not in result.stderr
    assert result.stderr == f"wrote {target} (mode 0600); use it with: export KUBECONFIG={target}\n"


def test_a_new_directory_is_made_0700_and_an_old_file_replaced_0600(management, tmp_path):
    target = tmp_path / "new" / "deep" / "staging.yaml"
    result = run("kubeconfig", "staging", "-o", str(target), "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 0, result.output
    assert mode(target.parent) == 0o700 and mode(target) == 0o600
    # Written again over a world-readable file: the new one is 0600, and no temporary file is left.
    target.chmod(0o644)
    assert run("kubeconfig", "staging", "-o", str(target), "--kubeconfig", str(management.kubeconfig_path)).exit_code == 0
    assert mode(target) == 0o600
    assert os.listdir(target.parent) == ["staging.yaml"]
    assert target.read_text() == fx.workload_kubeconfig("staging")


def test_an_existing_directory_the_user_named_keeps_its_mode(management, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert run("kubeconfig", "prod", "-o", str(shared / "p"), "--kubeconfig", str(management.kubeconfig_path)).exit_code == 0
    assert mode(shared) == 0o755 and mode(shared / "p") == 0o600


def test_written_0600_even_under_a_permissive_umask(management, tmp_path):
    old = os.umask(0)
    try:
        result = run("kubeconfig", "prod", "-o", str(tmp_path / "u" / "p"), "--kubeconfig", str(management.kubeconfig_path))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "u") == 0o700 and mode(tmp_path / "u" / "p") == 0o600


def test_printed_only_with_dash(management):
    result = run("kubeconfig", "prod", "-o", "-", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == fx.workload_kubeconfig("prod")
    assert result.stderr == ""


def test_finds_the_clusters_namespace_or_takes_the_one_given(management, tmp_path):
    assert run("kubeconfig", "staging", "-o", "-", "--kubeconfig", str(management.kubeconfig_path)).exit_code == 0
    result = run("kubeconfig", "staging", "-n", "staging", "-o", "-", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: Kubernetes API {management.url}: get Cluster staging/staging: 404")


def test_a_cluster_without_its_secret_yet(management):
    management.add(*fx.workload_cluster("fresh")[:1])  # the Cluster only: no control plane, no kubeconfig
    result = run("kubeconfig", "fresh", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: Kubernetes API {management.url}: get Secret fresh/fresh-kubeconfig: 404 Not Found: "
        'secrets "fresh-kubeconfig" not found; Cluster API writes it once the control plane is initialized'
    ]


def test_the_api_down_is_one_line_and_exit_1(management):
    management.down()
    result = run("kubeconfig", "prod", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert lines == [
        f"error: Kubernetes API {management.url}: list Clusters named prod: connection refused or unreachable (gave up after 8 attempts)"
    ]
    assert "Traceback" not in result.output


def test_a_missing_kubeconfig_file_is_exit_2(tmp_path):
    result = run("kubeconfig", "prod", "--kubeconfig", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert result.stderr == f"error: --kubeconfig: {tmp_path / 'nope'}: no such file\n"


def test_the_day2_guide_shows_what_kubeconfig_prints(management, tmp_path):
    guide = (Path(__file__).resolve().parents[1] / "docs" / "day2.md").read_text()
    command, said = guide.split("## `kubeconfig`", 1)[1].split("```")[1:4:2]
    assert command.strip() == "bash\nclusterctl-py kubeconfig prod"
    result = run("kubeconfig", "prod", "--kubeconfig", str(management.kubeconfig_path))
    assert result.exit_code == 0, result.output
    shown = result.stderr.replace(str(tmp_path / "config"), "/home/ops/.config")
    assert shown == said.lstrip("\n")
