"""Upgrade rules, on observed states: what runs, the next version, refused targets, rollouts and their progress."""

from __future__ import annotations

import pytest

from clusterctl_py import versions
from clusterctl_py.errors import SpecError
from clusterctl_py.ops import upgrade
from clusterctl_py.ops.upgrade import (
    CONTROL_PLANE,
    ClusterState,
    check_target,
    parse,
    plan_cluster,
    plan_management,
    progress,
    render_plan,
    rollout,
)
from clusterctl_py.clients import kube
from tests.conftest import platform
from tests.support import cluster_states as cs
from tests.support import suc
from tests.support.cluster_states import NEW, OLD, kcp, machines, md


def test_supported_patches_cover_exactly_the_supported_minors():
    lo, hi = versions.KUBERNETES_MIN, versions.KUBERNETES_MAX
    assert sorted(versions.KUBERNETES_PATCHES) == [(1, m) for m in range(lo[1], hi[1] + 1)]
    for minor, patch in versions.KUBERNETES_PATCHES.items():
        assert parse(patch)[:2] == minor


# --- a rollout in progress, and how far it got -------------------------------------------


def test_a_steady_cluster_is_not_rolling_out():
    assert rollout(cs.steady()) == upgrade.Rollout(False)


@pytest.mark.parametrize(
    "state, reason",
    [
        # The stack wrote the new version; the controller has not seen it, so every status still looks steady.
        (cs.not_started, "the control plane's change to v1.34.11 is not picked up by its controller yet"),
        (cs.control_plane_half_way, "the control plane is moving from v1.33.4 to v1.34.11 (2 of 3 machines on v1.34.11)"),
        (cs.pools_pending, "MachineDeployment prod-general reports RollingOut=True: Rolling out 2 not up-to-date replicas;"
                           " Version v1.33.4, v1.34.11 required"),
    ],
)
def test_a_rollout_in_progress_says_why(state, reason):
    assert rollout(state()) == upgrade.Rollout(True, reason)


def test_a_machine_left_on_the_old_version_keeps_the_rollout_open_whatever_the_conditions_say():
    state = cs.all_done()
    stale = ClusterState(state.name, state.control_plane, state.deployments, state.machines[:-1] + machines("prod-general", OLD, first=1))
    assert rollout(stale) == upgrade.Rollout(True, "MachineDeployment prod-general: 1 of 2 machines on v1.34.11")


def test_a_control_plane_machine_without_a_node_keeps_the_rollout_open():
    state = cs.all_done()
    joining = ClusterState(state.name, state.control_plane, state.deployments, state.machines + machines(CONTROL_PLANE, None, first=9))
    assert rollout(joining) == upgrade.Rollout(True, "control-plane machine control-plane-9 runs no node yet, not v1.34.11")


def test_machines_up_to_date_false_alone_counts_as_rolling_out():
    # e.g. a template change: versions match, machines are still being replaced.
    state = cs.steady()
    cp = kcp(OLD, OLD, conditions=[cs.not_rolling_out(), cs.up_to_date(False, "prod-control-plane-1")])
    assert rollout(ClusterState("prod", cp, state.deployments, state.machines)) == upgrade.Rollout(
        True, "the control plane reports MachinesUpToDate=False: Machines prod-control-plane-1: NotUpToDate"
    )


@pytest.mark.parametrize(
    "state, lines, done",
    [
        (cs.not_started, ["phase 1/2 control plane: 0/3 machines on v1.34.11", "pool prod-general 0/2 waits for the control plane"], False),
        (cs.control_plane_half_way, ["phase 1/2 control plane: 2/3 machines on v1.34.11", "pool prod-general 0/2 waits for the control plane"], False),
        (cs.pools_pending, ["phase 2/2 pool prod-general: 1/2 machines on v1.34.11", "pool prod-general 1/2"], False),
        (cs.all_done, ["v1.34.11 on every machine", "pool prod-general 2/2 done"], True),
    ],
)
def test_progress_follows_control_plane_then_pools(state, lines, done):
    p = progress(state(), NEW)
    assert p.done is done
    head, pool = lines
    assert p.line("03:20") == f"prod: {head} (03:20 elapsed)"
    phase = p.phases[1]
    text = f"{phase.name} {phase.replaced}/{phase.total}" + (" done" if phase.done else "") + (f" {phase.waiting}" if phase.waiting else "")
    assert text == pool


