"""`clusterctl-py up` and Kubernetes versions: it waits for a version change to reach every machine, and
refuses one during a rollout before anything runs. The real client against the API emulator; the fake engine
for the stacks; Cluster API's controllers played by tests/support/capi_sim.py."""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.conftest import EXAMPLE
from tests.support import capi_objects as fx
from tests.support.capi_sim import CapiSim
from tests.support.fake_engine import use_fake_engine
from tests.support.kube_api import serve, without_retry_sleep
from tests.test_upgrade_cli import FOLLOWED  # what `upgrade apply` prints while it follows the same rollout

TOKEN = "Ab3" * 21 + "x"
OLD, NEW = "v1.34.11", "v1.35.9"


class Env:
    def __init__(self, server, platform, engine):
        self.server, self.platform, self.engine = server, platform, engine
        self.sim = CapiSim(server, "prod")
        self.before_stacks: list | None = None  # the requests made before the first stack ran

    def up(self, *args: str):
        # Preflight (the Hetzner project) is not what these tests are about.
        return CliRunner().invoke(app, ["up", *args, "--skip-preflight", "--poll", "0", "-f", str(self.platform)], catch_exceptions=False)

    def set_version(self, version: str) -> None:
        self.platform.write_text(self.platform.read_text().replace(f"kubernetesVersion: {OLD}", f"kubernetesVersion: {version}"))

    def kubelets(self) -> list[str]:
        def read(api):
            return sorted(
                o.raw["status"].get("nodeInfo", {}).get("kubeletVersion", "no node")
                for (res, ns, _), o in api.objects.items() if res.plural == "machines" and ns == "prod" and not o.deleted
            )

        return self.server.edit(read)


@pytest.fixture
def env(monkeypatch, tmp_path):
    engine = use_fake_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    without_retry_sleep(monkeypatch)
    platform = tmp_path / "platform.yaml"
    platform.write_text(EXAMPLE.read_text())
    with serve(fx.workload_cluster("prod", version=OLD) + fx.providers()) as server:
        # `up` finds the management API where it left it: the management stack's kubeconfig output.
        engine.stack_outputs["mgmt-management"] = {"kubeconfig": yaml.safe_dump(server.kubeconfig())}
        env = Env(server, platform, engine)

        def stack_ran(run):
            if env.before_stacks is None:
                env.before_stacks = list(server.api.log)
            if run.program == "cluster":  # the cluster stack writes the spec's version into the objects
                spec = yaml.safe_load(platform.read_text())
                env.sim.ask_for(next(c["kubernetesVersion"] for c in spec["clusters"] if c["name"] == "prod"))

        engine.hold = stack_ran
        yield env


def progress(stderr: str) -> list[str]:
    return [re.sub(r" \(\d\d+:\d\d elapsed\)$", "", line) for line in stderr.splitlines() if line.startswith("prod: ")]


def test_up_after_a_version_change_waits_until_every_machine_runs_it(env):
    env.set_version(NEW)
    result = env.up("--cluster", "prod")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "up in organization:",
        "  mgmt-cluster-prod   up done",
        "  mgmt-platform-prod  up done",
        "prod: v1.35.9 on every machine",
    ]
    assert progress(result.stderr) == [
        "prod: Kubernetes v1.35.9 rolls out now: following it, control plane first, then each pool",
        *FOLLOWED,
    ]
    # `up` returned when the rollout was over, not when the objects were patched.
    assert env.kubelets() == [NEW] * 5
    assert env.sim.steps[-1].endswith(" deleted")


def test_up_without_a_version_change_does_not_wait(env):
    env.server.api.clear_log()
    result = env.up()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == ["  mgmt-cluster-prod   up done", "  mgmt-platform-prod  up done"]
    assert progress(result.stderr) == []
    # One read before the stacks ran: the k3s servers and their upgrade Plan (the capi stack runs too),
    # then the cluster's control plane, pools and machines.
    assert [(e.verb, e.plural) for e in env.before_stacks] == [
        ("list", "nodes"), ("get", "plans"), ("get", "kubeadmcontrolplanes"), ("list", "machinedeployments"), ("list", "machines"),
    ]


