"""`clusterctl-py upgrade plan|apply` end to end: the real Kubernetes client against the API emulator, the fake engine.

The emulator holds what a management cluster holds (tests/support/capi_objects.py);
Cluster API's controllers are played by tests/support/capi_sim.py, which moves
the machines one step each time the command looks at the cluster; the cluster
stack's run (the fake engine) writes the version platform.yaml asks for into
the KubeadmControlPlane and the MachineDeployments, as the real stack does.
"""

from __future__ import annotations

import _thread
import re

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.conftest import EXAMPLE
from tests.support import capi_objects as fx
from tests.support import suc
from tests.support.capi_sim import CapiSim
from tests.support.fake_engine import use_fake_engine
from tests.support.kube_api import serve, without_retry_sleep

TOKEN = "Ab3" * 21 + "x"
OLD, NEW = "v1.34.11", "v1.35.9"

STAGING = """\
  - name: staging
    kubernetesVersion: v1.36.2   # the newest minor
    pools:
      - {name: general, serverType: cpx22, max: 3}
"""


def management_objects(hetzner: str = "v1.1.8") -> list[dict]:
    return fx.providers(caph=hetzner) + fx.cert_manager() + [
        fx.k3s_server("mgmt-control-plane-1", "v1.33.4+k3s1"), suc.plan_object("v1.33.4+k3s1"),
    ]


class Env:
    def __init__(self, server, platform, engine, kubeconfig):
        self.server, self.platform, self.engine, self.kubeconfig = server, platform, engine, kubeconfig
        self.sims: dict[str, CapiSim] = {}

    def sim(self, cluster: str = "prod") -> CapiSim:
        if cluster not in self.sims:
            self.sims[cluster] = CapiSim(self.server, cluster)
        return self.sims[cluster]

    def run(self, *args: str):
        return CliRunner().invoke(app, [*args, "-f", str(self.platform), "--kubeconfig", str(self.kubeconfig)], catch_exceptions=False)


@pytest.fixture
def env(monkeypatch, tmp_path):
    engine = use_fake_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    without_retry_sleep(monkeypatch)
    platform = tmp_path / "platform.yaml"
    platform.write_text(EXAMPLE.read_text())
    with serve(fx.workload_cluster("prod", version=OLD) + management_objects()) as server:
        kubeconfig = tmp_path / "management.yaml"
        kubeconfig.write_text(yaml.safe_dump(server.kubeconfig()))
        env = Env(server, platform, engine, kubeconfig)

        def stack_ran(run):
            # The cluster stack writes the spec's version into the objects; the controllers take it from there.
            spec = yaml.safe_load(platform.read_text())
            name = run.config["clusterctl:cluster"]
            env.sim(name).ask_for(next(c["kubernetesVersion"] for c in spec["clusters"] if c["name"] == name))

        engine.hold = stack_ran
        env.sim("prod")
        yield env


def progress(stderr: str) -> list[str]:
    """Progress lines without their elapsed time."""
    return [re.sub(r" \(\d\d+:\d\d elapsed\)$", "", line) for line in stderr.splitlines()]


FOLLOWED = [
    "prod: phase 1/2 control plane: 0/3 machines on v1.35.9",
    "prod: phase 1/2 control plane: 1/3 machines on v1.35.9",
    "prod: phase 1/2 control plane: 2/3 machines on v1.35.9",
    "prod: phase 1/2 control plane: 3/3 machines on v1.35.9",
    "prod: phase 2/2 pool prod-general: 0/2 machines on v1.35.9",
    "prod: phase 2/2 pool prod-general: 1/2 machines on v1.35.9",
    "prod: phase 2/2 pool prod-general: 2/2 machines on v1.35.9",
    "prod: v1.35.9 on every machine",
]


def kubelets(server, cluster: str = "prod") -> list[str]:
    """The kubelet version of every machine of `cluster` in the emulator, sorted."""

    def read(api):
        return sorted(
            o.raw["status"].get("nodeInfo", {}).get("kubeletVersion", "no node")
            for (res, ns, _), o in api.objects.items()
            if res.plural == "machines" and ns == cluster and not o.deleted
        )

    return server.edit(read)