def test_progress_of_a_version_nobody_asked_for_yet_says_so():
    p = progress(cs.steady(), NEW)
    assert p.line("00:05") == "prod: phase 1/2 control plane: 0/3 machines on v1.34.11, its KubeadmControlPlane still asks for v1.33.4 (00:05 elapsed)"
    assert p.phases[1].waiting == "its MachineDeployment still asks for v1.33.4"


def test_a_pool_scaled_to_zero_is_done_once_it_asks_for_the_version():
    state = cs.all_done()
    empty = md(NEW, replicas=0, status=0, up=0, generation=(2, 2), name="prod-batch")
    p = progress(ClusterState("prod", state.control_plane, (*state.deployments, empty), state.machines), NEW)
    assert p.done and [ph.name for ph in p.phases] == ["control plane", "pool prod-general", "pool prod-batch"]


def test_progress_without_a_control_plane_is_an_error():
    with pytest.raises(upgrade.ClusterctlError, match=r"prod: no KubeadmControlPlane found; the cluster is not created \(`clusterctl-py up --cluster prod`"):
        progress(ClusterState("prod", None), NEW)


# --- the version a cluster may move to ---------------------------------------------------

V1_33_4, V1_34_2 = parse("v1.33.4"), parse("v1.34.2")


@pytest.mark.parametrize(
    "to, lowest, highest, message",
    [
        ("v1.33.2", V1_33_4, V1_33_4,
         "v1.33.2 is older than v1.33.4, which prod runs; Kubernetes is never downgraded (kubeadm cannot); allowed: v1.33.4 to v1.34.11"),
        # What runs decides, not the spec: the pool still on v1.33 bounds the step.
        ("v1.35.0", V1_33_4, V1_34_2,
         "v1.35.0 is 2 minor versions ahead of v1.33.4, the oldest version prod runs (control plane and machines);"
         " upgrades go one minor at a time; allowed: v1.34.2 to v1.34.11"),
        ("v1.34.0", V1_33_4, V1_34_2,
         "v1.34.0 is older than v1.34.2, which prod runs; Kubernetes is never downgraded (kubeadm cannot); allowed: v1.34.2 to v1.34.11"),
        ("v1.34.40", V1_33_4, V1_33_4,
         "v1.34.40 is newer than the newest v1.34 patch clusterctl-py knows (v1.34.11); machines could not install it;"
         " allowed for prod: v1.33.4 to v1.34.11"),
        # The spec's own messages for the format and the supported range.
        ("1.34", V1_33_4, V1_33_4, "'1.34' is not a Kubernetes version like v1.33.4"),
        ("v1.37.0", parse("v1.36.4"), parse("v1.36.4"),
         "Kubernetes v1.37.0 is not supported by Cluster API v1.13.5 with CAPH v1.1.8; allowed: v1.32 to v1.36"),
    ],
)
def test_refused_targets_name_the_value_and_what_is_allowed(to, lowest, highest, message):
    with pytest.raises(SpecError) as info:
        check_target("prod", to, lowest, highest)
    assert [str(p) for p in info.value.problems] == [f"--to: {message}"]
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "to, lowest, highest, accepted",
    [
        ("v1.34.2", V1_33_4, V1_33_4, "v1.34.2"),
        ("1.34.11", V1_33_4, V1_33_4, "v1.34.11"),  # normalised as the spec does
        ("v1.33.9", V1_33_4, V1_33_4, "v1.33.9"),  # a patch of the same minor
        ("v1.34.5", V1_33_4, V1_34_2, "v1.34.5"),  # brings the lagging machines up to the control plane
    ],
)
def test_accepted_targets(to, lowest, highest, accepted):
    assert check_target("prod", to, lowest, highest) == accepted


# --- the plan ----------------------------------------------------------------------------


def cluster_spec(version: str = OLD, name: str = "prod"):
    spec = platform()
    c = spec.clusters[0]
    return c.model_copy(update={"kubernetes_version": version, "name": name})


def lagging() -> ClusterState:
    """The control plane on v1.34.2, the pool still on v1.33.4 (an upgrade stopped half-way long ago)."""
    return ClusterState(
        "prod",
        kcp("v1.34.2", "v1.34.2", conditions=[cs.not_rolling_out(), cs.up_to_date()]),
        (md(OLD, conditions=[cs.not_rolling_out(), cs.up_to_date()]),),
        machines(CONTROL_PLANE, "v1.34.2", "v1.34.2", "v1.34.2") + machines("prod-general", OLD, OLD),
    )


