"""Kubernetes upgrades of workload clusters and of the management k3s: what runs, what may come next, how far a rollout got.

Pure functions over what the management cluster shows (the Kubernetes
client's records, read by `ApiReader` behind `ObservedState`), so every rule
is tested on observed states without a cluster; `apply`, `apply_k3s` and the
`up` hooks (`watching_up`, `wait_after_up`) put them to work:

- What runs is the lowest version among the control plane and the
  machines' kubelets, not the version in platform.yaml, nor the
  KubeadmControlPlane's spec: its webhook compares a new version with the
  old spec only (kubernetes-sigs/cluster-api
  controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go
  validateVersion), so a second bump during a rollout would pass it.
- One minor at a time, never down: kubeadm upgrades one minor per step and
  has no downgrade; the control plane goes first, and kubelets may lag it but
  never lead it (https://kubernetes.io/releases/version-skew-policy/#kubelet).
- Targets stay inside what the pinned CAPI and CAPH support
  (clusterctl_py/versions.py) and at or below the newest patch known there.
- The management servers move through system-upgrade-controller's
  k3s-server Plan, never to a lower k3s: rancher/k3s-upgrade
  scripts/upgrade.sh refuses a downgrade and its failed job leaves the
  server cordoned (see check_k3s_target).
"""

from __future__ import annotations

import re
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from pydantic import TypeAdapter, ValidationError

from clusterctl_py import spec_edit, versions
from clusterctl_py.clients.errors import ClientError, NotFound, Unavailable
from clusterctl_py.clients.kube import (
    Condition,
    ControlPlane,
    Deployment,
    Kubeconfig,
    KubernetesApi,
    Machine,
    MachineDeployment,
    Node,
    Provider,
    UpgradePlan,
    find,
)
from clusterctl_py.errors import ClusterctlError, Problem, SpecError
from clusterctl_py.ops.access import NoManagementApi, management_kubeconfig
from clusterctl_py.render import k3s_upgrade
from clusterctl_py.render.capi_components import CERT_MANAGER_NAMESPACE, PROVIDERS
from clusterctl_py.render.cluster import control_plane_name
from clusterctl_py.spec import K3sVersion, KubernetesVersion

if TYPE_CHECKING:
    from pathlib import Path

    from clusterctl_py.ops.engine import StackEngine
    from clusterctl_py.spec import ClusterSpec, PlatformSpec

CONTROL_PLANE = "control-plane"  # the group of control-plane machines (_group)

Version = tuple[int, int, int]
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


def parse(text: str) -> Version | None:
    """(major, minor, patch) of `v1.33.4`, `v1.33.4+k3s1`; None if it is no version."""
    m = _VERSION.match(text.strip()) if text else None
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def show(version: Version) -> str:
    return "v{}.{}.{}".format(*version)


def _minor(version: Version) -> str:
    return f"v{version[0]}.{version[1]}"


# --- what the management cluster shows ------------------------------------------------
# The records are the Kubernetes client's own dataclasses (clusterctl_py/clients/kube.py):
# KubeadmControlPlane as ControlPlane, MachineDeployment, Machine, clusterctl's Provider,
# cert-manager's Deployments and the management Nodes.


def _group(machine: Machine) -> str:
    """CONTROL_PLANE, or the MachineDeployment the machine belongs to (its deployment-name label)."""
    return CONTROL_PLANE if machine.control_plane else (machine.deployment or "")


def _seen(obj: ControlPlane | MachineDeployment) -> bool:
    """Has the controller seen the object's last change (status.observedGeneration >= metadata.generation)?"""
    if obj.generation is None:
        return True
    return obj.observed_generation is not None and obj.observed_generation >= obj.generation


@dataclass(frozen=True)
class ClusterState:
    name: str
    control_plane: ControlPlane | None  # None: no KubeadmControlPlane (the cluster is not created)
    deployments: tuple[MachineDeployment, ...] = ()
    machines: tuple[Machine, ...] = ()


@dataclass(frozen=True)
class K3sState:
    """The management cluster's k3s: its servers and system-upgrade-controller's server Plan."""

    # The k3s servers, whose kubelets report the k3s version (v1.33.5+k3s1).
    servers: tuple[Node, ...]
    # The k3s-server Plan (render/k3s_upgrade.py); None where system-upgrade-controller is not installed.
    plan: UpgradePlan | None = None


@dataclass(frozen=True)
class ManagementState:
    providers: tuple[Provider, ...]
    # cert-manager's Deployments (their app.kubernetes.io/version label says the version).
    cert_manager: tuple[Deployment, ...]
    k3s: K3sState


class ObservedState(Protocol):
    """What the management cluster shows; one read per call, never cached (rollouts move)."""

    def management(self) -> ManagementState: ...

    def k3s(self) -> K3sState: ...

    def cluster(self, name: str, namespace: str) -> ClusterState: ...


class ApiReader:
    """`ObservedState` from the management cluster's API.

    A cluster costs 3 requests, whatever its size: its KubeadmControlPlane,
    then its MachineDeployments and Machines each listed once with the label
    `cluster.x-k8s.io/cluster-name`. k3s costs 2: the servers and the
    k3s-server Plan; the management cluster 2 more: the Provider inventory and
    cert-manager's Deployments.
    """

    def __init__(self, api: KubernetesApi, spec: PlatformSpec):
        self.api = api
        self.spec = spec

    def cluster(self, name: str, namespace: str) -> ClusterState:
        try:
            cp = self.api.kubeadm_control_plane(namespace, control_plane_name(self.spec.cluster(name)))
        except NotFound:
            return ClusterState(name, None)
        return ClusterState(name, cp, tuple(self.api.machine_deployments(namespace, name)), tuple(self.api.machines(namespace, name)))

    def management(self) -> ManagementState:
        return ManagementState(tuple(self.api.providers()), tuple(self.api.deployments(CERT_MANAGER_NAMESPACE)), self.k3s())

    def k3s(self) -> K3sState:
        # The servers, as the k3s server Plan selects them (k3s labels them control-plane "true").
        servers = tuple(self.api.nodes(label_selector=f"{k3s_upgrade.CONTROL_PLANE_LABEL}=true"))
        try:
            plan = self.api.upgrade_plan(k3s_upgrade.NAMESPACE, k3s_upgrade.SERVER_PLAN)
        except NotFound:
            plan = None
        return K3sState(servers, plan)