def test_apply_writes_the_version_runs_the_stack_and_follows_each_phase(env):
    before = env.platform.read_text()
    result = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert result.exit_code == 0, result.output
    changed = [(a, b) for a, b in zip(before.splitlines(), env.platform.read_text().splitlines()) if a != b]
    comment = "   # the platform's Knative Serving needs v1.34 or newer"
    assert changed == [(f"    kubernetesVersion: v1.34.11{comment}", f"    kubernetesVersion: v1.35.9{comment}")]
    assert [(a, p, s) for a, p, s, *_ in env.engine.runs] == [("up", "cluster", "mgmt-cluster-prod")]
    assert result.stdout.splitlines() == [
        "prod: v1.34.11 -> v1.35.9",
        f"{env.platform}: clusters[name=prod].kubernetesVersion set to v1.35.9",
        "up in organization:",
        "  mgmt-cluster-prod  up done",
        "prod: v1.35.9 on every machine",
    ]
    following = [line for line in progress(result.stderr) if line.startswith("prod: ")]
    assert following == FOLLOWED
    assert all(re.search(r"\(\d\d+:\d\d elapsed\)$", line) for line in result.stderr.splitlines() if line.startswith("prod: "))
    # It returned once the last machine was replaced, not before.
    assert kubelets(env.server) == [NEW] * 5
    assert env.sim().steps[-1] == "prod-general-2ttz92zqn8-bcmgs deleted"


def test_an_interrupted_apply_resumes_without_bumping_again(env):
    sim = env.sim()

    def ctrl_c(steps):
        if steps == 6:  # one control-plane machine replaced, the second one being built
            sim.after_step = None
            _thread.interrupt_main()  # what Ctrl-C does in the terminal

    sim.after_step = ctrl_c
    first = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert first.exit_code == 130
    assert first.stderr.splitlines()[-1] == (
        "error: interrupted: the rollout of v1.35.9 goes on in the cluster;"
        " `clusterctl-py upgrade apply --cluster prod` follows it again"
    )
    written = env.platform.read_bytes()
    assert b"kubernetesVersion: v1.35.9" in written
    assert sorted(set(kubelets(env.server))) == ["no node", OLD, NEW]

    second = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert second.exit_code == 0, second.output
    assert env.platform.read_bytes() == written
    assert len(env.engine.runs) == 1  # the stack ran once, in the first run
    assert second.stdout.splitlines() == [
        # Its first look let the second new machine's node join.
        "prod: resuming the rollout of v1.35.9: the control plane is moving from v1.34.11 to v1.35.9 (2 of 3 machines on v1.35.9)",
        "prod: v1.35.9 on every machine",
    ]
    assert progress(second.stderr) == FOLLOWED[2:]
    assert kubelets(env.server) == [NEW] * 5


def test_the_api_lost_while_following_says_how_to_resume_and_the_next_run_does(env):
    sim = env.sim()
    sim.after_step = lambda steps: env.server.api.down_after(2) if steps == 4 else None
    first = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert first.exit_code == 1
    errors = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
    assert re.fullmatch(
        r"error: Kubernetes API http://127\.0\.0\.1:\d+: (get KubeadmControlPlane|list \w+ of) prod/prod.*: "
        r"connection refused or unreachable \(gave up after \d+ attempts\)",
        errors[0],
    ), errors
    assert errors[1:] == [
        "error: prod: the rollout of v1.35.9 goes on in the cluster; `clusterctl-py upgrade apply --cluster prod` follows it again"
    ]
    sim.after_step = None
    env.server.up()
    second = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[0].startswith("prod: resuming the rollout of v1.35.9: ")
    assert len(env.engine.runs) == 1
    assert kubelets(env.server) == [NEW] * 5


def test_a_second_bump_during_the_rollout_is_refused_and_nothing_is_touched(env):
    env.platform.write_text(env.platform.read_text().replace(OLD, NEW))
    sim = env.sim()
    sim.ask_for(NEW)
    for _ in range(6):  # both objects seen; one control-plane machine replaced, the next one built
        sim.server.edit(sim.step)
    sim.paused = True
    before = env.platform.read_bytes()
    result = env.run("upgrade", "apply", "--cluster", "prod", "--to", "v1.36.4")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --to: v1.36.4 refused: prod is rolling out v1.35.9 (the control plane is moving from v1.34.11 to v1.35.9"
        " (1 of 3 machines on v1.35.9)); a second bump waits until it is done:"
        " `clusterctl-py upgrade apply --cluster prod` follows it"
    ]
    assert env.platform.read_bytes() == before
    assert env.engine.runs == []