@pytest.mark.parametrize(
    "file_version, state, expected",
    [
        (OLD, cs.steady(), ("v1.33.4", "5 on v1.33.4", "v1.34.11", "")),
        ("v1.36.2", cs.steady("v1.36.2"), ("v1.36.2", "5 on v1.36.2", "v1.36.4", "v1.36 is the newest supported minor; v1.36.4 is a newer patch")),
        ("v1.36.4", cs.steady("v1.36.4"), ("v1.36.4", "5 on v1.36.4", "-", "newest supported version (v1.32 to v1.36)")),
        ("v1.34.2", lagging(), ("v1.34.2", "2 on v1.33.4, 3 on v1.34.2", "v1.34.2",
                                "platform.yaml asks for v1.34.2, not rolled out everywhere yet: machines on v1.33 lag the"
                                " control plane's v1.34, and CAPI creates no new machine for their pools until they catch up"
                                " (kubeadm joins only the control plane's minor); `clusterctl-py upgrade apply --cluster prod`"
                                " rolls it out")),
        (NEW, cs.control_plane_half_way(), ("v1.33.4", "3 on v1.33.4, 2 on v1.34.11", "-",
                                            "rollout in progress: the control plane is moving from v1.33.4 to v1.34.11"
                                            " (2 of 3 machines on v1.34.11); `clusterctl-py upgrade apply --cluster prod` follows it")),
        # Written into the file, never applied: the next apply rolls it out.
        (NEW, cs.steady(), ("v1.33.4", "5 on v1.33.4", "v1.34.11",
                            "platform.yaml asks for v1.34.11, not rolled out everywhere yet; `clusterctl-py upgrade apply --cluster prod` rolls it out")),
        ("v1.35.0", cs.steady(), ("v1.33.4", "5 on v1.33.4", "-",
                                  "platform.yaml asks for v1.35.0, more than one minor ahead of v1.33.4, which runs:"
                                  " set kubernetesVersion to a v1.34 patch")),
        (OLD, cs.all_done(), ("v1.34.11", "5 on v1.34.11", "-",
                              "platform.yaml asks for v1.33.4, older than v1.34.11, which runs; Kubernetes is never downgraded:"
                              " set kubernetesVersion to v1.34.11")),
        (OLD, ClusterState("prod", None), ("-", "none", "-", "not created yet: `clusterctl-py up` creates it")),
    ],
)
def test_plan_per_cluster(file_version, state, expected):
    plan = plan_cluster(cluster_spec(file_version), state)
    assert (plan.name, plan.file_version) == ("prod", file_version)
    assert (plan.control_plane, plan.machines, plan.next, plan.note) == expected


PINNED_PROVIDERS = (
    ("cluster-api", "CoreProvider", "v1.13.5"),
    ("kubeadm", "BootstrapProvider", "v1.13.5"),
    ("kubeadm", "ControlPlaneProvider", "v1.13.5"),
    ("hetzner", "InfrastructureProvider", "v1.1.8"),
    ("helm", "AddonProvider", "v0.6.4"),
)
CERT_MANAGER = (("cert-manager", "v1.21.1"), ("cert-manager-cainjector", "v1.21.1"), ("cert-manager-webhook", "v1.21.1"))


def statuses(state: upgrade.ManagementState) -> dict[str, tuple[str, str, str]]:
    return {row.component: (row.installed, row.pinned, row.status) for row in plan_management(platform(), state)}


def test_management_as_pinned():
    rows = statuses(cs.management(PINNED_PROVIDERS, CERT_MANAGER, (("mgmt-1", "v1.33.4+k3s1"),)))
    assert rows == {
        "cluster-api (CoreProvider)": ("v1.13.5", "v1.13.5", "up to date"),
        "kubeadm (BootstrapProvider)": ("v1.13.5", "v1.13.5", "up to date"),
        "kubeadm (ControlPlaneProvider)": ("v1.13.5", "v1.13.5", "up to date"),
        "hetzner (InfrastructureProvider)": ("v1.1.8", "v1.1.8", "up to date"),
        "helm (AddonProvider)": ("v0.6.4", "v0.6.4", "up to date"),
        "cert-manager": ("v1.21.1", "v1.21.1", "up to date"),
        "k3s (management)": ("v1.33.4+k3s1", "v1.33.4+k3s1", "up to date"),
    }


