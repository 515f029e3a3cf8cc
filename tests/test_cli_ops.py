"""up / preview / destroy: prerequisites first, stacks in the right order, progress, no secret in sight."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pulumi.automation import events as ev
from typer.testing import CliRunner

from clusterctl_py.cli import app
from clusterctl_py.ops import engine as engine_mod
from clusterctl_py.ops.plan import plan
from clusterctl_py.ops.progress import Progress
from clusterctl_py import spec as spec_mod
from tests.conftest import platform_data

REPO = Path(__file__).resolve().parents[1]
TOKEN = "Ab3" * 21 + "x"  # 64 alphanumerics, like a Hetzner token


def step(kind: str, urn: str, typ: str, op=ev.OpType.CREATE) -> ev.EngineEvent:
    meta = ev.StepEventMetadata(op=op, urn=urn, type=typ, provider="")
    if kind == "pre":
        return ev.EngineEvent(sequence=0, timestamp=0, resource_pre_event=ev.ResourcePreEvent(metadata=meta))
    if kind == "out":
        return ev.EngineEvent(sequence=0, timestamp=0, res_outputs_event=ev.ResOutputsEvent(metadata=meta))
    return ev.EngineEvent(sequence=0, timestamp=0, res_op_failed_event=ev.ResOpFailedEvent(metadata=meta, status=1, steps=1))


class FakeEngine:
    """Records each stack run and replays the events a real engine would send."""

    def __init__(self, fail_on: str | None = None):
        self.runs: list[tuple] = []
        self.fail_on = fail_on

    def run(self, action, work_dir, stack, config, secret_config, on_event):
        self.runs.append((action, Path(work_dir).name, stack, dict(config), dict(secret_config)))
        urn = f"urn:pulumi:{stack}::p::hcloud:index/server:Server::{stack}-server"
        on_event(step("pre", f"urn:pulumi:{stack}::p::pulumi:pulumi:Stack::p-{stack}", "pulumi:pulumi:Stack"))
        on_event(step("pre", urn, "hcloud:index/server:Server"))
        if stack == self.fail_on:
            on_event(step("fail", urn, "hcloud:index/server:Server"))
            raise engine_mod.EngineError("error: server limit reached")
        on_event(step("out", urn, "hcloud:index/server:Server"))
        return {}


@pytest.fixture
def env(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    engine = FakeEngine()
    monkeypatch.setattr(engine_mod, "default_engine", lambda: engine)
    platform = tmp_path / "platform.yaml"
    data = platform_data()
    data["clusters"].append(dict(data["clusters"][0], name="staging"))
    import yaml

    platform.write_text(yaml.safe_dump(data))
    return engine, platform


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_up_runs_stacks_in_order_with_progress(env):
    engine, platform = env
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert [(a, p, s) for a, p, s, *_ in engine.runs] == [
        ("up", "management", "mgmt-management"),
        ("up", "capi", "mgmt-capi"),
        ("up", "cluster", "mgmt-cluster-prod"),
        ("up", "cluster", "mgmt-cluster-staging"),
    ]
    assert "[1/4] mgmt-management: 1/1 resources" in result.stderr
    assert "[4/4] mgmt-cluster-staging: up done: 1/1 resources in 00:00" in result.stderr
    assert " elapsed" in result.stderr


def test_token_is_secret_config_and_never_printed(env):
    engine, platform = env
    result = invoke("up", "-f", str(platform))
    for *_, config, secret in engine.runs:
        assert secret == {"hcloud:token": TOKEN}
        assert TOKEN not in config.values()
    assert TOKEN not in result.output


def test_cluster_stacks_reference_the_shared_stacks(env):
    engine, platform = env
    invoke("up", "-f", str(platform))
    config = engine.runs[2][3]
    assert config["clusterctl:cluster"] == "prod"
    assert config["clusterctl:managementStack"] == "organization/clusterctl-management/mgmt-management"
    assert config["clusterctl:capiStack"] == "organization/clusterctl-capi/mgmt-capi"
    assert config["clusterctl:platformFile"] == str(platform.resolve())


def test_destroy_removes_clusters_before_their_controllers(env):
    engine, platform = env
    result = invoke("destroy", "--yes", "-f", str(platform))
    assert result.exit_code == 0
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-cluster-staging", "mgmt-cluster-prod", "mgmt-capi", "mgmt-management"]
    assert all(a == "destroy" for a, *_ in engine.runs)


def test_cluster_option_limits_the_run(env):
    engine, platform = env
    assert invoke("up", "--cluster", "staging", "-f", str(platform)).exit_code == 0
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-cluster-staging"]
    result = invoke("up", "--cluster", "nope", "-f", str(platform))
    assert result.exit_code == 2 and "defined: prod, staging" in result.stderr


def test_failing_stack_stops_the_run(env):
    engine, platform = env
    engine.fail_on = "mgmt-capi"
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi"]
    assert "error: stack mgmt-capi failed during up: error: server limit reached" in result.stderr
    assert "failed: hcloud:index/server:Server" in result.stderr
    assert "Traceback" not in result.output


def test_missing_pulumi_cli(env, monkeypatch, tmp_path):
    engine, platform = env
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for command in ("up", "preview"):
        result = invoke(command, "-f", str(platform))
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert "pulumi CLI is not installed" in result.stderr
    assert engine.runs == []


@pytest.mark.parametrize("token, message", [("", "not set"), ("short", "not a Hetzner Cloud API token (expected 64 letters and digits, got 5 characters)")])
def test_missing_or_malformed_token(env, monkeypatch, token, message):
    engine, platform = env
    monkeypatch.setenv("HCLOUD_TOKEN", token)
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2 and f"error: HCLOUD_TOKEN: {message}" in result.stderr
    assert engine.runs == []


def test_destroy_without_yes_refuses_when_not_interactive(env):
    engine, platform = env
    result = invoke("destroy", "-f", str(platform))
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert engine.runs == []


def test_bad_spec_stops_before_anything(env, tmp_path):
    engine, platform = env
    platform.write_text(platform.read_text().replace("cpx32", "cpx31"))
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2 and "deprecated" in result.stderr
    assert engine.runs == []


def test_plan_for_preview_matches_up_order():
    spec = spec_mod.parse(platform_data())
    runs = plan(spec, "preview", Path("p.yaml"), TOKEN)
    assert [r.project for r in runs] == ["management", "capi", "cluster"]


def test_progress_redraws_one_line_on_a_terminal():
    out = io.StringIO()
    progress = Progress(2, 3, "mgmt-capi", "up", out=out, tty=True)
    progress(step("pre", "urn:pulumi:s::p::kubernetes:yaml/v2:ConfigGroup::capi-cluster-api", "kubernetes:yaml/v2:ConfigGroup"))
    progress(step("out", "urn:pulumi:s::p::kubernetes:yaml/v2:ConfigGroup::capi-cluster-api", "kubernetes:yaml/v2:ConfigGroup"))
    text = out.getvalue()
    assert "\r\033[K[2/3] mgmt-capi: 0/1 resources, create kubernetes:yaml/v2:ConfigGroup capi-cluster-api" in text
    assert "\n" not in text  # still one line being redrawn