def test_a_stack_that_failed_after_the_write_is_applied_by_the_next_run(env):
    env.engine.fail_on = "mgmt-cluster-prod"
    hold, env.engine.hold = env.engine.hold, None  # the failed stack changed nothing in the cluster
    first = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert first.exit_code == 1
    assert "error: stack mgmt-cluster-prod failed during up" in first.stderr
    assert "kubernetesVersion: v1.35.9" in env.platform.read_text()
    assert kubelets(env.server) == [OLD] * 5

    env.engine.fail_on, env.engine.hold = None, hold
    second = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[0] == "prod: rolling out v1.35.9, which platform.yaml already asks for"
    assert [s for _, _, s, *_ in env.engine.runs] == ["mgmt-cluster-prod", "mgmt-cluster-prod"]
    assert second.stdout.splitlines()[-1] == "prod: v1.35.9 on every machine"
    assert kubelets(env.server) == [NEW] * 5


@pytest.mark.parametrize(
    "to, message",
    [
        ("v1.36.0", "--to: v1.36.0 is 2 minor versions ahead of v1.34.11, the oldest version prod runs (control plane and machines);"
                    " upgrades go one minor at a time; allowed: v1.34.11 to v1.35.9"),
        ("v1.34.1", "--to: v1.34.1 is older than v1.34.11, which prod runs; Kubernetes is never downgraded (kubeadm cannot);"
                    " allowed: v1.34.11 to v1.35.9"),
        ("v1.35.99", "--to: v1.35.99 is newer than the newest v1.35 patch clusterctl-py knows (v1.35.9); machines could not"
                     " install it; allowed for prod: v1.34.11 to v1.35.9"),
        ("latest", "--to: 'latest' is not a Kubernetes version like v1.33.4"),
    ],
)
def test_refused_targets_exit_2_before_anything_is_touched(env, to, message):
    before = env.platform.read_bytes()
    result = env.run("upgrade", "apply", "--cluster", "prod", "--to", to)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert env.platform.read_bytes() == before
    assert env.engine.runs == []