def test_management_behind_ahead_missing_and_foreign():
    providers = (
        ("cluster-api", "CoreProvider", "v1.12.9"),
        ("kubeadm", "BootstrapProvider", "v1.14.0"),
        ("kubeadm", "ControlPlaneProvider", "v1.13.5"),
        ("hetzner", "InfrastructureProvider", "v1.1.8"),
        ("in-cluster", "IPAMProvider", "v1.0.0"),
    )
    cert_manager = (("cert-manager", "v1.20.3"), ("cert-manager-cainjector", "v1.21.1"), ("cert-manager-webhook", "v1.21.1"))
    rows = statuses(cs.management(providers, cert_manager, (("mgmt-1", "v1.33.4+k3s1"), ("mgmt-2", "v1.33.4+k3s2"))))
    assert rows["cluster-api (CoreProvider)"] == ("v1.12.9", "v1.13.5", "older than pinned")
    assert rows["kubeadm (BootstrapProvider)"] == ("v1.14.0", "v1.13.5", "newer than pinned: this clusterctl-py would move it back")
    assert rows["helm (AddonProvider)"] == ("not installed", "v0.6.4", "missing: `clusterctl-py up` installs it")
    assert rows["in-cluster (IPAMProvider)"] == ("v1.0.0", "-", "not installed by clusterctl-py")
    assert rows["cert-manager"] == (
        "cert-manager v1.20.3, cert-manager-cainjector v1.21.1, cert-manager-webhook v1.21.1", "v1.21.1", "mixed versions"
    )
    # A server already on +k3s2: the file's +k3s1 would be a downgrade.
    assert rows["k3s (management)"] == (
        "v1.33.4+k3s1, v1.33.4+k3s2", "v1.33.4+k3s1",
        "platform.yaml refused: v1.33.4+k3s1 is older than v1.33.4+k3s2, which the management servers run;"
        " k3s is never downgraded: k3s-upgrade refuses, and its failed job leaves the server cordoned;"
        " allowed: v1.33.4+k3s2 or a newer k3s release of v1.33 or v1.34",
    )


@pytest.mark.parametrize(
    "k3s, status",
    [
        ("v1.33.3+k3s1", "older than pinned: `clusterctl-py upgrade apply --management` moves it"),
        # k3s builds compare as numbers: +k3s10 is newer than +k3s1.
        ("v1.33.4+k3s10", "platform.yaml refused: v1.33.4+k3s1 is older than v1.33.4+k3s10, which the management servers run;"
                          " k3s is never downgraded: k3s-upgrade refuses, and its failed job leaves the server cordoned;"
                          " allowed: v1.33.4+k3s10 or a newer k3s release of v1.33 or v1.34"),
        ("v1.31.9+k3s1", "platform.yaml refused: v1.33.4+k3s1 is 2 minor versions ahead of v1.31.9+k3s1, the oldest k3s a management"
                         " server runs; k3s upgrades go one minor at a time (Kubernetes version skew policy);"
                         " allowed: v1.31.9+k3s1 or a newer k3s release of v1.31 or v1.32;"
                         " outside Cluster API v1.13.5's management range v1.32 to v1.36"),
    ],
)
def test_management_k3s_against_the_spec(k3s, status):
    assert statuses(cs.management(PINNED_PROVIDERS, CERT_MANAGER, (("mgmt-1", k3s),)))["k3s (management)"][2] == status


def test_cert_manager_without_version_labels_is_unknown():
    rows = statuses(cs.management(PINNED_PROVIDERS, (("cert-manager", None), ("cert-manager-webhook", "v1.21.1")), ()))
    assert rows["cert-manager"] == ("unknown", "v1.21.1", "no app.kubernetes.io/version label on cert-manager")
    assert rows["k3s (management)"] == ("no server found", "v1.33.4+k3s1", "unknown")


