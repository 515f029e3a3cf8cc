"""Cluster API's controllers in miniature: they roll a workload cluster to a new Kubernetes version in the emulator.

What CAPI v1.13 does after the cluster stack asked for a new version (the
KubeadmControlPlane's spec.version and the MachineDeployments'
spec.template.spec.version, each object's metadata.generation one higher),
one machine at a time with maxSurge 1 (the rollout strategy our render
sets): a new Machine is created on the new version, its node joins, then an
old Machine is deleted (kubernetes-sigs/cluster-api v1.13.5
controlplane/kubeadm/internal/controllers/controller.go reconcile, update.go
and scale.go; internal/controllers/machinedeployment/
machinedeployment_rollout_rollingupdate.go, with a new MachineSet for the
new template). The control plane goes first; the
pools' new machines wait for it (MachineSet preflight checks,
internal/controllers/machineset/machineset_preflight.go). Status is kept as
the controllers keep it: status.observedGeneration once a change is seen,
the KubeadmControlPlane's status.version as the oldest version among its
machines, the replica counters, and the RollingOut / MachinesUpToDate
conditions (tests/support/capi_objects.py words them as CAPI does).

The controllers take one step each time the watched command looks at the
cluster (a GET of its KubeadmControlPlane): no thread, no sleeping, and a
test sees every stage in order.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Callable

from tests.support import capi_objects as fx
from tests.support.kube_api import KubeApi, KubeApiServer

KCP = "controlplane.cluster.x-k8s.io/v1beta2/kubeadmcontrolplanes"
MD = "cluster.x-k8s.io/v1beta2/machinedeployments"
MS = "cluster.x-k8s.io/v1beta2/machinesets"
MACHINE = "cluster.x-k8s.io/v1beta2/machines"
HCLOUD_MACHINE = "infrastructure.cluster.x-k8s.io/v1beta1/hcloudmachines"


def _key(resource: Any) -> str:
    return f"{resource.group}/{resource.version}/{resource.plural}" if resource.group else f"{resource.version}/{resource.plural}"


def _version(obj: dict) -> str:
    return obj["spec"]["version"]


class CapiSim:
    """The controllers of one workload cluster in `server`; `steps` counts what they did."""

    def __init__(self, server: KubeApiServer, cluster: str = "prod", namespace: str | None = None):
        self.server = server
        self.cluster = cluster
        self.ns = namespace or cluster
        self.kcp_name = f"{cluster}-control-plane"
        self.steps: list[str] = []  # what each step did, in order
        self.paused = False
        # Called after each step with the number of steps so far (e.g. to interrupt the command).
        self.after_step: Callable[[int], None] | None = None
        self._index = 1000  # for the new machines' addresses
        server.api.before.append(self._look)

    # -- what the cluster stack does ----------------------------------------------------

    def ask_for(self, version: str) -> None:
        """What `pulumi up` of the cluster stack does: the new version in the control plane and every pool."""
        self.server.edit(lambda api: self._ask_for(api, version))

    def _ask_for(self, api: KubeApi, version: str) -> None:
        for key, path in ((KCP, ("spec", "version")), (MD, ("spec", "template", "spec", "version"))):
            for obj in self._list(api, key):
                spec = obj
                for part in path[:-1]:
                    spec = spec[part]
                if spec[path[-1]] != version:
                    spec[path[-1]] = version
                    obj["metadata"]["generation"] += 1
                    self._put(api, key, obj)

    # -- the controllers ----------------------------------------------------------------------

    def _look(self, verb: str, plural: str | None, namespace: str | None, name: str | None) -> None:
        if self.paused or (verb, plural, namespace, name) != ("get", "kubeadmcontrolplanes", self.ns, self.kcp_name):
            return
        done = self.step(self.server.api)
        if done:
            self.steps.append(done)
            if self.after_step is not None:
                self.after_step(len(self.steps))

    def step(self, api: KubeApi) -> str | None:
        """One thing a controller does next; None when nothing is left to do."""
        kcp = self._get(api, KCP, self.kcp_name)
        if kcp is None:
            return None
        machines = self._list(api, MACHINE)
        groups = [(KCP, kcp, [m for m in machines if "cluster.x-k8s.io/control-plane" in m["metadata"]["labels"]])]
        for md in sorted(self._list(api, MD), key=lambda o: o["metadata"]["name"]):
            mine = [m for m in machines if m["metadata"]["labels"].get("cluster.x-k8s.io/deployment-name") == md["metadata"]["name"]]
            groups.append((MD, md, mine))
        # Every controller sees its object's change at once; machines are replaced control plane first.
        for key, owner, mine in groups:
            done = self._observe(api, key, owner, mine)
            if done:
                return done
        for key, owner, mine in groups:
            done = self._roll(api, key, owner, mine)
            if done or any(_version(m) != self._wanted(owner) for m in mine):
                return done
        return None

    @staticmethod
    def _wanted(owner: dict) -> str:
        return owner["spec"]["version"] if owner["kind"] == "KubeadmControlPlane" else owner["spec"]["template"]["spec"]["version"]

    def _observe(self, api: KubeApi, key: str, owner: dict, machines: list[dict]) -> str | None:
        status, want = owner["status"], self._wanted(owner)
        if owner["metadata"]["generation"] <= status.get("observedGeneration", 0):
            return None
        status["observedGeneration"] = owner["metadata"]["generation"]
        for m in machines:
            if _version(m) != want:
                self._mark_outdated(api, m, want)
        self._set_status(api, key, owner, machines, want)
        return f"{owner['metadata']['name']} sees {want}"

    def _roll(self, api: KubeApi, key: str, owner: dict, machines: list[dict]) -> str | None:
        name, is_kcp, want = owner["metadata"]["name"], key == KCP, self._wanted(owner)
        old = [m for m in machines if _version(m) != want]
        joining = [m for m in machines if _version(m) == want and "nodeRef" not in m["status"]]
        if joining:
            machine = self._new_machine(api, owner, joining[0]["metadata"]["name"], want, ready=True)
            machines = [machine if m["metadata"]["name"] == machine["metadata"]["name"] else m for m in machines]
            self._set_status(api, key, owner, machines, want)
            return f"{machine['metadata']['name']} joined on {want}"
        if not old:
            return None
        if len(machines) <= owner["spec"]["replicas"]:
            new_name = f"{name}-{fx._suffix(name, want, len(machines), self._index)}" if is_kcp else None
            machine = self._new_machine(api, owner, new_name, want, ready=False)
            self._set_status(api, key, owner, [*machines, machine], want)
            return f"{machine['metadata']['name']} created on {want}"
        gone = min(old, key=lambda m: m["metadata"]["name"])
        self._delete(api, MACHINE, gone["metadata"]["name"])
        self._delete(api, HCLOUD_MACHINE, gone["spec"]["infrastructureRef"]["name"])
        rest = [m for m in machines if m is not gone]
        if not is_kcp:
            self._forget_empty_sets(api, owner, rest)
        self._set_status(api, key, owner, rest, want)
        return f"{gone['metadata']['name']} deleted"

    def _new_machine(self, api: KubeApi, owner: dict, name: str | None, version: str, *, ready: bool) -> dict:
        """A machine on `version` (its server built, no node yet), or the same machine once its node joined."""
        is_kcp = owner["kind"] == "KubeadmControlPlane"
        owner_name = owner["metadata"]["name"]
        machine_set = None if is_kcp else self._machine_set(api, owner, version)
        if name is None:
            name = f"{machine_set['metadata']['name']}-{fx._suffix(machine_set['metadata']['name'], self._index)}"
        existing = self._get(api, MACHINE, name)
        infra = existing["spec"]["infrastructureRef"]["name"] if existing else f"{owner_name}-{fx._suffix('infra', name, n=8)}"
        if existing is None:
            self._index += 1
        machine, hcloud_machine = fx._machine(
            self.cluster, self.ns, name, infra, version, fx.NOW, owner if is_kcp else machine_set,
            control_plane=owner_name if is_kcp else None,
            deployment=None if is_kcp else owner_name,
            machine_set=None if is_kcp else machine_set["metadata"]["name"],
            state="ready" if ready else "provisioning",
            arch="arm64" if "arm" in owner_name else "amd64",
            server_type="cpx22" if is_kcp else "cpx32",
            index=self._index, target=version,
        )
        self._put(api, MACHINE, machine)
        self._put(api, HCLOUD_MACHINE, hcloud_machine)
        return machine

    def _machine_set(self, api: KubeApi, md: dict, version: str) -> dict:
        """The MachineSet of `md`'s new template (made from the old one on first use)."""
        md_name = md["metadata"]["name"]
        name = f"{md_name}-{fx._suffix(md_name, 'ms', version, n=10)}"
        found = self._get(api, MS, name)
        if found is not None:
            return found
        old = next(s for s in self._list(api, MS) if s["metadata"]["labels"].get("cluster.x-k8s.io/deployment-name") == md_name)
        ms = copy.deepcopy(old)
        template_hash = name.rsplit("-", 1)[-1]
        ms["metadata"].update(name=name, uid=fx._uid(self.ns, name), creationTimestamp=fx.ts(fx.NOW + timedelta(minutes=1)))
        ms["metadata"]["labels"]["machine-template-hash"] = template_hash
        ms["spec"]["template"] = copy.deepcopy(md["spec"]["template"])
        ms["spec"]["selector"]["matchLabels"]["machine-template-hash"] = template_hash
        ms["status"] = {"selector": ms["status"]["selector"].rsplit("=", 1)[0] + f"={template_hash}", "replicas": 0, "observedGeneration": 1}
        self._put(api, MS, ms)
        return ms

    def _forget_empty_sets(self, api: KubeApi, md: dict, machines: list[dict]) -> None:
        used = {m["metadata"]["labels"].get("cluster.x-k8s.io/set-name") for m in machines}
        for ms in self._list(api, MS):
            if ms["metadata"]["labels"].get("cluster.x-k8s.io/deployment-name") == md["metadata"]["name"] and ms["metadata"]["name"] not in used:
                self._delete(api, MS, ms["metadata"]["name"])

    def _mark_outdated(self, api: KubeApi, machine: dict, want: str) -> None:
        # internal/controllers/machinedeployment/mdutil/util.go: "Version <current>, <desired> required".
        for c in machine["status"].get("conditions", []):
            if c["type"] == "UpToDate":
                c.update(status="False", reason="NotUpToDate", message=f"* Version {_version(machine)}, {want} required")
        self._put(api, MACHINE, machine)

    def _set_status(self, api: KubeApi, key: str, owner: dict, machines: list[dict], want: str) -> None:
        total = len(machines)
        ready = sum(1 for m in machines if "nodeRef" in m["status"])
        up_to_date = sum(1 for m in machines if _version(m) == want)
        oldest = min((_version(m) for m in machines), key=fx._version_key, default=want)
        created = fx.NOW - timedelta(days=12)
        status = owner["status"]
        status.update(replicas=total, readyReplicas=ready, availableReplicas=ready, upToDateReplicas=up_to_date)
        if key == KCP:
            status["version"] = oldest
            status["conditions"] = fx._kcp_conditions(created, total, ready, up_to_date, want, oldest)
        else:
            status["phase"] = "Running" if ready == total else "ScalingUp"
            status["conditions"] = fx._md_conditions(created, total, ready, up_to_date, oldest, want)
        self._put(api, key, owner)

    # -- the emulator's store ---------------------------------------------------------------

    def _list(self, api: KubeApi, key: str) -> list[dict]:
        found = []
        for (resource, namespace, _), obj in api.objects.items():
            if _key(resource) == key and namespace == self.ns and not obj.deleted:
                raw = copy.deepcopy(obj.raw)
                if raw["metadata"].get("labels", {}).get("cluster.x-k8s.io/cluster-name") == self.cluster:
                    found.append(raw)
        return found

    def _get(self, api: KubeApi, key: str, name: str) -> dict | None:
        return next((o for o in self._list(api, key) if o["metadata"]["name"] == name), None)

    def _put(self, api: KubeApi, key: str, obj: dict) -> None:
        api.objects[key, self.ns, obj["metadata"]["name"]] = copy.deepcopy(obj)

    def _delete(self, api: KubeApi, key: str, name: str) -> None:
        del api.objects[key, self.ns, name]