def test_stack_prerequisites_are_checked_before_the_file_is_written(env, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN")
    before = env.platform.read_bytes()
    result = env.run("upgrade", "apply", "--cluster", "prod")
    assert result.exit_code == 2
    assert "error: HCLOUD_TOKEN: not set" in result.stderr
    assert env.platform.read_bytes() == before


def test_following_alone_needs_no_stack_prerequisites(env, monkeypatch):
    env.platform.write_text(env.platform.read_text().replace(OLD, NEW))
    env.sim().ask_for(NEW)
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = env.run("upgrade", "apply", "--poll", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        # Its first look let the controllers see the change.
        "prod: resuming the rollout of v1.35.9: the control plane is moving from v1.34.11 to v1.35.9 (0 of 3 machines on v1.35.9)",
        "prod: v1.35.9 on every machine",
    ]
    assert env.engine.runs == []


def test_nothing_to_upgrade(env):
    env.platform.write_text(env.platform.read_text().replace(OLD, "v1.36.4"))
    env.server.edit(lambda api: api.objects.clear())
    env.server.add(*fx.workload_cluster("prod", version="v1.36.4"), *management_objects())
    result = env.run("upgrade", "apply", "--to", "v1.36.4")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["prod already runs v1.36.4 on every machine; nothing to upgrade"]
    assert env.engine.runs == []


def test_following_gives_up_after_the_timeout_and_says_how_to_resume(env):
    env.sim().paused = True  # the controllers are stuck
    result = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0", "--timeout", "0")
    assert result.exit_code == 1
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
    assert re.fullmatch(
        r"error: prod: v1\.35\.9 is still rolling out after 0 minutes \(prod: phase 1/2 control plane: 0/3 machines on"
        r" v1\.35\.9 \(\d\d:\d\d elapsed\)\); it goes on in the cluster: `clusterctl-py upgrade apply --cluster prod` follows it again",
        line,
    )


PLAN_CLUSTERS = [
    "Workload clusters (supported: v1.32 to v1.36, one minor at a time, control plane first):",
    "CLUSTER  FILE      CONTROL PLANE  MACHINES                     NEXT     NOTE",
    "prod     v1.34.11  v1.34.11       5 on v1.34.11                v1.35.9",
    "staging  v1.36.2   v1.36.2        5 on v1.36.2                 v1.36.4  v1.36 is the newest supported minor; v1.36.4 is a newer patch",
    "edge     v1.35.9   v1.34.11       3 on v1.34.11, 1 on v1.35.9  -        rollout in progress: the control plane is moving from"
    " v1.34.11 to v1.35.9 (1 of 3 machines on v1.35.9); `clusterctl-py upgrade apply --cluster edge` follows it",
    "lab      v1.34.11  -              none                         -        not created yet: `clusterctl-py up` creates it",
]


def test_plan_shows_clusters_at_several_versions_and_the_management_cluster(env):
    env.platform.write_text(
        env.platform.read_text() + STAGING
        + "  - name: edge\n    kubernetesVersion: v1.35.9\n    pools:\n      - {name: general, serverType: cpx22, max: 3}\n"
        + "  - name: lab\n    kubernetesVersion: v1.34.11\n    pools:\n      - {name: general, serverType: cpx22, max: 3}\n"
    )
    env.server.edit(lambda api: api.objects.clear())
    env.server.add(
        *fx.workload_cluster("prod", version=OLD),
        *fx.workload_cluster("staging", version="v1.36.2", pools=(fx.Pool("general", 2),)),
        *fx.workload_cluster("edge", version="v1.34.11", control_plane=3, pools=(fx.Pool("general", 0),)),
        *management_objects(hetzner="v1.1.7"),
    )
    edge = env.sim("edge")
    edge.ask_for("v1.35.9")
    for _ in range(4):  # seen by both controllers, one new control-plane machine whose node joined
        env.server.edit(edge.step)
    edge.paused = True
    env.server.api.clear_log()
    result = env.run("upgrade", "plan")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        *PLAN_CLUSTERS,
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
    # 3 reads per cluster (1 for one not created), 4 for the management cluster; nothing written.
    assert len(env.server.api.log) == 3 * 3 + 1 + 4
    assert {e.verb for e in env.server.api.log} == {"get", "list"}


def test_without_a_management_api_nothing_is_asked_and_it_says_where_it_looked(env, monkeypatch):
    before = env.platform.read_bytes()
    for args in (["upgrade", "plan"], ["upgrade", "apply", "--cluster", "prod"]):
        result = CliRunner().invoke(app, [*args, "-f", str(env.platform)], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "error: the management stack organization/clusterctl-management/mgmt-management has no kubeconfig output yet:"
            " has `clusterctl-py up` finished?"
        ]
    assert env.platform.read_bytes() == before
    assert env.server.api.log == []


def test_without_cluster_each_is_upgraded_and_one_not_created_is_skipped(env):
    env.platform.write_text(env.platform.read_text() + STAGING)
    result = env.run("upgrade", "apply", "--poll", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "staging: no KubeadmControlPlane found; the cluster is not created"
        " (`clusterctl-py up --cluster staging` creates it); skipped"
    )
    assert result.stdout.splitlines()[-1] == "prod: v1.35.9 on every machine"
    assert [s for _, _, s, *_ in env.engine.runs] == ["mgmt-cluster-prod"]
    assert "kubernetesVersion: v1.36.2   # the newest minor" in env.platform.read_text()

    alone = env.run("upgrade", "apply", "--cluster", "staging")
    assert alone.exit_code == 1
    assert alone.stderr.splitlines() == [
        "error: staging: no KubeadmControlPlane found; the cluster is not created (`clusterctl-py up --cluster staging` creates it)"
    ]


def guide_block(heading: str) -> list[str]:
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    section = guide.split(f"## `{heading}`", 1)[1]
    return section.split("```", 4)[3].strip("\n").splitlines()


def test_the_day2_guide_shows_what_upgrade_plan_prints(env):
    test_plan_shows_clusters_at_several_versions_and_the_management_cluster(env)
    result = env.run("upgrade", "plan")
    assert guide_block("upgrade plan") == result.stdout.splitlines()


def test_the_day2_guide_shows_what_upgrade_apply_prints(env):
    result = env.run("upgrade", "apply", "--cluster", "prod", "--poll", "0")
    assert result.exit_code == 0, result.output
    out = result.stdout.replace(str(env.platform), "platform.yaml").splitlines()
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