def test_the_rendered_plan():
    clusters = [plan_cluster(cluster_spec(OLD), cs.steady()), plan_cluster(cluster_spec("v1.36.4", "edge"), cs.steady("v1.36.4", "edge"))]
    management = plan_management(platform(), cs.management(PINNED_PROVIDERS[:4], CERT_MANAGER, (("mgmt-1", "v1.33.4+k3s1"),)))
    assert render_plan(clusters, management) == [
        "Workload clusters (supported: v1.32 to v1.36, one minor at a time, control plane first):",
        "CLUSTER  FILE     CONTROL PLANE  MACHINES      NEXT      NOTE",
        "prod     v1.33.4  v1.33.4        5 on v1.33.4  v1.34.11",
        "edge     v1.36.4  v1.36.4        5 on v1.36.4  -         newest supported version (v1.32 to v1.36)",
        "",
        "Management cluster (pinned: Cluster API v1.13.5, CAPH v1.1.8, CAAPH v0.6.4):",
        "COMPONENT                         INSTALLED      PINNED        STATUS",
        "cluster-api (CoreProvider)        v1.13.5        v1.13.5       up to date",
        "kubeadm (BootstrapProvider)       v1.13.5        v1.13.5       up to date",
        "kubeadm (ControlPlaneProvider)    v1.13.5        v1.13.5       up to date",
        "hetzner (InfrastructureProvider)  v1.1.8         v1.1.8        up to date",
        "helm (AddonProvider)              not installed  v0.6.4        missing: `clusterctl-py up` installs it",
        "cert-manager                      v1.21.1        v1.21.1       up to date",
        "k3s (management)                  v1.33.4+k3s1   v1.33.4+k3s1  up to date",
    ]


def test_every_machine_on_the_target_is_not_done_while_a_controller_still_rolls_out():
    state = cs.all_done()
    busy = ClusterState("prod", kcp(NEW, NEW, generation=(2, 2), conditions=[cs.rolling_out(1, NEW, NEW)]), state.deployments, state.machines)
    p = progress(busy, NEW)
    assert not p.done
    assert p.line("10:00") == (
        "prod: v1.34.11 on every machine; waiting for the controllers: the control plane reports RollingOut=True:"
        " Rolling out 1 not up-to-date replicas; Version v1.34.11, v1.34.11 required (10:00 elapsed)"
    )


# --- bump, resume or refuse --------------------------------------------------------------

next_step = upgrade.next_step


def test_a_steady_cluster_is_bumped_one_minor():
    assert next_step(cluster_spec(OLD), cs.steady(), None) == upgrade.Step(NEW, True, True, "prod: v1.33.4 -> v1.34.11")
    assert next_step(cluster_spec(OLD), cs.steady(), "v1.34.2") == upgrade.Step("v1.34.2", True, True, "prod: v1.33.4 -> v1.34.2")


def test_a_second_bump_during_a_rollout_is_refused():
    # `apply` wrote v1.34.11 and the control plane is half-way; a new --to must wait.
    with pytest.raises(SpecError) as info:
        next_step(cluster_spec(NEW), cs.control_plane_half_way(), "v1.35.0")
    assert [str(p) for p in info.value.problems] == [
        "--to: v1.35.0 refused: prod is rolling out v1.34.11 (the control plane is moving from v1.33.4 to v1.34.11"
        " (2 of 3 machines on v1.34.11)); a second bump waits until it is done:"
        " `clusterctl-py upgrade apply --cluster prod` follows it"
    ]
    assert info.value.exit_code == 2


def test_a_second_bump_written_into_the_file_during_a_rollout_is_refused():
    with pytest.raises(SpecError) as info:
        next_step(cluster_spec("v1.35.0"), cs.pools_pending(), None)
    (problem,) = info.value.problems
    assert problem.path == "clusters[name=prod].kubernetesVersion"
    assert problem.message.startswith("v1.35.0 refused: prod is rolling out v1.34.11 (MachineDeployment prod-general reports RollingOut=True")
    assert problem.message.endswith("set it back to v1.34.11 until that is done")


@pytest.mark.parametrize("state", [cs.not_started, cs.control_plane_half_way, cs.pools_pending])
def test_apply_again_during_a_rollout_follows_it_without_bumping(state):
    step = next_step(cluster_spec(NEW), state(), None)
    assert (step.target, step.write, step.run_stack) == (NEW, False, False)
    assert step.message.startswith("prod: resuming the rollout of v1.34.11: ")
    # Naming the version that rolls out is the same request.
    assert next_step(cluster_spec(NEW), state(), NEW) == step


def test_a_version_written_but_never_applied_is_applied_then_followed():
    # Interrupted between writing platform.yaml and running the stack.
    step = next_step(cluster_spec(NEW), cs.steady(), None)
    assert step == upgrade.Step(NEW, False, True, "prod: rolling out v1.34.11, which platform.yaml already asks for")
    with pytest.raises(SpecError, match=r"--to: v1.34.2 refused: platform.yaml asks prod for v1.34.11, which is not rolled out"):
        next_step(cluster_spec(NEW), cs.steady(), "v1.34.2")