def test_a_version_bump_during_a_rollout_is_refused_before_anything_runs(env):
    env.set_version(NEW)
    env.sim.ask_for(NEW)  # an earlier `up` moved prod to v1.35.9 and was interrupted
    for _ in range(5):
        env.server.edit(env.sim.step)
    env.sim.paused = True
    env.platform.write_text(env.platform.read_text().replace(f"kubernetesVersion: {NEW}", "kubernetesVersion: v1.36.4"))
    result = env.up()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {env.platform}: clusters[name=prod].kubernetesVersion: v1.36.4 refused: prod is rolling out v1.35.9"
        " (the control plane is moving from v1.34.11 to v1.35.9 (1 of 3 machines on v1.35.9)); set it back to v1.35.9 until that is done"
    ]
    assert env.engine.runs == []


def test_up_again_during_a_rollout_follows_it(env):
    env.set_version(NEW)
    env.sim.ask_for(NEW)
    for _ in range(5):
        env.server.edit(env.sim.step)
    result = env.up("--cluster", "prod")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "prod: v1.35.9 on every machine"
    assert env.kubelets() == [NEW] * 5


@pytest.mark.parametrize(
    "version, message",
    [
        ("v1.36.4", "clusters[name=prod].kubernetesVersion: v1.36.4 is 2 minor versions ahead of v1.34.11, the oldest version prod runs"
                    " (control plane and machines); upgrades go one minor at a time; allowed: v1.34.11 to v1.35.9"),
        ("v1.34.2", "clusters[name=prod].kubernetesVersion: v1.34.2 is older than v1.34.11, which prod runs;"
                    " Kubernetes is never downgraded: set it to v1.34.11 or newer"),
    ],
)
def test_a_version_the_cluster_cannot_take_is_refused_before_anything_runs(env, version, message):
    env.set_version(version)
    result = env.up()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {env.platform}: {message}"]
    assert env.engine.runs == []


def test_the_first_up_has_no_management_api_to_check_and_says_so(env):
    env.engine.existing = set()  # no stack at all yet
    env.set_version(NEW)
    result = env.up()
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "note: there is no capi stack organization/clusterctl-capi/mgmt-capi yet, so no workload cluster to check;"
        " Kubernetes version changes are not checked, and `up` does not wait for rollouts"
    )
    assert [s for _, _, s, *_ in env.engine.runs][:2] == ["mgmt-management", "mgmt-capi"]
    assert env.server.api.log == []


def test_a_management_api_that_does_not_answer_is_a_note_not_an_error(env):
    env.server.down()
    env.set_version(NEW)
    result = env.up("--cluster", "prod")
    assert result.exit_code == 0, result.output
    (line,) = [l for l in result.stderr.splitlines() if "are not checked" in l]
    assert re.fullmatch(
        r"note: Kubernetes API http://127\.0\.0\.1:\d+: get KubeadmControlPlane prod/prod-control-plane: connection refused or"
        r" unreachable \(gave up after \d+ attempts\); Kubernetes version changes are not checked, and `up` does not wait for rollouts",
        line,
    )
    assert [s for _, _, s, *_ in env.engine.runs] == ["mgmt-cluster-prod", "mgmt-platform-prod"]


def guide_blocks(heading: str) -> list[list[str]]:
    """The fenced blocks of the section `## <heading>` of docs/day2.md, each as its lines."""
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    section = guide.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1].strip("\n").splitlines() for block in section.split("```")[1::2]]


def test_the_day2_guide_shows_what_up_prints_after_a_version_change(env):
    command, shown, _ = guide_blocks("`up` and Kubernetes versions")
    assert command == ["clusterctl-py up --cluster prod -f platform.yaml"]
    env.set_version(NEW)
    result = env.up("--cluster", "prod")
    out = result.stdout.splitlines()
    # The stacks' summary (the cluster's, then its platform's), then the rollout `up` follows.
    assert [re.sub(r" \(\d\d:\d\d elapsed\)$", "", line) for line in shown] == out[:3] + progress(result.stderr) + out[3:]


def test_the_day2_guide_shows_how_up_refuses_a_bump_during_a_rollout(env):
    *_, refused = guide_blocks("`up` and Kubernetes versions")
    env.set_version(NEW)
    env.sim.ask_for(NEW)
    for _ in range(5):
        env.server.edit(env.sim.step)
    env.sim.paused = True
    env.platform.write_text(env.platform.read_text().replace(f"kubernetesVersion: {NEW}", "kubernetesVersion: v1.36.4"))
    result = env.up()
    assert result.exit_code == 2
    assert refused == [result.stderr.replace(str(env.platform), "platform.yaml").strip()]