def default_reader(spec: PlatformSpec, api: KubernetesApi) -> ObservedState:
    """The reader of `spec`'s management cluster through `api`."""
    return ApiReader(api, spec)


# --- what runs -------------------------------------------------------------------------


class NotCreated(ClusterctlError):
    """The cluster has no KubeadmControlPlane: `up` has not created it."""


def _not_created(name: str) -> NotCreated:
    return NotCreated(f"{name}: no KubeadmControlPlane found; the cluster is not created (`clusterctl-py up --cluster {name}` creates it)")


def _said(c: Condition) -> str:
    """A condition's message on one line (CAPI writes "Rolling out 2 ...\\n* Version v1.33.4, v1.34.2 required")."""
    lines = [line.strip().removeprefix("* ") for line in c.message.splitlines() if line.strip()]
    return "; ".join(lines) or c.reason


def _wanted(cp: ControlPlane, machines: list[Machine]) -> int:
    """How many machines the control plane wants: spec.replicas (CAPI defaults it), else as many as it has."""
    return cp.replicas.desired if cp.replicas.desired is not None else len(machines)


def running_versions(state: ClusterState) -> list[Version]:
    """Every version the cluster runs: the control plane's oldest, and each machine's kubelet."""
    found = []
    if state.control_plane is not None and state.control_plane.status_version:
        found.append(parse(state.control_plane.status_version))
    found += [parse(m.kubelet_version) for m in state.machines if m.kubelet_version]
    return [v for v in found if v is not None]


@dataclass(frozen=True)
class Rollout:
    in_progress: bool
    reason: str = ""  # why it is in progress, for a user


def _on(machines: list[Machine], version: Version) -> int:
    return sum(1 for m in machines if m.kubelet_version and parse(m.kubelet_version) == version)


def rollout(state: ClusterState) -> Rollout:
    """Whether machines are being replaced, and why that is the conclusion.

    Read from the v1beta2 status of the KubeadmControlPlane and the
    MachineDeployments (status.version, upToDateReplicas and the
    RollingOut / MachinesUpToDate conditions: kubernetes-sigs/cluster-api
    api/controlplane/kubeadm/v1beta2/kubeadm_control_plane_types.go,
    api/core/v1beta2/machinedeployment_types.go), and from the machines'
    kubelets, so a change not yet picked up by a controller counts too.
    """
    cp = state.control_plane
    if cp is None:
        return Rollout(False)
    cp_machines = [m for m in state.machines if _group(m) == CONTROL_PLANE]
    want = parse(cp.version)
    if not _seen(cp):
        return Rollout(True, f"the control plane's change to {cp.version} is not picked up by its controller yet")
    if not cp.status_version:
        return Rollout(True, "the control plane has no machine running yet")
    if parse(cp.status_version) != want:
        on = _on(cp_machines, want) if want else 0
        return Rollout(
            True,
            f"the control plane is moving from {cp.status_version} to {cp.version}"
            f" ({on} of {_wanted(cp, cp_machines)} machines on {cp.version})",
        )
    for kind, status in (("RollingOut", "True"), ("MachinesUpToDate", "False")):
        c = find(cp.conditions, kind)
        if c is not None and c.status == status:
            return Rollout(True, f"the control plane reports {kind}={status}: {_said(c)}")
    for m in cp_machines:
        if m.kubelet_version is None or parse(m.kubelet_version) != want:
            return Rollout(True, f"control-plane machine {m.name} runs {m.kubelet_version or 'no node yet'}, not {cp.version}")
    for md in state.deployments:
        mine = [m for m in state.machines if _group(m) == md.name]
        md_want = parse(md.version)
        if not _seen(md):
            return Rollout(True, f"the change of MachineDeployment {md.name} to {md.version} is not picked up by its controller yet")
        for kind, status in (("RollingOut", "True"), ("MachinesUpToDate", "False")):
            c = find(md.conditions, kind)
            if c is not None and c.status == status:
                return Rollout(True, f"MachineDeployment {md.name} reports {kind}={status}: {_said(c)}")
        up, current = md.replicas.up_to_date, md.replicas.current
        if up is not None and current is not None and up < current:
            return Rollout(True, f"MachineDeployment {md.name} has {up} of {current} machines up to date")
        behind = [m for m in mine if m.kubelet_version and parse(m.kubelet_version) != md_want]
        if behind:
            return Rollout(
                True, f"MachineDeployment {md.name}: {len(mine) - len(behind)} of {len(mine)} machines on {md.version}"
            )
    return Rollout(False)


# --- following a rollout -------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str  # "control plane" or "pool <MachineDeployment>"
    replaced: int  # machines whose kubelet runs the target
    total: int  # machines wanted
    done: bool
    waiting: str = ""  # why it has not started


@dataclass(frozen=True)
class Progress:
    cluster: str
    target: str
    phases: tuple[Phase, ...]
    settling: str = ""  # what the controllers still report once every machine runs the target
    unit: str = "machine"  # what is counted: machines of a workload cluster, k3s servers

    @property
    def done(self) -> bool:
        return all(p.done for p in self.phases) and not self.settling

    @property
    def current(self) -> Phase | None:
        return next((p for p in self.phases if not p.done), None)

    def line(self, elapsed: str) -> str:
        phase = self.current
        if phase is None:
            settling = f"; waiting for the controllers: {self.settling}" if self.settling else ""
            return f"{self.cluster}: {self.target} on every {self.unit}{settling} ({elapsed} elapsed)"
        step = f"phase {self.phases.index(phase) + 1}/{len(self.phases)} {phase.name}"
        what = f"{phase.replaced}/{phase.total} {self.unit}s on {self.target}"
        return f"{self.cluster}: {step}: {what}{', ' + phase.waiting if phase.waiting else ''} ({elapsed} elapsed)"