def test_a_file_two_minors_ahead_is_refused_with_its_field():
    with pytest.raises(SpecError) as info:
        next_step(cluster_spec("v1.35.0"), cs.steady(), None)
    assert [str(p) for p in info.value.problems] == [
        "clusters[name=prod].kubernetesVersion: v1.35.0 is 2 minor versions ahead of v1.33.4, the oldest version prod runs"
        " (control plane and machines); upgrades go one minor at a time; allowed: v1.33.4 to v1.34.11"
    ]


def test_a_file_behind_what_runs_is_refused():
    with pytest.raises(SpecError) as info:
        next_step(cluster_spec(OLD), cs.all_done(), None)
    assert [str(p) for p in info.value.problems] == [
        "clusters[name=prod].kubernetesVersion: v1.33.4 is older than v1.34.11, which prod runs;"
        " Kubernetes is never downgraded: set it to v1.34.11 or newer"
    ]


def test_nothing_to_do():
    # Run twice with the same --to: the second run has nothing left to do.
    assert next_step(cluster_spec(NEW), cs.all_done(), NEW) == upgrade.Step(
        None, False, False, "prod already runs v1.34.11 on every machine; nothing to upgrade"
    )
    assert next_step(cluster_spec(NEW), cs.all_done(), None).target == "v1.35.9"
    assert next_step(cluster_spec("v1.36.4"), cs.steady("v1.36.4"), None) == upgrade.Step(
        None, False, False, "prod runs v1.36.4, the newest supported version; nothing to upgrade"
    )


def test_a_cluster_that_is_not_there_cannot_be_upgraded():
    with pytest.raises(upgrade.ClusterctlError) as info:
        next_step(cluster_spec(OLD), ClusterState("prod", None), None)
    assert str(info.value) == "prod: no KubeadmControlPlane found; the cluster is not created (`clusterctl-py up --cluster prod` creates it)"
    assert info.value.exit_code == 1


def test_follow_says_each_change_once_and_again_when_quiet_for_long():
    stages = iter([cs.not_started(), cs.not_started(), cs.not_started(), cs.control_plane_half_way(), cs.all_done()])

    class Reader:
        def cluster(self, name, namespace):
            return next(stages)

    now = [0.0]
    said = []

    def sleep(seconds):
        now[0] += seconds

    done = upgrade.follow(Reader(), cluster_spec(NEW), NEW, said.append, poll=200, quiet=300, clock=lambda: now[0], sleep=sleep)
    assert done.done
    assert said == [
        "prod: phase 1/2 control plane: 0/3 machines on v1.34.11 (00:00 elapsed)",
        # Unchanged at 200 s; at 400 s it has been quiet for 300 s: said again.
        "prod: phase 1/2 control plane: 0/3 machines on v1.34.11 (06:40 elapsed)",
        "prod: phase 1/2 control plane: 2/3 machines on v1.34.11 (10:00 elapsed)",
        "prod: v1.34.11 on every machine (13:20 elapsed)",
    ]


# --- the management cluster's k3s --------------------------------------------------------

K3S_OLD, K3S_NEW = "v1.33.4+k3s1", "v1.34.1+k3s1"
SERVERS = ("mgmt-control-plane-1", "mgmt-control-plane-2", "mgmt-control-plane-3")


def k3s_state(*kubelets: str, plan: str | None = K3S_OLD, plan_state: str = "complete", applying=(), failed_node=None, resolved=True):
    """Three servers running `kubelets`, and the k3s-server Plan as SUC keeps it (tests/support/suc.py)."""
    obj = None
    if plan is not None:
        obj = suc.plan_object(plan, state=plan_state, applying=tuple(applying), failed_node=failed_node)
        if not resolved:  # the stack changed spec.version; SUC has not seen it yet
            obj["status"]["latestVersion"] = K3S_OLD.replace("+", "-")
    return cs.k3s(zip(SERVERS, kubelets), kube.parse(obj) if obj else None)


def management_spec(k3s_version: str = K3S_OLD):
    spec = platform()
    return spec.model_copy(update={"management": spec.management.model_copy(update={"k3s_version": k3s_version})})


