"""The management cluster's k3s in `upgrade plan`, `upgrade apply --management` and `up`, end to end.

The real Kubernetes client against the API emulator holding three k3s servers and
system-upgrade-controller's k3s-server Plan; SUC and rancher/k3s-upgrade are played by
tests/support/suc.py SucSim (one step each time the command lists the servers); the capi
stack's run (the fake engine) writes management.k3sVersion into the Plan, as the real one does.
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
from tests.support.fake_engine import use_fake_engine
from tests.support.kube_api import serve, without_retry_sleep

TOKEN = "Ab3" * 21 + "x"
OLD, NEW = "v1.33.4+k3s1", "v1.34.1+k3s1"
SERVERS = ("mgmt-control-plane-1", "mgmt-control-plane-2", "mgmt-control-plane-3")


class Env:
    def __init__(self, server, platform, engine, kubeconfig):
        self.server, self.platform, self.engine, self.kubeconfig = server, platform, engine, kubeconfig
        self.suc = suc.SucSim(server)

    def run(self, *args: str):
        return CliRunner().invoke(app, [*args, "-f", str(self.platform), "--kubeconfig", str(self.kubeconfig)], catch_exceptions=False)

    def servers(self) -> list[tuple[str, str, bool]]:
        """(name, kubelet version, cordoned) of each server."""

        def read(api):
            return sorted(
                (o.raw["metadata"]["name"], o.raw["status"]["nodeInfo"]["kubeletVersion"], bool(o.raw["spec"].get("unschedulable")))
                for (res, _, _), o in api.objects.items() if res.plural == "nodes" and not o.deleted
            )

        return self.server.edit(read)


@pytest.fixture
def env(monkeypatch, tmp_path):
    engine = use_fake_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    without_retry_sleep(monkeypatch)
    platform = tmp_path / "platform.yaml"
    platform.write_text(EXAMPLE.read_text().replace("  servers: 1   ", "  servers: 3   "))
    objs = fx.providers() + fx.cert_manager() + [suc.upgraded(fx.k3s_server(name, OLD), OLD) for name in SERVERS] + [suc.plan_object(OLD)]
    with serve(objs) as server:
        kubeconfig = tmp_path / "management.yaml"
        kubeconfig.write_text(yaml.safe_dump(server.kubeconfig()))
        engine.stack_outputs["mgmt-management"] = {"kubeconfig": kubeconfig.read_text()}
        env = Env(server, platform, engine, kubeconfig)

        def stack_ran(run):
            if run.program == "capi":  # the capi stack writes management.k3sVersion into the k3s-server Plan
                management = yaml.safe_load(platform.read_text())["management"]
                env.suc.ask_for(management.get("k3sVersion", OLD))

        engine.hold = stack_ran
        yield env


def progress(stderr: str) -> list[str]:
    return [re.sub(r" \(\d\d+:\d\d elapsed\)$", "", line) for line in stderr.splitlines() if line.startswith("management: ")]


FOLLOWED = [
    "management: phase 1/1 k3s servers: 0/3 servers on v1.34.1+k3s1",
    "management: phase 1/1 k3s servers: 1/3 servers on v1.34.1+k3s1",
    "management: phase 1/1 k3s servers: 2/3 servers on v1.34.1+k3s1",
    # The last server runs it; system-upgrade-controller has not marked the Plan Complete yet.
    "management: v1.34.1+k3s1 on every server; waiting for the controllers: the k3s-server Plan reports Complete=False (SyncJob)"
    " (3 of 3 servers on v1.34.1+k3s1)",
    "management: v1.34.1+k3s1 on every server",
]


def test_apply_management_writes_k3s_version_runs_the_capi_stack_and_follows_each_server(env):
    before = env.platform.read_text()
    result = env.run("upgrade", "apply", "--management", "--to", NEW, "--poll", "0")
    assert result.exit_code == 0, result.output
    added = [line for line in env.platform.read_text().splitlines() if line not in before.splitlines()]
    assert added == ["  k3sVersion: v1.34.1+k3s1"]
    assert [(a, p, s) for a, p, s, *_ in env.engine.runs] == [("up", "capi", "mgmt-capi")]
    assert result.stdout.splitlines() == [
        "management: k3s v1.33.4+k3s1 -> v1.34.1+k3s1",
        f"{env.platform}: management.k3sVersion set to v1.34.1+k3s1",
        "up in organization:",
        "  mgmt-capi  up done",
        "management: k3s v1.34.1+k3s1 on every server",
    ]
    assert progress(result.stderr) == FOLLOWED
    assert env.servers() == [(name, NEW, False) for name in SERVERS]
    assert env.suc.steps[-1] == "complete"


def test_a_lower_k3s_version_is_refused_before_anything_is_touched(env):
    before = env.platform.read_bytes()
    result = env.run("upgrade", "apply", "--management", "--to", "v1.33.3+k3s1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --to: v1.33.3+k3s1 is older than v1.33.4+k3s1, which the management servers run; k3s is never downgraded:"
        " k3s-upgrade refuses, and its failed job leaves the server cordoned; allowed: v1.33.4+k3s1 or a newer k3s release"
        " of v1.33 or v1.34"
    ]
    assert env.platform.read_bytes() == before
    assert env.engine.runs == []


def test_k3s_moves_one_minor_at_a_time(env):
    result = env.run("upgrade", "apply", "--management", "--to", "v1.35.2+k3s1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --to: v1.35.2+k3s1 is 2 minor versions ahead of v1.33.4+k3s1, the oldest k3s a management server runs;"
        " k3s upgrades go one minor at a time (Kubernetes version skew policy); allowed: v1.33.4+k3s1 or a newer k3s"
        " release of v1.33 or v1.34"
    ]
    assert env.engine.runs == []


def test_an_interrupted_k3s_upgrade_resumes_without_running_the_stack_again(env):
    def ctrl_c(steps):
        if steps == 3:  # resolved, the first server upgraded, the second one cordoned
            env.suc.after_step = None
            _thread.interrupt_main()

    env.suc.after_step = ctrl_c
    first = env.run("upgrade", "apply", "--management", "--to", NEW, "--poll", "0")
    assert first.exit_code == 130
    assert first.stderr.splitlines()[-1] == (
        "error: interrupted: the k3s upgrade to v1.34.1+k3s1 goes on in the management cluster;"
        " `clusterctl-py upgrade apply --management` follows it again"
    )
    written = env.platform.read_bytes()

    second = env.run("upgrade", "apply", "--management", "--poll", "0")
    assert second.exit_code == 0, second.output
    assert env.platform.read_bytes() == written
    assert len(env.engine.runs) == 1
    assert second.stdout.splitlines() == [
        # Its first look let the second server's job start.
        "management: resuming the k3s upgrade to v1.34.1+k3s1: upgrading mgmt-control-plane-2 to v1.34.1+k3s1 (1 of 3 servers on it)",
        "management: k3s v1.34.1+k3s1 on every server",
    ]
    assert progress(second.stderr) == FOLLOWED[2:]
    assert env.servers() == [(name, NEW, False) for name in SERVERS]


def test_a_second_k3s_bump_during_the_upgrade_is_refused(env):
    env.platform.write_text(env.platform.read_text().replace("  servers: 3", f"  k3sVersion: {NEW}\n  servers: 3"))
    env.suc.ask_for(NEW)
    for _ in range(2):
        env.server.edit(env.suc.step)
    env.suc.paused = True
    result = env.run("upgrade", "apply", "--management", "--to", "v1.34.2+k3s1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --to: v1.34.2+k3s1 refused: the management servers are moving to v1.34.1+k3s1 (upgrading mgmt-control-plane-1"
        " to v1.34.1+k3s1 (0 of 3 servers on it)); a second bump waits until it is done:"
        " `clusterctl-py upgrade apply --management` follows it"
    ]
    assert env.engine.runs == []


def test_a_failed_upgrade_job_stops_following_and_says_the_server_stays_cordoned(env):
    env.suc.fail_on = "mgmt-control-plane-2"  # its job fails (say, the upgrade image cannot be pulled there)
    result = env.run("upgrade", "apply", "--management", "--to", NEW, "--poll", "0")
    assert result.exit_code == 1
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
    assert re.fullmatch(
        r"error: management: the k3s upgrade to v1\.34\.1\+k3s1 failed: Job system-upgrade/apply-k3s-server-on-mgmt-control-plane-2"
        r"-with-\w+ failed on Node mgmt-control-plane-2: BackoffLimitExceeded: Job has reached the specified backoff limit;"
        r" system-upgrade-controller keeps mgmt-control-plane-2 cordoned until a job there completes"
        r" \(`kubectl -n system-upgrade logs -l upgrade\.cattle\.io/plan=k3s-server` says why\);"
        r" fix the cause, then `clusterctl-py upgrade apply --management` follows it again",
        line,
    )
    assert env.servers() == [(SERVERS[0], NEW, False), (SERVERS[1], OLD, True), (SERVERS[2], OLD, False)]


def test_plan_shows_a_k3s_upgrade_in_progress(env):
    env.suc.ask_for(NEW)
    for _ in range(3):
        env.server.edit(env.suc.step)
    env.suc.paused = True
    env.platform.write_text(env.platform.read_text().replace("  servers: 3", f"  k3sVersion: {NEW}\n  servers: 3"))
    result = env.run("upgrade", "plan")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "k3s (management)                  v1.33.4+k3s1, v1.34.1+k3s1  v1.34.1+k3s1  upgrading: the k3s-server Plan reports"
        " Complete=False (SyncJob) (1 of 3 servers on v1.34.1+k3s1); `clusterctl-py upgrade apply --management` follows it"
    )


def test_up_refuses_a_lower_k3s_version_before_anything_runs(env):
    env.platform.write_text(env.platform.read_text().replace("  servers: 3", "  k3sVersion: v1.33.3+k3s1\n  servers: 3"))
    result = CliRunner().invoke(app, ["up", "--skip-preflight", "-f", str(env.platform)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {env.platform}: management.k3sVersion: v1.33.3+k3s1 is older than v1.33.4+k3s1, which the management servers"
        " run; k3s is never downgraded: k3s-upgrade refuses, and its failed job leaves the server cordoned;"
        " allowed: v1.33.4+k3s1 or a newer k3s release of v1.33 or v1.34"
    ]
    assert env.engine.runs == []
    assert env.servers() == [(name, OLD, False) for name in SERVERS]


def test_up_with_a_new_k3s_version_says_who_moves_the_servers(env):
    env.platform.write_text(env.platform.read_text().replace("  servers: 3", f"  k3sVersion: {NEW}\n  servers: 3"))
    result = CliRunner().invoke(app, ["up", "--skip-preflight", "-f", str(env.platform)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "management: system-upgrade-controller moves the k3s servers to v1.34.1+k3s1, one at a time;"
        " `clusterctl-py upgrade apply --management` follows it"
    )


def test_management_and_cluster_are_not_combined(env):
    result = env.run("upgrade", "apply", "--management", "--cluster", "prod")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --management: cannot be combined with --cluster: the management cluster's k3s and a workload cluster are"
        " upgraded one at a time"
    ]


def guide_blocks(heading: str) -> list[list[str]]:
    """The fenced blocks of the section `## <heading>` of docs/day2.md, each as its lines."""
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    section = guide.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1].strip("\n").splitlines() for block in section.split("```")[1::2]]


def test_the_day2_guide_shows_what_upgrade_apply_management_prints(env):
    result = env.run("upgrade", "apply", "--management", "--to", NEW, "--poll", "0")
    assert result.exit_code == 0, result.output
    out = result.stdout.replace(str(env.platform), "platform.yaml").splitlines()
    command, shown, failure = guide_blocks("`upgrade apply --management`: the management cluster's k3s")
    assert command == [f"clusterctl-py upgrade apply --management --to {NEW} -f platform.yaml"]
    assert [re.sub(r" \(\d\d:\d\d elapsed\)$", "", line) for line in shown] == out[:4] + progress(result.stderr) + out[4:]

    env.server.edit(lambda api: api.objects.clear())
    env.server.add(*[suc.upgraded(fx.k3s_server(name, OLD), OLD) for name in SERVERS], suc.plan_object(OLD))
    env.platform.write_text(EXAMPLE.read_text())
    env.suc.fail_on = "mgmt-control-plane-2"
    failed = env.run("upgrade", "apply", "--management", "--to", NEW, "--poll", "0")
    (line,) = [l for l in failed.stderr.splitlines() if l.startswith("error: ")]
    assert failure == [re.sub(r"-with-\w+ failed", "-with-… failed", line)]
