"""`clusterctl-py upgrade plan|apply` against a fake of what the management cluster shows, and the fake engine."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from clusterctl_py.cli import app
from clusterctl_py.ops import engine as engine_mod
from clusterctl_py.ops import upgrade as upgrade_mod
from clusterctl_py.ops.upgrade import ClusterState, ManagementState
from tests.conftest import EXAMPLE
from tests.support import cluster_states as cs
from tests.support.cluster_states import NEW
from tests.support.fake_engine import FakeEngine

TOKEN = "Ab3" * 21 + "x"

STAGING = """\
  - name: staging
    kubernetesVersion: v1.36.2   # the newest minor
    pools:
      - {name: general, serverType: cpx22, max: 3}
"""

ROLLOUT = [cs.not_started(), cs.control_plane_half_way(), cs.pools_pending(), cs.all_done()]


class FakeCluster:
    """What the management cluster shows: steady until the stack runs, then each read one stage further."""

    def __init__(self, before: ClusterState, rollout: list[ClusterState], interrupt_at: int | None = None):
        self.before = before
        self.rollout = rollout
        self.started = False
        self.at = 0
        self.interrupt_at = interrupt_at
        self.reads = 0

    def read(self) -> ClusterState:
        self.reads += 1
        if not self.started:
            return self.before
        if self.interrupt_at is not None and self.at == self.interrupt_at:
            self.interrupt_at = None
            raise KeyboardInterrupt
        state = self.rollout[min(self.at, len(self.rollout) - 1)]
        self.at += 1
        return state


class FakeReader:
    def __init__(self, clusters: dict[str, FakeCluster], management: ManagementState | None = None):
        self.clusters = clusters
        self._management = management
        self.asked: list[tuple[str, str]] = []

    def management(self) -> ManagementState:
        assert self._management is not None
        return self._management

    def cluster(self, name: str, namespace: str) -> ClusterState:
        self.asked.append((name, namespace))
        return self.clusters[name].read()


@pytest.fixture
def env(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    engine = FakeEngine()
    monkeypatch.setattr(engine_mod, "default_engine", lambda token: engine)
    platform = tmp_path / "platform.yaml"
    platform.write_text(EXAMPLE.read_text())
    prod = FakeCluster(cs.steady(), ROLLOUT)
    reader = FakeReader({"prod": prod})
    factory_calls = []

    def factory(spec, kubeconfig=None):
        factory_calls.append(kubeconfig)
        return reader

    monkeypatch.setattr(upgrade_mod, "default_reader", factory)

    def stack_ran(run):
        # The stack changes the objects; the controllers start rolling.
        prod.started = True

    engine.hold = stack_ran
    return engine, platform, prod, reader, factory_calls


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def progress(stderr: str) -> list[str]:
    """Progress lines without their elapsed time."""
    return [re.sub(r" \(\d\d+:\d\d elapsed\)$", "", line) for line in stderr.splitlines()]


def test_apply_writes_the_version_runs_the_stack_and_follows_each_phase(env):
    engine, platform, prod, reader, _ = env
    before = platform.read_text()
    result = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert result.exit_code == 0, result.output
    changed = [(a, b) for a, b in zip(before.splitlines(), platform.read_text().splitlines()) if a != b]
    assert changed == [("    kubernetesVersion: v1.33.4", "    kubernetesVersion: v1.34.11")]
    assert [(a, p, s) for a, p, s, *_ in engine.runs] == [("up", "cluster", "mgmt-cluster-prod")]
    assert result.stdout.splitlines() == [
        "prod: v1.33.4 -> v1.34.11",
        f"{platform}: clusters[name=prod].kubernetesVersion set to v1.34.11",
        "up in organization:",
        "  mgmt-cluster-prod  up done",
        "prod: v1.34.11 on every machine",
    ]
    assert progress(result.stderr)[-4:] == [
        "prod: phase 1/2 control plane: 0/3 machines on v1.34.11",
        "prod: phase 1/2 control plane: 2/3 machines on v1.34.11",
        "prod: phase 2/2 pool prod-general: 1/2 machines on v1.34.11",
        "prod: v1.34.11 on every machine",
    ]
    assert all(re.search(r"\(\d\d+:\d\d elapsed\)$", line) for line in result.stderr.splitlines()[-4:])
    assert set(reader.asked) == {("prod", "prod")}


def test_an_interrupted_apply_resumes_without_bumping_again(env):
    engine, platform, prod, reader, _ = env
    prod.interrupt_at = 1  # Ctrl-C once the rollout has started
    first = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert first.exit_code == 130
    assert first.stderr.splitlines()[-1] == (
        "error: interrupted: the rollout of v1.34.11 goes on in the cluster;"
        " `clusterctl-py upgrade apply --cluster prod` follows it again"
    )
    written = platform.read_bytes()
    assert b"kubernetesVersion: v1.34.11" in written

    # Meanwhile the control plane got half-way; the same command picks up from there.
    second = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert second.exit_code == 0, second.output
    assert platform.read_bytes() == written
    assert len(engine.runs) == 1  # the stack ran once, in the first run
    assert second.stdout.splitlines() == [
        "prod: resuming the rollout of v1.34.11: the control plane is moving from v1.33.4 to v1.34.11 (2 of 3 machines on v1.34.11)",
        "prod: v1.34.11 on every machine",
    ]
    assert progress(second.stderr) == [
        "prod: phase 2/2 pool prod-general: 1/2 machines on v1.34.11",
        "prod: v1.34.11 on every machine",
    ]


def test_a_second_bump_during_the_rollout_is_refused_and_nothing_is_touched(env):
    engine, platform, prod, reader, _ = env
    platform.write_text(platform.read_text().replace("v1.33.4", NEW))
    prod.started, prod.at = True, 1  # the control plane is half-way to v1.34.11
    before = platform.read_bytes()
    result = invoke("upgrade", "apply", "--cluster", "prod", "--to", "v1.35.9", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --to: v1.35.9 refused: prod is rolling out v1.34.11 (the control plane is moving from v1.33.4 to v1.34.11"
        " (2 of 3 machines on v1.34.11)); a second bump waits until it is done:"
        " `clusterctl-py upgrade apply --cluster prod` follows it"
    ]
    assert platform.read_bytes() == before
    assert engine.runs == []


def test_a_stack_that_failed_after_the_write_is_applied_by_the_next_run(env):
    engine, platform, prod, reader, _ = env
    engine.fail_on = "mgmt-cluster-prod"
    engine.hold = None  # the failed stack changed nothing in the cluster
    first = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert first.exit_code == 1
    assert "error: stack mgmt-cluster-prod failed during up" in first.stderr
    assert "kubernetesVersion: v1.34.11" in platform.read_text()

    engine.fail_on = None
    engine.hold = lambda run: setattr(prod, "started", True)
    second = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[0] == "prod: rolling out v1.34.11, which platform.yaml already asks for"
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-cluster-prod", "mgmt-cluster-prod"]
    assert second.stdout.splitlines()[-1] == "prod: v1.34.11 on every machine"


@pytest.mark.parametrize(
    "to, message",
    [
        ("v1.35.0", "--to: v1.35.0 is 2 minor versions ahead of v1.33.4, the oldest version prod runs (control plane and machines);"
                    " upgrades go one minor at a time; allowed: v1.33.4 to v1.34.11"),
        ("v1.33.1", "--to: v1.33.1 is older than v1.33.4, which prod runs; Kubernetes is never downgraded (kubeadm cannot);"
                    " allowed: v1.33.4 to v1.34.11"),
        ("v1.34.99", "--to: v1.34.99 is newer than the newest v1.34 patch clusterctl-py knows (v1.34.11); machines could not"
                     " install it; allowed for prod: v1.33.4 to v1.34.11"),
        ("latest", "--to: 'latest' is not a Kubernetes version like v1.33.4"),
    ],
)
def test_refused_targets_exit_2_before_anything_is_touched(env, to, message):
    engine, platform, prod, reader, _ = env
    before = platform.read_bytes()
    result = invoke("upgrade", "apply", "--cluster", "prod", "--to", to, "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert platform.read_bytes() == before
    assert engine.runs == []


def test_stack_prerequisites_are_checked_before_the_file_is_written(env, monkeypatch):
    engine, platform, prod, reader, _ = env
    monkeypatch.delenv("HCLOUD_TOKEN")
    before = platform.read_bytes()
    result = invoke("upgrade", "apply", "--cluster", "prod", "-f", str(platform))
    assert result.exit_code == 2
    assert "error: HCLOUD_TOKEN: not set" in result.stderr
    assert platform.read_bytes() == before


def test_following_alone_needs_no_stack_prerequisites(env, monkeypatch):
    engine, platform, prod, reader, _ = env
    platform.write_text(platform.read_text().replace("v1.33.4", NEW))
    prod.started, prod.at = True, 2
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = invoke("upgrade", "apply", "--poll", "0", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "prod: v1.34.11 on every machine"
    assert engine.runs == []


def test_nothing_to_upgrade(env):
    engine, platform, prod, reader, _ = env
    platform.write_text(platform.read_text().replace("v1.33.4", NEW))
    prod.started, prod.at = True, 3
    result = invoke("upgrade", "apply", "--to", NEW, "-f", str(platform))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["prod already runs v1.34.11 on every machine; nothing to upgrade"]
    assert engine.runs == []


def test_following_gives_up_after_the_timeout_and_says_how_to_resume(env):
    engine, platform, prod, reader, _ = env
    prod.rollout = [cs.control_plane_half_way()]  # stuck
    result = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "--timeout", "0", "-f", str(platform))
    assert result.exit_code == 1
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
    assert re.fullmatch(
        r"error: prod: v1\.34\.11 is still rolling out after 0 minutes \(prod: phase 1/2 control plane: 2/3 machines on"
        r" v1\.34\.11 \(\d\d:\d\d elapsed\)\); it goes on in the cluster: `clusterctl-py upgrade apply --cluster prod` follows it again",
        line,
    )


def test_plan_shows_each_cluster_and_the_management_cluster(env):
    engine, platform, prod, reader, factory_calls = env
    platform.write_text(platform.read_text() + STAGING)
    reader.clusters["staging"] = FakeCluster(cs.steady("v1.36.2", "staging"), [])
    reader._management = cs.management(
        (
            ("cluster-api", "CoreProvider", "v1.13.5"),
            ("kubeadm", "BootstrapProvider", "v1.13.5"),
            ("kubeadm", "ControlPlaneProvider", "v1.13.5"),
            ("hetzner", "InfrastructureProvider", "v1.1.7"),
            ("helm", "AddonProvider", "v0.6.4"),
        ),
        (("cert-manager", "v1.21.1"), ("cert-manager-cainjector", "v1.21.1"), ("cert-manager-webhook", "v1.21.1")),
        (("mgmt-control-plane-1", "v1.33.4+k3s1"),),
    )
    result = invoke("upgrade", "plan", "--kubeconfig", "/tmp/mgmt.yaml", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Workload clusters (supported: v1.32 to v1.36, one minor at a time, control plane first):",
        "CLUSTER  FILE     CONTROL PLANE  MACHINES      NEXT      NOTE",
        "prod     v1.33.4  v1.33.4        5 on v1.33.4  v1.34.11",
        "staging  v1.36.2  v1.36.2        5 on v1.36.2  v1.36.4   v1.36 is the newest supported minor; v1.36.4 is a newer patch",
        "",
        "Management cluster (pinned: Cluster API v1.13.5, CAPH v1.1.8, CAAPH v0.6.4):",
        "COMPONENT                         INSTALLED     PINNED        STATUS",
        "cluster-api (CoreProvider)        v1.13.5       v1.13.5       up to date",
        "kubeadm (BootstrapProvider)       v1.13.5       v1.13.5       up to date",
        "kubeadm (ControlPlaneProvider)    v1.13.5       v1.13.5       up to date",
        "hetzner (InfrastructureProvider)  v1.1.7        v1.1.8        older than pinned",
        "helm (AddonProvider)              v0.6.4        v0.6.4        up to date",
        "cert-manager                      v1.21.1       v1.21.1       up to date",
        "k3s (management)                  v1.33.4+k3s1  v1.33.4+k3s1  up to date",
    ]
    assert [str(k) for k in factory_calls] == ["/tmp/mgmt.yaml"]
    assert set(reader.asked) == {("prod", "prod"), ("staging", "staging")}


def test_without_the_kubernetes_client_upgrade_says_what_it_needs(env, monkeypatch):
    engine, platform, prod, reader, _ = env
    monkeypatch.undo()  # the real default_reader
    before = platform.read_bytes()
    for args in (["upgrade", "plan"], ["upgrade", "apply", "--cluster", "prod"]):
        result = invoke(*args, "-f", str(platform))
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "error: upgrade needs the management cluster's API: this build cannot read it yet"
            " (the Kubernetes client is not wired in); nothing was changed"
        ]
    assert platform.read_bytes() == before


def guide_block(heading: str) -> list[str]:
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    section = guide.split(f"## `{heading}`", 1)[1]
    return section.split("```", 4)[3].strip("\n").splitlines()


def test_the_day2_guide_shows_what_upgrade_plan_prints(env):
    engine, platform, prod, reader, _ = env
    test_plan_shows_each_cluster_and_the_management_cluster(env)
    result = invoke("upgrade", "plan", "-f", str(platform))
    assert guide_block("upgrade plan") == result.stdout.splitlines()


def test_the_day2_guide_shows_what_upgrade_apply_prints(env):
    engine, platform, prod, reader, _ = env
    result = invoke("upgrade", "apply", "--cluster", "prod", "--poll", "0", "-f", str(platform))
    assert result.exit_code == 0, result.output
    out = result.stdout.replace(str(platform), "platform.yaml").splitlines()
    shown = [re.sub(r" \(\d\d:\d\d elapsed\)$", "", line) for line in guide_block("upgrade apply")]
    following = [line for line in progress(result.stderr) if line.startswith("prod: ")]  # not the stack's own lines
    assert shown == out[:4] + following + out[4:]


def test_the_day2_guide_uses_only_options_scale_and_upgrade_have():
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    runner = CliRunner()
    used = re.findall(r"clusterctl-py (scale|upgrade plan|upgrade apply)((?: [^\n`|]*)?)", guide)
    used += [(c, f" {o}") for c in ("upgrade apply",) for o in re.findall(r"`(--[a-z-]+)", guide.split("## `upgrade apply`")[1].split("\n## ")[0])]
    used += [(c, f" {o}") for c in ("scale",) for o in re.findall(r"`(--[a-z-]+)", guide.split("## `scale`")[1].split("## ")[0])]
    assert {c for c, _ in used} == {"scale", "upgrade plan", "upgrade apply"}
    for command, rest in used:
        help_text = runner.invoke(app, [*command.split(), "--help"]).stdout
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
            assert option in help_text, f"docs/day2.md: `{command}` has no {option}"


@pytest.mark.parametrize("args", [["scale", "--help"], ["upgrade", "plan", "--help"], ["upgrade", "apply", "--help"]])
def test_help_of_the_new_commands_imports_no_sdk(args):
    import subprocess
    import sys

    code = (
        "import sys\nfrom clusterctl_py.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('pulumi', 'kubernetes', 'hcloud', 'pulumi_kubernetes', 'pulumi_hcloud')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: " in out and "HEAVY []" in out


def test_without_cluster_each_is_upgraded_and_one_not_created_is_skipped(env):
    engine, platform, prod, reader, _ = env
    platform.write_text(platform.read_text() + STAGING)
    reader.clusters["staging"] = FakeCluster(ClusterState("staging", None), [])
    result = invoke("upgrade", "apply", "--poll", "0", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "staging: no KubeadmControlPlane found; the cluster is not created"
        " (`clusterctl-py up --cluster staging` creates it); skipped"
    )
    assert result.stdout.splitlines()[-1] == "prod: v1.34.11 on every machine"
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-cluster-prod"]
    assert "kubernetesVersion: v1.36.2   # the newest minor" in platform.read_text()

    alone = invoke("upgrade", "apply", "--cluster", "staging", "-f", str(platform))
    assert alone.exit_code == 1
    assert alone.stderr.splitlines() == [
        "error: staging: no KubeadmControlPlane found; the cluster is not created (`clusterctl-py up --cluster staging` creates it)"
    ]