@pytest.mark.parametrize(
    "state, reason",
    [
        (k3s_state(K3S_OLD, K3S_OLD, K3S_OLD, plan=K3S_NEW, resolved=False),
         "system-upgrade-controller has not taken up the Plan's v1.34.1+k3s1 yet"),
        (k3s_state(K3S_OLD, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="resolved"),
         "the k3s-server Plan reports Complete=False (Resolved) (0 of 3 servers on v1.34.1+k3s1)"),
        (k3s_state(K3S_NEW, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="applying", applying=[SERVERS[1]]),
         "upgrading mgmt-control-plane-2 to v1.34.1+k3s1 (1 of 3 servers on it)"),
        (k3s_state(K3S_NEW, K3S_NEW, K3S_OLD, plan=K3S_NEW),  # Complete, but the last kubelet has not restarted yet
         "2 of 3 servers report v1.34.1+k3s1"),
    ],
)
def test_a_k3s_upgrade_in_progress_says_why(state, reason):
    assert upgrade.k3s_rollout(state) == upgrade.Rollout(True, reason)


def test_a_complete_or_failed_plan_is_no_k3s_upgrade_in_progress():
    assert upgrade.k3s_rollout(k3s_state(K3S_OLD, K3S_OLD, K3S_OLD)) == upgrade.Rollout(False)
    failed = k3s_state(K3S_NEW, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="failed", failed_node=SERVERS[1])
    assert upgrade.k3s_rollout(failed) == upgrade.Rollout(False)


def test_k3s_moves_to_the_pinned_release_or_the_one_asked_for():
    steady = k3s_state(K3S_OLD, K3S_OLD, K3S_OLD)
    assert upgrade.k3s_step(management_spec(), steady, None) == upgrade.Step(
        None, False, False, "management k3s runs v1.33.4+k3s1, not older than the pinned v1.33.4+k3s1;"
        " nothing to upgrade (`--to` picks a newer k3s release)"
    )
    assert upgrade.k3s_step(management_spec(), steady, K3S_NEW) == upgrade.Step(
        K3S_NEW, True, True, "management: k3s v1.33.4+k3s1 -> v1.34.1+k3s1"
    )
    assert upgrade.k3s_step(management_spec(), steady, "v1.33.4+k3s2").target == "v1.33.4+k3s2"


@pytest.mark.parametrize(
    "to, message",
    [
        ("v1.33.4+k3s0", "--to: v1.33.4+k3s0 is older than v1.33.4+k3s1, which the management servers run; k3s is never"
                         " downgraded: k3s-upgrade refuses, and its failed job leaves the server cordoned;"
                         " allowed: v1.33.4+k3s1 or a newer k3s release of v1.33 or v1.34"),
        ("v1.32.9+k3s1", "--to: v1.32.9+k3s1 is older than v1.33.4+k3s1, which the management servers run; k3s is never"
                         " downgraded: k3s-upgrade refuses, and its failed job leaves the server cordoned;"
                         " allowed: v1.33.4+k3s1 or a newer k3s release of v1.33 or v1.34"),
        ("v1.35.2+k3s1", "--to: v1.35.2+k3s1 is 2 minor versions ahead of v1.33.4+k3s1, the oldest k3s a management server runs;"
                         " k3s upgrades go one minor at a time (Kubernetes version skew policy);"
                         " allowed: v1.33.4+k3s1 or a newer k3s release of v1.33 or v1.34"),
        ("v1.34.1", "--to: 'v1.34.1' is not a k3s release like v1.33.4+k3s1"),
    ],
)
def test_refused_k3s_targets_name_the_rule(to, message):
    with pytest.raises(SpecError) as err:
        upgrade.k3s_step(management_spec(), k3s_state(K3S_OLD, K3S_OLD, K3S_OLD), to)
    assert str(err.value) == message


def test_a_lower_k3s_version_in_the_file_is_refused():
    with pytest.raises(SpecError) as err:
        upgrade.k3s_step(management_spec("v1.33.3+k3s1"), k3s_state(K3S_OLD, K3S_OLD, K3S_OLD), None)
    assert str(err.value).startswith(
        "management.k3sVersion: v1.33.3+k3s1 is older than v1.33.4+k3s1, which the management servers run; k3s is never downgraded"
    )