def progress(state: ClusterState, target: str) -> Progress:
    """How far the rollout to `target` got: the control plane first, then each pool.

    Resumable by construction: it reads only what the cluster shows. A phase
    is done when its object asks for `target`, its controller saw that, and
    every one of its machines runs it (old ones gone), as many as it wants.
    """
    want = parse(target)
    phases = []
    cp = state.control_plane
    if cp is None:
        raise _not_created(state.name)
    cp_machines = [m for m in state.machines if _group(m) == CONTROL_PLANE]
    cp_on = _on(cp_machines, want)
    cp_done = (
        parse(cp.version) == want
        and _seen(cp)
        and cp.status_version is not None
        and parse(cp.status_version) == want
        and cp_on == len(cp_machines) >= _wanted(cp, cp_machines)
    )
    cp_waiting = "" if parse(cp.version) == want else f"its KubeadmControlPlane still asks for {cp.version}"
    phases.append(Phase("control plane", cp_on, _wanted(cp, cp_machines), cp_done, cp_waiting))
    for md in state.deployments:
        mine = [m for m in state.machines if _group(m) == md.name]
        on = _on(mine, want)
        total = md.replicas.desired if md.replicas.desired is not None else (md.replicas.current or 0)
        done = parse(md.version) == want and _seen(md) and on == len(mine) >= total
        if parse(md.version) != want:
            waiting = f"its MachineDeployment still asks for {md.version}"
        elif not cp_done and not done:
            # CAPI v1.13's MachineSet preflight checks hold workers until the control plane is done
            # (internal/controllers/machineset/machineset_preflight.go).
            waiting = "waits for the control plane"
        else:
            waiting = ""
        phases.append(Phase(f"pool {md.name}", on, total, done, waiting))
    settling = rollout(state).reason if all(p.done for p in phases) else ""
    return Progress(state.name, target, tuple(phases), settling)


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


def follow(
    reader: ObservedState,
    cluster: ClusterSpec,
    target: str,
    say: Callable[[str], None],
    **options,
) -> Progress:
    """Read the cluster every `poll` seconds until `target` runs on every machine (see `watch`)."""
    return watch(lambda: progress(reader.cluster(cluster.name, cluster.ns), target), f"--cluster {cluster.name}", say, **options)


