"""up / preview / destroy: prerequisites first, stacks in the right order, progress, no secret in sight."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from clusterctl_py.errors import SpecError
from clusterctl_py.ops import engine as engine_mod
from clusterctl_py.ops.plan import plan
from clusterctl_py.ops.progress import Progress
from tests.conftest import platform_data
from tests.support.fake_engine import FakeEngine, step

TOKEN = "Ab3" * 21 + "x"  # 64 alphanumerics, like a Hetzner token


@pytest.fixture
def env(monkeypatch, tmp_path, fake_hcloud):
    # `up` runs preflight first: against the local Hetzner API fake, where the spec's SSH key exists.
    fake_hcloud.tokens[TOKEN] = "read_write"
    fake_hcloud.add_ssh_key("ops")
    monkeypatch.setenv("HCLOUD_ENDPOINT", fake_hcloud.endpoint)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    engine = FakeEngine()

    def make(token):
        engine.token = token
        return engine

    monkeypatch.setattr(engine_mod, "default_engine", make)
    platform = tmp_path / "platform.yaml"
    # Bare clusters: the platform stacks have their own tests (tests/test_platform_stacks.py).
    data = platform_data()
    data["clusters"][0].pop("platform")
    data["clusters"].append(dict(data["clusters"][0], name="staging"))
    platform.write_text(yaml.safe_dump(data))
    return engine, platform


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def stacks(engine) -> list[str]:
    return [s for _, _, s, *_ in engine.runs]


def test_up_runs_stacks_in_order_with_progress(env):
    engine, platform = env
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert [(a, p, s) for a, p, s, *_ in engine.runs[:2]] == [("up", "management", "mgmt-management"), ("up", "capi", "mgmt-capi")]
    # The clusters run side by side after the shared stacks, in any order.
    assert sorted((a, p, s) for a, p, s, *_ in engine.runs[2:]) == [
        ("up", "cluster", "mgmt-cluster-prod"),
        ("up", "cluster", "mgmt-cluster-staging"),
    ]
    assert "[1/4] mgmt-management: 1/1 resources" in result.stderr
    assert "[4/4] mgmt-cluster-staging: up done: 1/1 resources in 00:00" in result.stderr
    assert " elapsed" in result.stderr
    assert result.stdout.splitlines() == [
        "up in organization:",
        "  mgmt-management       up done",
        "  mgmt-capi             up done",
        "  mgmt-cluster-prod     up done",
        "  mgmt-cluster-staging  up done",
    ]


def test_token_goes_to_the_engine_never_into_config(env):
    engine, platform = env
    result = invoke("up", "-f", str(platform))
    assert engine.token == TOKEN
    for *_, config, _ in engine.runs:
        assert TOKEN not in config.values()
    # Only the stacks that talk to Hetzner get it.
    assert {s: gets for _, _, s, _, gets in engine.runs} == {
        "mgmt-management": True, "mgmt-capi": False, "mgmt-cluster-prod": True, "mgmt-cluster-staging": True,
    }
    assert TOKEN not in result.output


def test_cluster_stacks_reference_the_shared_stacks(env):
    engine, platform = env
    invoke("up", "--org", "acme", "-f", str(platform))
    assert engine.orgs == ["acme"]
    config = next(c for _, _, s, c, _ in engine.runs if s == "mgmt-cluster-prod")
    assert config["clusterctl:cluster"] == "prod"
    assert config["clusterctl:managementStack"] == "acme/clusterctl-management/mgmt-management"
    assert config["clusterctl:capiStack"] == "acme/clusterctl-capi/mgmt-capi"
    assert config["clusterctl:platformFile"] == str(platform.resolve())


def test_destroy_removes_clusters_before_their_controllers(env):
    engine, platform = env
    result = invoke("destroy", "--yes", "-f", str(platform))
    assert result.exit_code == 0
    assert sorted(stacks(engine)[:2]) == ["mgmt-cluster-prod", "mgmt-cluster-staging"]
    assert stacks(engine)[2:] == ["mgmt-capi", "mgmt-management"]
    assert all(a == "destroy" for a, *_ in engine.runs)


def test_cluster_option_limits_the_run(env):
    engine, platform = env
    assert invoke("up", "--cluster", "staging", "-f", str(platform)).exit_code == 0
    assert stacks(engine) == ["mgmt-cluster-staging"]
    result = invoke("up", "--cluster", "nope", "-f", str(platform))
    assert result.exit_code == 2 and "defined: prod, staging" in result.stderr


def test_failing_shared_stack_stops_the_run(env):
    engine, platform = env
    engine.fail_on = "mgmt-capi"
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert stacks(engine) == ["mgmt-management", "mgmt-capi"]
    assert "error: stack mgmt-capi failed during up: hcloud:index/server:Server mgmt-capi-server: server limit reached" in result.stderr
    assert "failed: hcloud:index/server:Server" in result.stderr
    assert "  mgmt-cluster-prod     not run because mgmt-capi failed" in result.stdout.splitlines()
    assert "Traceback" not in result.output


def test_failing_cluster_lets_the_others_finish(env):
    engine, platform = env
    engine.fail_on = "mgmt-cluster-prod"
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert sorted(stacks(engine)) == ["mgmt-capi", "mgmt-cluster-prod", "mgmt-cluster-staging", "mgmt-management"]
    lines = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     failed: hcloud:index/server:Server mgmt-cluster-prod-server: server limit reached" in lines
    assert "  mgmt-cluster-staging  up done" in lines
    assert result.stderr.strip().splitlines()[-1] == (
        "error: stack mgmt-cluster-prod failed during up: hcloud:index/server:Server mgmt-cluster-prod-server: server limit reached"
    )


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


@pytest.mark.parametrize("token, message", [
    ("", "not set; export your Hetzner Cloud API token (read/write) as HCLOUD_TOKEN"),
    ("short", "not a Hetzner Cloud API token (expected 64 letters and digits, got 5 characters)"),
    ("a" * 63, "not a Hetzner Cloud API token (expected 64 letters and digits, got 63 characters)"),
    ("a" * 65, "not a Hetzner Cloud API token (expected 64 letters and digits, got 65 characters)"),
    ("a" * 63 + "-", "not a Hetzner Cloud API token (expected 64 letters and digits, got 64 characters)"),
    ("ä" * 64, "not a Hetzner Cloud API token (expected 64 letters and digits, got 64 characters)"),
])
def test_missing_or_malformed_token(env, monkeypatch, token, message):
    engine, platform = env
    monkeypatch.setenv("HCLOUD_TOKEN", token)
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2 and result.stderr == f"error: HCLOUD_TOKEN: {message}\n"
    assert engine.runs == [] and engine.orgs == []


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


def test_up_refuses_a_closed_management_api(env):
    engine, platform = env
    data = yaml.safe_load(platform.read_text())
    data["management"]["apiAllowedCidrs"] = []
    platform.write_text(yaml.safe_dump(data))
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {platform}: management.apiAllowedCidrs: empty, so the management API is closed to everyone, "
        "but `up` waits for that API from this machine; add this machine's public address as <address>/32 "
        "(find it with `curl -4 https://ifconfig.me`)\n"
    )
    assert engine.runs == [] and engine.orgs == []
    # Only `up` needs to reach it: the offline commands accept the closed API.
    assert invoke("validate", "-f", str(platform)).exit_code == 0
    assert invoke("generate", "cluster", "prod", "-f", str(platform)).exit_code == 0


def test_preview_says_which_stacks_it_would_create(env):
    engine, platform = env
    engine.existing = {"mgmt-management", "mgmt-capi", "mgmt-cluster-prod"}
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert {a for a, *_ in engine.runs} == {"preview"}
    lines = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     previewed: 1 to create" in lines
    assert "  mgmt-cluster-staging  would be created: 1 to create (previewed in a temporary stack, removed again)" in lines


def test_destroy_reports_what_it_did_not_touch(env):
    engine, platform = env
    engine.existing = {"mgmt-management", "mgmt-capi", "mgmt-cluster-staging"}
    result = invoke("destroy", "--yes", "-f", str(platform))
    assert result.exit_code == 0
    assert "mgmt-cluster-prod" not in stacks(engine)
    lines = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     nothing to destroy for mgmt-cluster-prod: there is no stack organization/clusterctl-cluster/mgmt-cluster-prod" in lines
    assert "  mgmt-management       destroyed" in lines


def test_parallel_must_be_positive(env):
    engine, platform = env
    result = invoke("up", "--parallel", "0", "-f", str(platform))
    assert result.exit_code == 2 and "--parallel" in result.stderr
    assert engine.runs == []


def test_plan_phases():
    data = platform_data()
    data["clusters"][0].pop("platform")
    spec = spec_mod.parse(data)
    phases = plan(spec, "preview", Path("p.yaml"), org="acme")
    assert [[r.program for r in phase] for phase in phases] == [["management"], ["capi"], ["cluster"]]
    assert phases[2][0].name == "acme/clusterctl-cluster/mgmt-cluster-prod"
    assert [r.name for r in phases[2][0].needs] == ["acme/clusterctl-management/mgmt-management", "acme/clusterctl-capi/mgmt-capi"]
    destroy = plan(spec, "destroy", Path("p.yaml"), org="acme")
    # Destroy also looks for a platform stack the cluster may have had (run only if it exists).
    assert [[(r.program, r.if_exists) for r in phase] for phase in destroy] == [
        [("platform", True)], [("cluster", False)], [("capi", False)], [("management", False)],
    ]
    # One cluster: its stack alone, the shared stacks stay as they are.
    for action in ("up", "preview"):
        one = plan(spec, action, Path("p.yaml"), org="acme", cluster="prod")
        assert [[r.stack for r in phase] for phase in one] == [["mgmt-cluster-prod"]]
    one = plan(spec, "destroy", Path("p.yaml"), org="acme", cluster="prod")
    assert [[r.stack for r in phase] for phase in one] == [["mgmt-platform-prod"], ["mgmt-cluster-prod"]]
    with pytest.raises(SpecError) as err:
        plan(spec, "up", Path("p.yaml"), org="acme", cluster="nope")
    assert "clusters: no cluster named 'nope'; defined: prod" in err.value.render()


def test_progress_redraws_one_line_on_a_terminal():
    out = io.StringIO()
    progress = Progress(2, 3, "mgmt-capi", "up", out=out, tty=True)
    progress(step("pre", "urn:pulumi:s::p::kubernetes:yaml/v2:ConfigGroup::capi-cluster-api", "kubernetes:yaml/v2:ConfigGroup"))
    progress(step("out", "urn:pulumi:s::p::kubernetes:yaml/v2:ConfigGroup::capi-cluster-api", "kubernetes:yaml/v2:ConfigGroup"))
    text = out.getvalue()
    assert "\r\033[K[2/3] mgmt-capi: 0/1 resources, create kubernetes:yaml/v2:ConfigGroup capi-cluster-api" in text
    assert "\n" not in text  # still one line being redrawn


def test_progress_side_by_side_prints_whole_lines_even_on_a_terminal():
    out = io.StringIO()
    progress = Progress(3, 4, "mgmt-cluster-prod", "up", out=out, tty=True, redraw=False)
    progress(step("pre", "urn:pulumi:s::p::hcloud:index/server:Server::cp-0", "hcloud:index/server:Server"))
    progress(step("out", "urn:pulumi:s::p::hcloud:index/server:Server::cp-0", "hcloud:index/server:Server"))
    assert out.getvalue() == "[3/4] mgmt-cluster-prod: 1/1 resources, create hcloud:index/server:Server cp-0, 00:00 elapsed\n"