def test_a_k3s_version_written_but_not_applied_is_applied_then_followed():
    step = upgrade.k3s_step(management_spec(K3S_NEW), k3s_state(K3S_OLD, K3S_OLD, K3S_OLD), None)
    assert step == upgrade.Step(K3S_NEW, False, True, "management: moving k3s to v1.34.1+k3s1, which platform.yaml already asks for")


def test_a_k3s_upgrade_in_progress_is_followed_and_a_second_bump_refused():
    busy = k3s_state(K3S_NEW, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="applying", applying=[SERVERS[1]])
    assert upgrade.k3s_step(management_spec(K3S_NEW), busy, None) == upgrade.Step(
        K3S_NEW, False, False, "management: resuming the k3s upgrade to v1.34.1+k3s1:"
        " upgrading mgmt-control-plane-2 to v1.34.1+k3s1 (1 of 3 servers on it)"
    )
    with pytest.raises(SpecError) as err:
        upgrade.k3s_step(management_spec(K3S_NEW), busy, "v1.34.2+k3s1")
    assert str(err.value) == (
        "--to: v1.34.2+k3s1 refused: the management servers are moving to v1.34.1+k3s1 (upgrading mgmt-control-plane-2 to"
        " v1.34.1+k3s1 (1 of 3 servers on it)); a second bump waits until it is done:"
        " `clusterctl-py upgrade apply --management` follows it"
    )
    with pytest.raises(SpecError) as err:
        upgrade.k3s_step(management_spec("v1.34.2+k3s1"), busy, None)
    assert str(err.value).startswith("management.k3sVersion: v1.34.2+k3s1 refused: the management servers are moving to v1.34.1+k3s1")


def test_without_system_upgrade_controller_k3s_cannot_move():
    with pytest.raises(upgrade.ClusterctlError) as err:
        upgrade.k3s_step(management_spec(), k3s_state(K3S_OLD, K3S_OLD, K3S_OLD, plan=None), K3S_NEW)
    assert str(err.value) == (
        "management: system-upgrade-controller's Plan system-upgrade/k3s-server is not there;"
        " `clusterctl-py up` installs it with Cluster API (the capi stack)"
    )


def test_k3s_progress_counts_servers_and_waits_for_the_plan_to_complete():
    half = upgrade.k3s_progress(k3s_state(K3S_NEW, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="applying", applying=[SERVERS[1]]), K3S_NEW)
    assert half.line("01:00") == "management: phase 1/1 k3s servers: 1/3 servers on v1.34.1+k3s1 (01:00 elapsed)"
    settling = upgrade.k3s_progress(k3s_state(K3S_NEW, K3S_NEW, K3S_NEW, plan=K3S_NEW, plan_state="applying", applying=[SERVERS[2]]), K3S_NEW)
    assert not settling.done and settling.settling == "upgrading mgmt-control-plane-3 to v1.34.1+k3s1 (3 of 3 servers on it)"
    assert upgrade.k3s_progress(k3s_state(K3S_NEW, K3S_NEW, K3S_NEW, plan=K3S_NEW), K3S_NEW).done
    before = upgrade.k3s_progress(k3s_state(K3S_OLD, K3S_OLD, K3S_OLD), K3S_NEW)
    assert before.line("00:00") == (
        "management: phase 1/1 k3s servers: 0/3 servers on v1.34.1+k3s1, its Plan still asks for v1.33.4+k3s1 (00:00 elapsed)"
    )


def test_a_failed_k3s_upgrade_stops_following_and_says_the_server_stays_cordoned():
    failed = k3s_state(K3S_NEW, K3S_OLD, K3S_OLD, plan=K3S_NEW, plan_state="failed", failed_node=SERVERS[1])
    with pytest.raises(upgrade.K3sUpgradeFailed) as err:
        upgrade.k3s_progress(failed, K3S_NEW)
    message = str(err.value)
    assert message.startswith(
        "management: the k3s upgrade to v1.34.1+k3s1 failed: Job system-upgrade/apply-k3s-server-on-mgmt-control-plane-2-with-"
    )
    assert message.endswith(
        " failed on Node mgmt-control-plane-2: BackoffLimitExceeded: Job has reached the specified backoff limit;"
        " system-upgrade-controller keeps mgmt-control-plane-2 cordoned until a job there completes"
        " (`kubectl -n system-upgrade logs -l upgrade.cattle.io/plan=k3s-server` says why);"
        " fix the cause, then `clusterctl-py upgrade apply --management` follows it again"
    )