def watch(
    look: Callable[[], Progress],
    again: str,
    say: Callable[[str], None],
    *,
    poll: float = 20.0,
    timeout: float = 3 * 3600.0,
    quiet: float = 300.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Progress:
    """`look()` every `poll` seconds until the progress it reads is done.

    `say` gets a line when the progress changes, and every `quiet` seconds
    while it does not (so a long drain still shows signs of life). Past
    `timeout` the rollout goes on in the cluster, and following it ends with
    an error that says how to follow it again (`upgrade apply {again}`).
    """
    started = clock()
    shown: tuple | None = None
    last = started
    while True:
        now = look()
        elapsed = clock() - started
        key = (now.current, now.settling)
        if key != shown or clock() - last >= quiet:
            say(now.line(_elapsed(elapsed)))
            shown, last = key, clock()
        if now.done:
            return now
        if elapsed >= timeout:
            raise ClusterctlError(
                f"{now.cluster}: {now.target} is still rolling out after {int(timeout // 60)} minutes"
                f" ({now.line(_elapsed(elapsed))}); it goes on in the cluster:"
                f" `clusterctl-py upgrade apply {again}` follows it again"
            )
        sleep(poll)


class Interrupted(ClusterctlError):
    """Following stopped (Ctrl-C); the rollout itself goes on in the cluster."""

    exit_code = 130


class Stacks(Protocol):
    """How `apply` runs a cluster's stack: the path of `up --cluster NAME`."""

    def prepare(self, spec: PlatformSpec, cluster: str | None) -> None:
        """Check every prerequisite (token, pulumi, organisation); nothing is touched yet."""

    def up(self, spec: PlatformSpec, cluster: str) -> None:
        """Apply the cluster's stack; raise if it failed."""

    def up_capi(self, spec: PlatformSpec) -> None:
        """Apply the capi stack (system-upgrade-controller's k3s-server Plan); raise if it failed."""


def apply(
    file: Path,
    spec: PlatformSpec,
    clusters: list[str],
    to: str | None,
    reader: ObservedState,
    stacks: Stacks,
    say: Callable[[str], None],
    note: Callable[[str], None],
    *,
    poll: float = 20.0,
    timeout: float = 3 * 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Upgrade `clusters` one after the other: write the version, apply the stack, follow the rollout.

    Every refusal comes before anything is touched; each part already done
    (file written, stack applied, machines replaced) is skipped, so running
    it again after an interruption resumes. `say` gets results, `note` the
    progress lines.
    """

    def step(name: str, to: str | None) -> Step:
        c = spec.cluster(name)
        return next_step(c, reader.cluster(c.name, c.ns), to)

    steps: dict[str, Step] = {}
    for name in clusters:
        try:
            steps[name] = step(name, to)
        except NotCreated as exc:
            if len(clusters) == 1:
                raise
            # Upgrading every cluster: one that `up` has not created yet has nothing to upgrade.
            steps[name] = Step(None, False, False, f"{exc}; skipped")
    for name in clusters:
        if steps[name].target is None:
            say(steps[name].message)
    todo = [name for name in clusters if steps[name].target is not None]
    prepared = False
    if any(steps[name].write or steps[name].run_stack for name in todo):
        stacks.prepare(spec, clusters[0] if len(clusters) == 1 else None)
        prepared = True
    for i, name in enumerate(todo):
        # Later clusters may have moved while the one before rolled out: decided again, for the same target.
        now = step(name, steps[name].target) if i else steps[name]
        say(now.message)
        if now.target is None:
            continue
        if now.write:
            edited = spec_edit.prepare(file, [spec_edit.Edit(f"clusters[name={name}].kubernetesVersion", now.target)])
            spec_edit.write(edited)
            spec = edited.spec
            say(f"{file}: clusters[name={name}].kubernetesVersion set to {now.target}")
        if now.run_stack:
            if not prepared:
                stacks.prepare(spec, name)
                prepared = True
            stacks.up(spec, name)
        _follow_to_the_end(reader, spec.cluster(name), now.target, note, poll=poll, timeout=timeout, sleep=sleep)
        say(f"{name}: {now.target} on every machine")


def _follow_to_the_end(reader: ObservedState, cluster: ClusterSpec, target: str, note: Callable[[str], None], **options) -> None:
    _to_the_end(
        lambda: follow(reader, cluster, target, note, **options),
        cluster.name, f"the rollout of {target}", "the cluster", f"--cluster {cluster.name}",
    )


def _to_the_end(following: Callable[[], Progress], who: str, what: str, where: str, again: str) -> None:
    """Run `following`; stopped by Ctrl-C or a lost API, say that `what` goes on and how to follow it again.

    The rollout does not depend on us watching it: the controllers carry on.
    """
    hint = f"{what} goes on in {where}; `clusterctl-py upgrade apply {again}` follows it again"
    try:
        following()
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {hint}") from None
    except ClientError as exc:
        raise ClusterctlError(f"{exc}\n{who}: {hint}") from None


# --- `up` and Kubernetes versions --------------------------------------------------


@dataclass(frozen=True)
class UpWatch:
    """What `up` found before running any stack: the reader, and cluster -> the version to wait for."""

    reader: ObservedState | None  # None: the management API is not there yet, nothing to check or wait for
    targets: dict[str, str]
    k3s: str | None = None  # the k3s version the capi stack asks the servers for, if it changes


def before_up(
    spec: PlatformSpec, clusters: list[str], reader: ObservedState, source: str | None = None, k3s: bool = False
) -> dict[str, str]:
    """Each cluster's Kubernetes version change (cluster -> version); SpecError lists every one refused.

    `k3s`: the capi stack runs too, so management.k3sVersion reaches the k3s-server Plan: checked as well.
    """
    problems, targets = [], {}
    if k3s:
        try:
            targets[K3S_FIELD] = up_k3s_target(spec, reader.k3s())
        except SpecError as exc:
            problems += exc.problems
    for name in clusters:
        cluster = spec.cluster(name)
        try:
            target = up_target(cluster, reader.cluster(cluster.name, cluster.ns))
        except SpecError as exc:
            problems += exc.problems
            continue
        if target is not None:
            targets[name] = target
    if problems:
        raise SpecError(problems, source)
    return targets


def up_kubeconfig(spec: PlatformSpec, platform_file: Path, organization: str, engine: StackEngine) -> Kubeconfig:
    """The management API as `up` reaches it, the one its stacks apply to: the management stack's kubeconfig
    output (never KUBECONFIG, which may name another cluster); NoManagementApi until the capi stack exists,
    since no workload cluster can exist before it."""
    from clusterctl_py.ops.plan import plan

    capi = next(run for phase in plan(spec, "up", platform_file, org=organization) for run in phase if run.program == "capi")
    if not engine.exists(capi):
        raise NoManagementApi(f"there is no capi stack {capi.name} yet, so no workload cluster to check")
    return management_kubeconfig(flag=None, environ={}, platform_file=platform_file, org=organization, engine=lambda: engine, resolved=True)


@contextmanager
def watching_up(
    spec: PlatformSpec,
    clusters: list[str],
    *,
    kubeconfig: Callable[[], Kubeconfig],
    connect: Callable[[Kubeconfig], KubernetesApi],
    note: Callable[[str], None],
    source: str | None = None,
    k3s: bool = False,
) -> Iterator[UpWatch]:
    """Before `up` runs a stack: refuse Kubernetes version changes the clusters cannot take now.

    Without a management API yet (the first `up`: no management stack, or
    its API not answering), there is no cluster to check: that is a note,
    not an error, and nothing is waited for.
    """
    skipped = "Kubernetes version changes are not checked, and `up` does not wait for rollouts"
    try:
        config = kubeconfig()
    except NoManagementApi as exc:
        note(f"{exc}; {skipped}")
        yield UpWatch(None, {})
        return
    with closing(connect(config)) as api:
        reader = ApiReader(api, spec)
        try:
            targets = before_up(spec, clusters, reader, source, k3s)
        except Unavailable as exc:
            note(f"{exc}; {skipped}")
            yield UpWatch(None, {})
            return
        k3s_target = targets.pop(K3S_FIELD, None)
        yield UpWatch(reader, targets, k3s_target)


def wait_after_up(
    spec: PlatformSpec,
    watch: UpWatch,
    say: Callable[[str], None],
    note: Callable[[str], None],
    *,
    poll: float = 20.0,
    timeout: float = 3 * 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """After the stacks ran: follow each cluster whose version changed until every machine runs it.

    The objects are patched when the stack returns, but nothing in them
    waits for the machines (the Cluster stays Available, its spec does not
    change), which roll for tens of minutes: the KubeadmControlPlane first
    (status.version, MachinesUpToDate), then each MachineDeployment.
    """
    for name, target in watch.targets.items():
        note(f"{name}: Kubernetes {target} rolls out now: following it, control plane first, then each pool")
        _follow_to_the_end(watch.reader, spec.cluster(name), target, note, poll=poll, timeout=timeout, sleep=sleep)
        say(f"{name}: {target} on every machine")
    if watch.k3s is not None:
        say(f"management: system-upgrade-controller moves the k3s servers to {watch.k3s}, one at a time;"
            " `clusterctl-py upgrade apply --management` follows it")


# --- choosing the next version ---------------------------------------------------------

_KUBERNETES_VERSION = TypeAdapter(KubernetesVersion)


def _newest_patch(minor: tuple[int, int]) -> Version | None:
    known = versions.KUBERNETES_PATCHES.get(minor)
    return parse(known) if known else None


def next_version(lowest: Version, highest: Version) -> Version | None:
    """The newest patch of the minor after the oldest one running, within the supported range;
    else a newer patch of the same minor; else None."""
    following = _newest_patch((lowest[0], lowest[1] + 1))
    if following is not None:
        return following
    same = _newest_patch(lowest[:2])
    return same if same is not None and same > highest else None


def _allowed(lowest: Version, highest: Version) -> str:
    top_minor = min((lowest[0], lowest[1] + 1), versions.KUBERNETES_MAX)
    top = _newest_patch(top_minor)
    if top is None or top < highest:
        return "none (the cluster runs a version outside the supported range " + versions.supported_kubernetes() + ")"
    return f"{show(highest)} to {show(top)}"


def check_target(cluster: str, to: str, lowest: Version, highest: Version, field: str = "--to") -> str:
    """`to` as the version `cluster` may move to next, or SpecError naming the rule it breaks.

    `lowest`/`highest`: the oldest and newest versions running (running_versions);
    `field`: where `to` came from, for the message.
    """

    def refuse(message: str) -> SpecError:
        return SpecError([Problem(field, message)])

    try:
        normal = _KUBERNETES_VERSION.validate_python(to)  # the spec's own format and range messages
    except ValidationError as err:
        raise refuse(err.errors(include_url=False)[0]["msg"]) from None
    target = parse(normal)
    allowed = _allowed(lowest, highest)
    newest = _newest_patch(target[:2])
    if newest is not None and target > newest:
        raise refuse(
            f"{normal} is newer than the newest {_minor(target)} patch clusterctl-py knows ({show(newest)});"
            f" machines could not install it; allowed for {cluster}: {allowed}"
        )
    if target < highest:
        raise refuse(
            f"{normal} is older than {show(highest)}, which {cluster} runs; Kubernetes is never downgraded"
            f" (kubeadm cannot); allowed: {allowed}"
        )
    if target[:2] > (lowest[0], lowest[1] + 1):
        ahead = target[1] - lowest[1]
        raise refuse(
            f"{normal} is {ahead} minor versions ahead of {show(lowest)}, the oldest version {cluster} runs"
            f" (control plane and machines); upgrades go one minor at a time; allowed: {allowed}"
        )
    return normal


@dataclass(frozen=True)
class Step:
    """What `upgrade apply` does for one cluster: each part may already be done."""

    target: str | None  # None: nothing to upgrade
    write: bool  # platform.yaml needs the new version
    run_stack: bool  # the cluster's objects do not all ask for it yet
    message: str


def _file_target(cluster: ClusterSpec, state: ClusterState, lowest: Version, highest: Version, now: Rollout) -> str | None:
    """The version platform.yaml's kubernetesVersion moves the cluster to, checked against what runs; None: no change.

    During a rollout only the version being rolled out is accepted: the
    KubeadmControlPlane webhook compares a new spec.version with the old
    spec only, not with what the machines run (kubernetes-sigs/cluster-api
    controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go
    validateVersion), so it would let a second minor through.
    """
    name, cp = cluster.name, state.control_plane
    field = f"clusters[name={name}].kubernetesVersion"
    in_file = parse(cluster.kubernetes_version)
    if now.in_progress:
        if in_file != parse(cp.version):
            raise SpecError([Problem(field, f"{cluster.kubernetes_version} refused: {name} is rolling out {cp.version} ({now.reason});"
                                     f" set it back to {cp.version} until that is done")])
        return cp.version
    if in_file < highest:
        raise SpecError([Problem(field, f"{cluster.kubernetes_version} is older than {show(highest)}, which {name} runs;"
                                 f" Kubernetes is never downgraded: set it to {show(highest)} or newer")])
    if in_file != lowest:
        return check_target(name, cluster.kubernetes_version, lowest, highest, field=field)
    return None


def up_target(cluster: ClusterSpec, state: ClusterState) -> str | None:
    """Before `up`: the Kubernetes version `up` moves `cluster` to (to wait for once its stack ran), or None.

    None when nothing changes version: the cluster is not created yet, no
    machine runs yet, or every machine already runs what platform.yaml asks
    for. SpecError when the file asks for what the cluster cannot take now
    (a second bump during a rollout, a downgrade, more than one minor).
    """
    if state.control_plane is None:
        return None
    found = running_versions(state)
    if not found:
        return None
    lowest, highest = min(found), max(found)
    target = _file_target(cluster, state, lowest, highest, rollout(state))
    return target if target is not None and parse(target) != lowest else None


def next_step(cluster: ClusterSpec, state: ClusterState, to: str | None) -> Step:
    """Bump, resume or refuse, decided from platform.yaml and what the cluster shows.

    A rollout under way is followed, never bumped again: the
    KubeadmControlPlane webhook would accept a second minor (it compares with
    its old spec), while machines still run the first one's predecessor.
    """
    name = cluster.name
    cp = state.control_plane
    if cp is None:
        raise _not_created(name)
    found = running_versions(state)
    if not found:
        raise ClusterctlError(f"{name}: no machine runs yet; wait until the cluster is up, then upgrade it")
    lowest, highest = min(found), max(found)
    in_file = parse(cluster.kubernetes_version)
    now = rollout(state)

    def objects_ask_for(target: str) -> bool:
        want = parse(target)
        return parse(cp.version) == want and all(parse(md.version) == want for md in state.deployments)

    if now.in_progress and to is not None and parse(to) != parse(cp.version):
        raise SpecError([Problem("--to", f"{to} refused: {name} is rolling out {cp.version} ({now.reason}); a second bump"
                                 f" waits until it is done: `clusterctl-py upgrade apply --cluster {name}` follows it")])
    target = _file_target(cluster, state, lowest, highest, now)
    if now.in_progress:
        return Step(target, False, not objects_ask_for(target), f"{name}: resuming the rollout of {target}: {now.reason}")
    if target is not None:
        if to is not None and parse(to) != in_file:
            raise SpecError([Problem("--to", f"{to} refused: platform.yaml asks {name} for {target}, which is not rolled out"
                                     f" everywhere yet; roll that out first: `clusterctl-py upgrade apply --cluster {name}`")])
        return Step(target, False, not objects_ask_for(target), f"{name}: rolling out {target}, which platform.yaml already asks for")
    if to is not None:
        target = check_target(name, to, lowest, highest)
    else:
        nxt = next_version(lowest, highest)
        if nxt is None:
            return Step(None, False, False, f"{name} runs {show(lowest)}, the newest supported version; nothing to upgrade")
        target = show(nxt)
    if parse(target) == lowest:
        return Step(None, False, False, f"{name} already runs {target} on every machine; nothing to upgrade")
    return Step(target, True, True, f"{name}: {show(lowest)} -> {target}")


# --- the plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterPlan:
    name: str
    file_version: str  # kubernetesVersion in platform.yaml
    control_plane: str  # what the KubeadmControlPlane reports (status.version), or "-"
    machines: str  # machines per kubelet version, e.g. "3 on v1.33.4, 2 on v1.34.2"
    next: str  # the version `upgrade apply` would move to, or "-"
    note: str = ""


def _machines(state: ClusterState) -> str:
    counts: dict[str, int] = {}
    for m in state.machines:
        counts[m.kubelet_version or "no node yet"] = counts.get(m.kubelet_version or "no node yet", 0) + 1
    ordered = sorted(counts, key=lambda v: parse(v) or (10**6,))
    return ", ".join(f"{counts[v]} on {v}" if parse(v) else f"{counts[v]} with {v}" for v in ordered) or "none"


def plan_cluster(cluster: ClusterSpec, state: ClusterState) -> ClusterPlan:
    cp = state.control_plane
    if cp is None:
        return ClusterPlan(cluster.name, cluster.kubernetes_version, "-", "none", "-", "not created yet: `clusterctl-py up` creates it")
    found = running_versions(state)
    machines = _machines(state)
    shown = cp.status_version or "-"
    if not found:
        return ClusterPlan(cluster.name, cluster.kubernetes_version, shown, machines, "-", "no machine runs yet")
    lowest, highest = min(found), max(found)
    in_file = parse(cluster.kubernetes_version)
    state_now = rollout(state)
    if state_now.in_progress:
        return ClusterPlan(
            cluster.name, cluster.kubernetes_version, shown, machines, "-",
            f"rollout in progress: {state_now.reason}; `clusterctl-py upgrade apply --cluster {cluster.name}` follows it",
        )
    if in_file < highest:
        return ClusterPlan(
            cluster.name, cluster.kubernetes_version, shown, machines, "-",
            f"platform.yaml asks for {cluster.kubernetes_version}, older than {show(highest)}, which runs;"
            f" Kubernetes is never downgraded: set kubernetesVersion to {show(highest)}",
        )
    if in_file[:2] > (lowest[0], lowest[1] + 1):
        return ClusterPlan(
            cluster.name, cluster.kubernetes_version, shown, machines, "-",
            f"platform.yaml asks for {cluster.kubernetes_version}, more than one minor ahead of {show(lowest)},"
            f" which runs: set kubernetesVersion to a {_minor((lowest[0], lowest[1] + 1))} patch",
        )
    if in_file != lowest:
        lag = ""
        if lowest[:2] < highest[:2]:
            # kubernetes-sigs/cluster-api internal/controllers/machineset/machineset_preflight.go kubeadmVersionPreflightCheck
            lag = (
                f": machines on {_minor(lowest)} lag the control plane's {_minor(highest)}, and CAPI creates no new"
                " machine for their pools until they catch up (kubeadm joins only the control plane's minor)"
            )
        return ClusterPlan(
            cluster.name, cluster.kubernetes_version, shown, machines, cluster.kubernetes_version,
            f"platform.yaml asks for {cluster.kubernetes_version}, not rolled out everywhere yet{lag};"
            f" `clusterctl-py upgrade apply --cluster {cluster.name}` rolls it out",
        )
    nxt = next_version(lowest, highest)
    if nxt is None:
        note = f"newest supported version ({versions.supported_kubernetes()})"
    elif nxt[:2] == lowest[:2]:
        note = f"{_minor(lowest)} is the newest supported minor; {show(nxt)} is a newer patch"
    else:
        note = ""
    return ClusterPlan(cluster.name, cluster.kubernetes_version, shown, machines, show(nxt) if nxt else "-", note)


@dataclass(frozen=True)
class ComponentPlan:
    component: str
    installed: str
    pinned: str
    status: str


_K3S_BUILD = re.compile(r"\+k3s(\d+)$")


def _order(text: str) -> tuple | None:
    """A version's sort key: (major, minor, patch, k3s build)."""
    version = parse(text)
    build = _K3S_BUILD.search(text)
    return None if version is None else (*version, int(build[1]) if build else 0)


def _compare(installed: str, pinned: str) -> str:
    have, want = _order(installed), _order(pinned)
    if have is None:
        return f"unreadable version {installed!r}"
    if have == want:
        return "up to date"
    if have < want:
        return "older than pinned"
    return "newer than pinned: this clusterctl-py would move it back"


# --- the management cluster's k3s ---------------------------------------------------
# k3s servers ignore user-data changes; they move through system-upgrade-controller's
# k3s-server Plan (render/k3s_upgrade.py), which runs rancher/k3s-upgrade on one server
# at a time: cordon, swap the binary, restart k3s, uncordon.

K3S_FIELD = "management.k3sVersion"
_K3S_VERSION = TypeAdapter(K3sVersion)


def _k3s_versions(state: K3sState) -> list[str]:
    """The k3s version each server runs (its kubelet's), oldest first; servers not reporting one left out."""
    return sorted((n.kubelet_version for n in state.servers if n.kubelet_version and _order(n.kubelet_version)), key=_order)


def _k3s_on(state: K3sState, version: str) -> int:
    return sum(1 for n in state.servers if n.kubelet_version and _order(n.kubelet_version) == _order(version))


def _munged(version: str) -> str:
    # status.latestVersion is spec.version with "+" as "-" (rancher/system-upgrade-controller pkg/upgrade/plan/plan.go MungeVersion).
    return version.replace("+", "-")


def _plan_failed(plan: UpgradePlan | None) -> Condition | None:
    """The Plan's Complete condition when a job of it failed (pkg/upgrade/handle_batch.go: False, reason JobFailed)."""
    complete = find(plan.conditions, "Complete") if plan is not None else None
    return complete if complete is not None and complete.status == "False" and complete.reason == "JobFailed" else None


def k3s_rollout(state: K3sState) -> Rollout:
    """Whether system-upgrade-controller is moving the servers to its Plan's version, and why that is the conclusion.

    Read from the Plan's status as SUC v0.20 keeps it (pkg/upgrade/handle_upgrade.go):
    status.latestVersion once the new spec.version is resolved, status.applying
    while jobs run, Complete True once every selected server carries the Plan's
    hash; and from the servers' kubelets. A failed job is no rollout in progress.
    """
    plan = state.plan
    if plan is None or not plan.version or _plan_failed(plan):
        return Rollout(False)
    on, total = _k3s_on(state, plan.version), len(state.servers)
    if plan.latest_version != _munged(plan.version):
        return Rollout(True, f"system-upgrade-controller has not taken up the Plan's {plan.version} yet")
    if plan.applying:
        return Rollout(True, f"upgrading {', '.join(plan.applying)} to {plan.version} ({on} of {total} servers on it)")
    complete = find(plan.conditions, "Complete")
    if complete is None or complete.status != "True":
        what = f"Complete={complete.status} ({complete.reason})" if complete is not None else "no Complete condition"
        return Rollout(True, f"the k3s-server Plan reports {what} ({on} of {total} servers on {plan.version})")
    if any(_order(v) < _order(plan.version) for v in _k3s_versions(state)):
        return Rollout(True, f"{on} of {total} servers report {plan.version}")
    return Rollout(False)


class K3sUpgradeFailed(ClusterctlError):
    """A job of the k3s-server Plan failed; its server stays cordoned."""


def _failed(plan: UpgradePlan, complete: Condition) -> K3sUpgradeFailed:
    nodes = ", ".join(plan.applying) or "the server"
    return K3sUpgradeFailed(
        f"management: the k3s upgrade to {plan.version} failed: {complete.message or complete.reason};"
        f" system-upgrade-controller keeps {nodes} cordoned until a job there completes"
        f" (`kubectl -n system-upgrade logs -l upgrade.cattle.io/plan={plan.name}` says why);"
        " fix the cause, then `clusterctl-py upgrade apply --management` follows it again"
    )


def check_k3s_target(to: str, lowest: str, highest: str, field: str = "--to") -> str:
    """`to` as the k3s version the servers may move to next, or SpecError naming the rule it breaks."""

    def refuse(message: str) -> SpecError:
        return SpecError([Problem(field, message)])

    try:
        normal = _K3S_VERSION.validate_python(to)  # the spec's own format and range messages
    except ValidationError as err:
        raise refuse(err.errors(include_url=False)[0]["msg"]) from None
    low = parse(lowest)
    allowed = f"{highest} or a newer k3s release of v{low[0]}.{low[1]} or v{low[0]}.{low[1] + 1}"
    if _order(normal) < _order(highest):
        # rancher/k3s-upgrade scripts/upgrade.sh replace_binary exits 1 on an older version or build
        # ("Current ... is higher than ..."), and system-upgrade-controller uncordons a server only after
        # its job completed (rancher/system-upgrade-controller pkg/upgrade/handle_batch.go).
        raise refuse(
            f"{normal} is older than {highest}, which the management servers run; k3s is never downgraded:"
            f" k3s-upgrade refuses, and its failed job leaves the server cordoned; allowed: {allowed}"
        )
    target = parse(normal)
    if target[:2] > (low[0], low[1] + 1):
        raise refuse(
            f"{normal} is {target[1] - low[1]} minor versions ahead of {lowest}, the oldest k3s a management server runs;"
            f" k3s upgrades go one minor at a time (Kubernetes version skew policy); allowed: {allowed}"
        )
    return normal


def k3s_step(spec: PlatformSpec, state: K3sState, to: str | None) -> Step:
    """Bump, resume or refuse the management k3s, decided from platform.yaml, the servers and the Plan."""
    running = _k3s_versions(state)
    if not running:
        raise ClusterctlError(
            "management: no k3s server found (nodes labelled node-role.kubernetes.io/control-plane=true);"
            " is the kubeconfig the management cluster's?"
        )
    if state.plan is None:
        raise ClusterctlError(
            "management: system-upgrade-controller's Plan system-upgrade/k3s-server is not there;"
            " `clusterctl-py up` installs it with Cluster API (the capi stack)"
        )
    lowest, highest = running[0], running[-1]
    in_file, asked = spec.management.k3s_version, state.plan.version or ""
    now = k3s_rollout(state)
    if now.in_progress:
        if to is not None and _order(to) != _order(asked):
            raise SpecError([Problem("--to", f"{to} refused: the management servers are moving to {asked} ({now.reason});"
                                     " a second bump waits until it is done: `clusterctl-py upgrade apply --management` follows it")])
        if _order(in_file) != _order(asked):
            raise SpecError([Problem(K3S_FIELD, f"{in_file} refused: the management servers are moving to {asked} ({now.reason});"
                                     f" set it back to {asked} until that is done")])
        return Step(asked, False, False, f"management: resuming the k3s upgrade to {asked}: {now.reason}")
    if _order(in_file) != _order(lowest) or _order(lowest) != _order(highest):
        target = check_k3s_target(in_file, lowest, highest, field=K3S_FIELD)
        if to is not None and _order(to) != _order(in_file):
            raise SpecError([Problem("--to", f"{to} refused: platform.yaml asks the management servers for {in_file}, which not"
                                     " every server runs yet; roll that out first: `clusterctl-py upgrade apply --management`")])
        return Step(target, False, _order(asked) != _order(target), f"management: moving k3s to {target}, which platform.yaml already asks for")
    if to is not None:
        target = check_k3s_target(to, lowest, highest)
    elif _order(versions.K3S) > _order(lowest):
        try:
            target = check_k3s_target(versions.K3S, lowest, highest)
        except SpecError:
            return Step(None, False, False, f"management k3s runs {lowest}; the pinned {versions.K3S} is more than one minor"
                                            " ahead: `--to` a k3s release of the next minor first")
    else:
        return Step(None, False, False, f"management k3s runs {lowest}, not older than the pinned {versions.K3S};"
                                        " nothing to upgrade (`--to` picks a newer k3s release)")
    if _order(target) == _order(lowest):
        return Step(None, False, False, f"management k3s already runs {target} on every server; nothing to upgrade")
    return Step(target, True, True, f"management: k3s {lowest} -> {target}")


def up_k3s_target(spec: PlatformSpec, state: K3sState) -> str | None:
    """Before `up` applies the capi stack: the k3s version management.k3sVersion moves the servers to, or None.

    SpecError for what the servers cannot take: a lower version (k3s-upgrade
    refuses it and leaves the server cordoned), more than one minor, or a
    second version during an upgrade.
    """
    running = _k3s_versions(state)
    if not running or state.plan is None:
        return None
    in_file, asked, now = spec.management.k3s_version, state.plan.version or "", k3s_rollout(state)
    if now.in_progress:
        if _order(in_file) != _order(asked):
            raise SpecError([Problem(K3S_FIELD, f"{in_file} refused: the management servers are moving to {asked} ({now.reason});"
                                     f" set it back to {asked} until that is done")])
        return asked
    target = check_k3s_target(in_file, running[0], running[-1], field=K3S_FIELD)
    return None if _order(target) == _order(running[0]) == _order(running[-1]) else target


def k3s_progress(state: K3sState, target: str) -> Progress:
    """How far the servers got to `target`; K3sUpgradeFailed when a job of the Plan for it failed."""
    plan = state.plan
    asks = plan is not None and _order(plan.version or "") == _order(target)
    if asks:
        failed = _plan_failed(plan)
        if failed is not None:
            raise _failed(plan, failed)
    on, total = _k3s_on(state, target), len(state.servers)
    waiting = "" if asks else f"its Plan still asks for {plan.version if plan is not None else 'nothing (no Plan)'}"
    done = asks and on == total
    settling = k3s_rollout(state).reason if done else ""
    return Progress("management", target, (Phase("k3s servers", on, total, done, waiting),), settling, unit="server")


def follow_k3s(reader: ObservedState, target: str, say: Callable[[str], None], **options) -> Progress:
    """Read the servers and the Plan every `poll` seconds until every server runs `target` (see `watch`)."""
    return watch(lambda: k3s_progress(reader.k3s(), target), "--management", say, **options)


def apply_k3s(
    file: Path,
    spec: PlatformSpec,
    to: str | None,
    reader: ObservedState,
    stacks: Stacks,
    say: Callable[[str], None],
    note: Callable[[str], None],
    *,
    poll: float = 20.0,
    timeout: float = 3 * 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Move the management servers' k3s: write management.k3sVersion, apply the capi stack (its Plan), follow SUC.

    As `apply`: every refusal comes first, each part already done is skipped,
    and running it again after an interruption follows what runs.
    """
    now = k3s_step(spec, reader.k3s(), to)
    say(now.message)
    if now.target is None:
        return
    if now.write or now.run_stack:
        stacks.prepare(spec, None)
    if now.write:
        edited = spec_edit.prepare(file, [spec_edit.Edit(K3S_FIELD, now.target)])
        spec_edit.write(edited)
        spec = edited.spec
        say(f"{file}: {K3S_FIELD} set to {now.target}")
    if now.run_stack:
        stacks.up_capi(spec)
    _to_the_end(
        lambda: follow_k3s(reader, now.target, note, poll=poll, timeout=timeout, sleep=sleep),
        "management", f"the k3s upgrade to {now.target}", "the management cluster", "--management",
    )
    say(f"management: k3s {now.target} on every server")


def plan_management(spec: PlatformSpec, state: ManagementState) -> list[ComponentPlan]:
    rows = []
    for pinned in PROVIDERS:
        name = f"{pinned.name} ({pinned.type})"
        found = [p for p in state.providers if p.provider_name == pinned.name and p.type == pinned.type]
        if not found:
            rows.append(ComponentPlan(name, "not installed", pinned.version, "missing: `clusterctl-py up` installs it"))
            continue
        installed = ", ".join(sorted({p.version for p in found}))
        status = _compare(found[0].version, pinned.version) if len(found) == 1 else "installed more than once"
        rows.append(ComponentPlan(name, installed, pinned.version, status))
    for p in state.providers:
        if not any(p.provider_name == q.name and p.type == q.type for q in PROVIDERS):
            rows.append(ComponentPlan(f"{p.provider_name} ({p.type})", p.version, "-", "not installed by clusterctl-py"))

    # Installed with Helm, so clusterctl would call it externally managed: its Deployments' version label says.
    labels = {d.version for d in state.cert_manager}
    if not state.cert_manager:
        rows.append(ComponentPlan("cert-manager", "not installed", versions.CERT_MANAGER, "missing: `clusterctl-py up` installs it"))
    elif None in labels:
        unlabelled = ", ".join(d.name for d in state.cert_manager if d.version is None)
        rows.append(ComponentPlan("cert-manager", "unknown", versions.CERT_MANAGER, f"no app.kubernetes.io/version label on {unlabelled}"))
    elif len(labels) > 1:
        mixed = ", ".join(f"{d.name} {d.version}" for d in state.cert_manager)
        rows.append(ComponentPlan("cert-manager", mixed, versions.CERT_MANAGER, "mixed versions"))
    else:
        (only,) = labels
        rows.append(ComponentPlan("cert-manager", only, versions.CERT_MANAGER, _compare(only, versions.CERT_MANAGER)))

    rows.append(_plan_k3s(spec, state.k3s))
    return rows


def _plan_k3s(spec: PlatformSpec, state: K3sState) -> ComponentPlan:
    """The k3s row: what the servers run against management.k3sVersion, and what `upgrade apply --management` would do."""
    wanted, name = spec.management.k3s_version, "k3s (management)"
    running = _k3s_versions(state)
    if not running:
        return ComponentPlan(name, "no server found", wanted, "unknown")
    lowest, highest = running[0], running[-1]
    installed = ", ".join(sorted(set(running), key=_order))
    now, failed = k3s_rollout(state), _plan_failed(state.plan)
    if now.in_progress:
        return ComponentPlan(name, installed, wanted, f"upgrading: {now.reason}; `clusterctl-py upgrade apply --management` follows it")
    if failed is not None:
        return ComponentPlan(name, installed, wanted, str(_failed(state.plan, failed)).removeprefix("management: "))
    try:
        check_k3s_target(wanted, lowest, highest, field=K3S_FIELD)
    except SpecError as exc:
        status = f"platform.yaml refused: {exc.problems[0].message}"
    else:
        if _order(lowest) != _order(highest):
            status = "servers differ: `clusterctl-py upgrade apply --management` moves them all to platform.yaml's"
        elif _order(wanted) == _order(lowest):
            status = "up to date"
        else:
            status = "older than pinned: `clusterctl-py upgrade apply --management` moves it"
    lo = parse(lowest)
    if not versions.KUBERNETES_MIN <= lo[:2] <= versions.KUBERNETES_MAX:
        status += f"; outside Cluster API {versions.CAPI}'s management range {versions.supported_kubernetes()}"
    return ComponentPlan(name, installed, wanted, status)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; the last column is not padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in [header, *rows]]


def render_plan(clusters: list[ClusterPlan], management: list[ComponentPlan]) -> list[str]:
    lines = [f"Workload clusters (supported: {versions.supported_kubernetes()}, one minor at a time, control plane first):"]
    lines += table(
        ["CLUSTER", "FILE", "CONTROL PLANE", "MACHINES", "NEXT", "NOTE"],
        [[c.name, c.file_version, c.control_plane, c.machines, c.next, c.note] for c in clusters],
    )
    lines += ["", f"Management cluster (pinned: Cluster API {versions.CAPI}, CAPH {versions.CAPH}, CAAPH {versions.CAAPH}):"]
    lines += table(
        ["COMPONENT", "INSTALLED", "PINNED", "STATUS"], [[m.component, m.installed, m.pinned, m.status] for m in management]
    )
    return [line.rstrip() for line in lines]
