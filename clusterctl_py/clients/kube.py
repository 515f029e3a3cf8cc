"""The Kubernetes API (the management cluster's, or a workload cluster's) through the `kubernetes` client.

The only module that imports `kubernetes`. It hands out our own frozen
dataclasses, read from the JSON the API sends (`_preload_content=False`:
no SDK model objects, whose deserialisation alone would cost more than the
request for 200 Machines).

Reads list each kind once per call with a label selector
(`cluster.x-k8s.io/cluster-name=<name>`), never one request per object, so
the number of requests does not grow with the cluster.

It also serves the stored-version migration of CRDs (`CrdMigrationApi` in
clusterctl_py.ops.crd_migration): the CRD list, every object of a kind in
pages, each written back unchanged, and `status.storedVersions`; the writes
carry the resourceVersion they were read at, so nothing newer is overwritten.

One retry policy, ours. The client retries no HTTP status itself, but
urllib3 does retry failed connections: kubernetes/client/rest.py passes
`Configuration.retries` to the pool only when it is set, and urllib3's
default is `Retry(3)` with `backoff_factor=0` (urllib3/util/retry.py
`Retry.DEFAULT`), three immediate reconnects. So `retries` is False and
tenacity retries here: 429 (waiting as `Retry-After` says), 5xx, timeouts,
refused and dropped connections; with jittered exponential backoff, a cap
on attempts and a time budget. The client's opt-in `client_go_retries`
(kubernetes >= 37, rest.py `read_request`) would cover only GET/HEAD with a
`Retry-After` header, and stacked with ours would multiply the attempts:
it stays off.

Errors leave as `clusterctl_py.clients.errors` types carrying the HTTP
status, the Status `reason` and the Status `message` only: never a
response body (it can hold a Secret), and never the SDK exception's text,
which embeds the body.

Kubeconfigs: the client reads them from a path (`--kubeconfig`,
`KUBECONFIG`, which may list several files) or from text (a stack
output). The SDK writes embedded certificates and keys to files for
urllib3; those go into a directory of our own, mode 0700, removed by
`close()`.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

import tenacity
import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from clusterctl_py.clients.errors import (
    BadCredentials,
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
)

CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"
DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name"
VERSION_LABEL = "app.kubernetes.io/version"
AUTOSCALER_MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
AUTOSCALER_MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"

CAPI_GROUP, CAPI_VERSION = "cluster.x-k8s.io", "v1beta2"
# Cluster API's own kinds at the contract the pinned release serves (versions.CAPI);
# providers' kinds are looked up through discovery.
_KNOWN = {
    ("controlplane.cluster.x-k8s.io", "KubeadmControlPlane"): ("v1beta2", "kubeadmcontrolplanes"),
    (CAPI_GROUP, "Cluster"): (CAPI_VERSION, "clusters"),
}
CAAPH_GROUP, CAAPH_VERSION = "addons.cluster.x-k8s.io", "v1alpha1"
INVENTORY_GROUP, INVENTORY_VERSION = "clusterctl.cluster.x-k8s.io", "v1alpha3"
# rancher/system-upgrade-controller's Plan (pkg/apis/upgrade.cattle.io/v1/types.go).
SUC_GROUP, SUC_VERSION = "upgrade.cattle.io", "v1"

TIMEOUT = (5.0, 30.0)  # seconds: connect, read
RETRY_FOR = 60.0  # seconds a call may spend retrying
ATTEMPTS = 8
# Objects per LIST page where a list may be long (kubectl's default chunk size).
LIST_PAGE = 500


# --------------------------------------------------------------------------- what we read


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Condition:
    """A v1beta2 (metav1) condition; `since` is its lastTransitionTime."""

    type: str
    status: str  # "True", "False" or "Unknown"
    reason: str = ""
    message: str = ""
    since: datetime | None = None


Conditions = tuple[Condition, ...]


def find(conditions: Conditions, type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


@dataclass(frozen=True)
class Replicas:
    """Replica counters as the v1beta2 contracts report them; None where the object has none."""

    desired: int | None = None
    current: int | None = None
    ready: int | None = None
    available: int | None = None
    up_to_date: int | None = None


@dataclass(frozen=True)
class ObjectRef:
    """A v1beta2 contract reference: apiGroup, kind and name (the version is the API's preferred one)."""

    api_group: str
    kind: str
    name: str


@dataclass(frozen=True)
class Owner:
    kind: str
    name: str
    uid: str


@dataclass(frozen=True)
class Cluster:
    name: str
    namespace: str
    uid: str
    created: datetime | None
    phase: str
    control_plane_ref: ObjectRef | None
    infrastructure_ref: ObjectRef | None
    control_plane: Replicas
    workers: Replicas
    conditions: Conditions
    paused: bool = False
    deleting: bool = False


@dataclass(frozen=True)
class InfrastructureCluster:
    """The provider's cluster object (HetznerCluster, ...), read through the contract only."""

    kind: str
    name: str
    namespace: str
    created: datetime | None
    ready: bool | None  # status.ready (v1beta1 contract), None if absent
    conditions: Conditions
    deleting: bool = False


@dataclass(frozen=True)
class ControlPlane:
    """A control plane (KubeadmControlPlane) through the v1beta2 control plane contract."""

    kind: str
    name: str
    namespace: str
    uid: str
    created: datetime | None
    version: str | None  # spec.version: what is asked for
    status_version: str | None  # status.version: the oldest version any of its machines runs
    replicas: Replicas
    initialized: bool | None
    conditions: Conditions
    deleting: bool = False
    # metadata.generation against status.observedGeneration: has the controller seen the last change?
    generation: int | None = None
    observed_generation: int | None = None


@dataclass(frozen=True)
class MachineDeployment:
    name: str
    namespace: str
    uid: str
    created: datetime | None
    version: str | None  # spec.template.spec.version
    replicas: Replicas
    phase: str
    conditions: Conditions
    autoscaler_min: int | None = None
    autoscaler_max: int | None = None
    deleting: bool = False
    generation: int | None = None
    observed_generation: int | None = None


@dataclass(frozen=True)
class MachineSet:
    name: str
    namespace: str
    uid: str
    created: datetime | None
    owner: Owner | None  # the controlling MachineDeployment
    version: str | None
    replicas: Replicas
    conditions: Conditions
    deleting: bool = False


@dataclass(frozen=True)
class Machine:
    name: str
    namespace: str
    uid: str
    created: datetime | None
    version: str | None  # spec.version
    phase: str
    node_name: str | None  # status.nodeRef.name: the node it became
    kubelet_version: str | None  # status.nodeInfo.kubeletVersion
    provider_id: str | None
    control_plane: bool
    owner: Owner | None  # the controller: a MachineSet or the control plane
    deployment: str | None  # the cluster.x-k8s.io/deployment-name label
    conditions: Conditions
    deleting: bool = False


@dataclass(frozen=True)
class HelmReleaseProxy:
    name: str
    namespace: str
    created: datetime | None
    chart: str
    release_name: str
    release_namespace: str
    version: str
    status: str  # Helm's release status (deployed, failed, ...)
    revision: int | None
    helm_chart_proxy: str | None
    conditions: Conditions


@dataclass(frozen=True)
class Provider:
    """clusterctl's inventory entry for an installed provider."""

    name: str
    namespace: str
    provider_name: str
    type: str
    version: str


@dataclass(frozen=True)
class Deployment:
    name: str
    namespace: str
    created: datetime | None
    labels: Mapping[str, str]
    images: tuple[str, ...]
    replicas: Replicas  # up_to_date is status.updatedReplicas
    conditions: Conditions

    @property
    def version(self) -> str | None:
        """The `app.kubernetes.io/version` label Helm charts set."""
        return self.labels.get(VERSION_LABEL)


@dataclass(frozen=True)
class Node:
    name: str
    created: datetime | None
    kubelet_version: str | None
    ready: bool | None
    labels: Mapping[str, str]


@dataclass(frozen=True)
class UpgradePlan:
    """A system-upgrade-controller Plan (upgrade.cattle.io/v1), as SUC v0.20 reports it.

    `latest_version` is `spec.version` once SUC resolved it, with "+" as "-"
    (pkg/upgrade/plan/plan.go MungeVersion); `applying` names the nodes whose
    upgrade Jobs run now; the conditions are LatestResolved, Validated and
    Complete (pkg/apis/upgrade.cattle.io/v1/types.go).
    """

    name: str
    namespace: str
    version: str | None  # spec.version
    latest_version: str | None  # status.latestVersion
    applying: tuple[str, ...]  # status.applying
    conditions: Conditions


@dataclass(frozen=True)
class Kubeconfig:
    """Where the credentials for an API come from; the text itself never appears in a repr."""

    origin: str  # what messages name: "--kubeconfig ./x", "KUBECONFIG", "stack org/p/s output kubeconfig"
    path: str | None = None
    text: str | None = field(default=None, repr=False)
    context: str | None = None


@dataclass(frozen=True, slots=True)
class CrdVersion:
    name: str
    served: bool
    storage: bool


@dataclass(frozen=True, slots=True)
class Crd:
    """What a stored-version migration needs of a CRD, installed (with its status) or from a release's YAML."""

    name: str  # <plural>.<group>
    group: str
    kind: str
    plural: str
    versions: tuple[CrdVersion, ...]
    stored_versions: tuple[str, ...] = ()
    # The installed CRD's resourceVersion: setting storedVersions must fail if
    # the CRD changed since it was read (an optimistic lock).
    resource_version: str | None = None

    @property
    def storage(self) -> str | None:
        return next((v.name for v in self.versions if v.storage), None)


@dataclass(frozen=True, slots=True)
class ListedObject:
    """A custom object as a list returned it: written back unchanged to store it in the storage version."""

    namespace: str | None  # None for cluster-scoped kinds
    name: str
    resource_version: str
    # The whole object as listed: the write-back is an update of it (what clusterctl sends).
    body: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


def crd_from_object(obj: Mapping[str, Any]) -> Crd:
    """A CRD object as the API serves it or a components file holds it."""
    spec = obj["spec"]
    return Crd(
        name=obj["metadata"]["name"],
        group=spec["group"],
        kind=spec["names"]["kind"],
        plural=spec["names"]["plural"],
        versions=tuple(CrdVersion(v["name"], bool(v.get("served")), bool(v.get("storage"))) for v in spec["versions"]),
        stored_versions=tuple((obj.get("status") or {}).get("storedVersions") or ()),
        resource_version=obj["metadata"].get("resourceVersion"),
    )


class KubernetesApi(Protocol):
    """The reads clusterctl-py makes of a Kubernetes API; each is one request."""

    endpoint: str

    def get_cluster(self, namespace: str, name: str) -> Cluster: ...

    def clusters_named(self, name: str) -> list[Cluster]:
        """Clusters of that name in every namespace (one list with a field selector)."""

    def infrastructure_cluster(self, namespace: str, ref: ObjectRef) -> InfrastructureCluster: ...

    def control_plane(self, namespace: str, ref: ObjectRef) -> ControlPlane: ...

    def kubeadm_control_plane(self, namespace: str, name: str) -> ControlPlane: ...

    def machine_deployments(self, namespace: str, cluster: str) -> list[MachineDeployment]: ...

    def machine_sets(self, namespace: str, cluster: str) -> list[MachineSet]: ...

    def machines(self, namespace: str, cluster: str) -> list[Machine]: ...

    def helm_release_proxies(self, namespace: str, cluster: str) -> list[HelmReleaseProxy]: ...

    def providers(self) -> list[Provider]:
        """clusterctl's `Provider` inventory, every namespace."""

    def deployments(self, namespace: str, label_selector: str | None = None) -> list[Deployment]: ...

    def nodes(self, label_selector: str | None = None) -> list[Node]: ...

    def upgrade_plan(self, namespace: str, name: str) -> UpgradePlan:
        """One system-upgrade-controller Plan; NotFound when SUC or the Plan is not there."""

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        """One decoded value of a Secret; only where a command hands it to the user."""

    def close(self) -> None: ...


class ObjectApi(Protocol):
    """Namespaced objects of any kind as plain JSON: the seam of the app commands (clusterctl_py.apps).

    `api_version` is "v1" for core kinds or "<group>/<version>"; `plural` the resource.
    Each call is one request (retried as the module docstring says).
    """

    endpoint: str

    def get(self, api_version: str, plural: str, namespace: str | None, name: str) -> Mapping[str, Any] | None:
        """The object, or None when there is none; `namespace` None for a cluster-scoped kind (a Namespace)."""

    def list(self, api_version: str, plural: str, namespace: str | None, label_selector: str | None = None) -> list[Mapping[str, Any]]:
        """Objects in `namespace`, or in every namespace when it is None."""

    def create(self, api_version: str, plural: str, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def replace(self, api_version: str, plural: str, namespace: str, name: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def merge_patch(self, api_version: str, plural: str, namespace: str, name: str, patch: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def delete(self, api_version: str, plural: str, namespace: str, name: str) -> bool:
        """False when the object was already gone."""

    def serves(self, api_version: str, plural: str) -> bool:
        """Whether the kind is served (its CRD installed)."""

    def pod_log(self, namespace: str, name: str, container: str, *, follow: bool = False) -> Iterator[str]: ...

    def close(self) -> None: ...


# Core kinds the generic calls reach (plural -> CoreV1Api's name for it).
_CORE_KINDS = {"secrets": "secret", "pods": "pod", "namespaces": "namespace"}


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


# --------------------------------------------------------------------------- parsing


def _conditions(items: Any) -> Conditions:
    out = []
    for c in items or ():
        if isinstance(c, Mapping) and c.get("type"):
            out.append(
                Condition(
                    type=str(c["type"]),
                    status=str(c.get("status", "Unknown")),
                    reason=str(c.get("reason") or ""),
                    message=str(c.get("message") or ""),
                    since=_when(c.get("lastTransitionTime")),
                )
            )
    return tuple(out)


# For callers that read other kinds as JSON (clusterctl_py.apps: Knative's conditions are metav1-shaped too).
parse_conditions = _conditions


def _provider_conditions(status: Mapping[str, Any]) -> Conditions:
    # status.v1beta2.conditions first, then status.conditions: how clusterctl reads a provider's
    # object (kubernetes-sigs/cluster-api util/conditions/getter.go UnstructuredGetAll).
    v1beta2 = (status.get("v1beta2") or {}).get("conditions")
    return _conditions(v1beta2 if isinstance(v1beta2, list) else status.get("conditions"))


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _ref(value: Any) -> ObjectRef | None:
    if isinstance(value, Mapping) and value.get("kind") and value.get("name"):
        return ObjectRef(str(value.get("apiGroup") or ""), str(value["kind"]), str(value["name"]))
    return None


def _controller(meta: Mapping[str, Any]) -> Owner | None:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            return Owner(ref.get("kind", ""), ref.get("name", ""), ref.get("uid", ""))
    return None


def _replicas(status: Mapping[str, Any], desired: Any = None) -> Replicas:
    return Replicas(
        desired=_int(desired),
        current=_int(status.get("replicas")),
        ready=_int(status.get("readyReplicas")),
        available=_int(status.get("availableReplicas")),
        up_to_date=_int(status.get("upToDateReplicas")),
    )


def _cluster(obj: Mapping[str, Any]) -> Cluster:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}

    def counters(part: Mapping[str, Any]) -> Replicas:
        return _replicas(part, part.get("desiredReplicas"))

    return Cluster(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        created=_when(meta.get("creationTimestamp")),
        phase=str(status.get("phase") or ""),
        control_plane_ref=_ref(spec.get("controlPlaneRef")),
        infrastructure_ref=_ref(spec.get("infrastructureRef")),
        control_plane=counters(status.get("controlPlane") or {}),
        workers=counters(status.get("workers") or {}),
        conditions=_conditions(status.get("conditions")),
        paused=bool(spec.get("paused")),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _infrastructure_cluster(obj: Mapping[str, Any]) -> InfrastructureCluster:
    meta, status = _meta(obj), obj.get("status") or {}
    ready = status.get("ready")
    return InfrastructureCluster(
        kind=obj.get("kind", ""),
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        created=_when(meta.get("creationTimestamp")),
        ready=ready if isinstance(ready, bool) else None,
        conditions=_provider_conditions(status),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _control_plane(obj: Mapping[str, Any]) -> ControlPlane:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    initialized = (status.get("initialization") or {}).get("controlPlaneInitialized")
    return ControlPlane(
        kind=obj.get("kind", ""),
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        created=_when(meta.get("creationTimestamp")),
        version=spec.get("version"),
        status_version=status.get("version"),
        replicas=_replicas(status, spec.get("replicas")),
        initialized=initialized if isinstance(initialized, bool) else None,
        conditions=_provider_conditions(status),
        deleting=bool(meta.get("deletionTimestamp")),
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
    )


def _machine_deployment(obj: Mapping[str, Any]) -> MachineDeployment:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    annotations = meta.get("annotations") or {}
    return MachineDeployment(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        created=_when(meta.get("creationTimestamp")),
        version=((spec.get("template") or {}).get("spec") or {}).get("version"),
        replicas=_replicas(status, spec.get("replicas")),
        phase=str(status.get("phase") or ""),
        conditions=_conditions(status.get("conditions")),
        autoscaler_min=_int(annotations.get(AUTOSCALER_MIN)),
        autoscaler_max=_int(annotations.get(AUTOSCALER_MAX)),
        deleting=bool(meta.get("deletionTimestamp")),
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
    )


def _machine_set(obj: Mapping[str, Any]) -> MachineSet:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    return MachineSet(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        created=_when(meta.get("creationTimestamp")),
        owner=_controller(meta),
        version=((spec.get("template") or {}).get("spec") or {}).get("version"),
        replicas=_replicas(status, spec.get("replicas")),
        conditions=_conditions(status.get("conditions")),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _machine(obj: Mapping[str, Any]) -> Machine:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    labels = meta.get("labels") or {}
    return Machine(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        uid=meta.get("uid", ""),
        created=_when(meta.get("creationTimestamp")),
        version=spec.get("version"),
        phase=str(status.get("phase") or ""),
        node_name=(status.get("nodeRef") or {}).get("name"),
        kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion"),
        provider_id=spec.get("providerID"),
        # kubernetes-sigs/cluster-api util/util.go IsControlPlaneMachine: the label is present.
        control_plane=CONTROL_PLANE_LABEL in labels,
        owner=_controller(meta),
        deployment=labels.get(DEPLOYMENT_NAME_LABEL),
        conditions=_conditions(status.get("conditions")),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _helm_release_proxy(obj: Mapping[str, Any]) -> HelmReleaseProxy:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    return HelmReleaseProxy(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        created=_when(meta.get("creationTimestamp")),
        chart=str(spec.get("chartName") or ""),
        release_name=str(spec.get("releaseName") or ""),
        release_namespace=str(spec.get("namespace") or ""),
        version=str(spec.get("version") or ""),
        status=str(status.get("status") or ""),
        revision=_int(status.get("revision")),
        # kubernetes-sigs/cluster-api-addon-provider-helm api/v1alpha1/helmreleaseproxy_types.go HelmChartProxyLabelName
        helm_chart_proxy=(meta.get("labels") or {}).get("helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name"),
        conditions=_conditions(status.get("conditions")),
    )


def _provider(obj: Mapping[str, Any]) -> Provider:
    meta = _meta(obj)
    return Provider(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        provider_name=str(obj.get("providerName") or ""),
        type=str(obj.get("type") or ""),
        version=str(obj.get("version") or ""),
    )


def _deployment(obj: Mapping[str, Any]) -> Deployment:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers")) or ()
    return Deployment(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        created=_when(meta.get("creationTimestamp")),
        labels=MappingProxyType(dict(meta.get("labels") or {})),
        images=tuple(str(c.get("image", "")) for c in containers),
        replicas=Replicas(
            desired=_int(spec.get("replicas")),
            current=_int(status.get("replicas")),
            ready=_int(status.get("readyReplicas")),
            available=_int(status.get("availableReplicas")),
            up_to_date=_int(status.get("updatedReplicas")),
        ),
        conditions=_conditions(status.get("conditions")),
    )


def _upgrade_plan(obj: Mapping[str, Any]) -> UpgradePlan:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    return UpgradePlan(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        version=spec.get("version"),
        latest_version=status.get("latestVersion"),
        applying=tuple(str(n) for n in status.get("applying") or ()),
        conditions=_conditions(status.get("conditions")),
    )


def _node(obj: Mapping[str, Any]) -> Node:
    meta, status = _meta(obj), obj.get("status") or {}
    ready = find(_conditions(status.get("conditions")), "Ready")
    return Node(
        name=meta.get("name", ""),
        created=_when(meta.get("creationTimestamp")),
        kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion"),
        ready=None if ready is None else ready.status == "True",
        labels=MappingProxyType(dict(meta.get("labels") or {})),
    )


# --------------------------------------------------------------------------- errors and retries


def _status_message(body: Any) -> str:
    """The `message` of a Kubernetes `Status` body; nothing else of the body, ever."""
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        return ""
    if not isinstance(data, dict) or data.get("kind") != "Status":
        return ""
    message = " ".join(str(data.get("message") or "").split())
    return message if len(message) <= 300 else message[:297] + "..."


def _status_reason(body: Any) -> str | None:
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        return None
    return str(data.get("reason")) if isinstance(data, dict) and data.get("kind") == "Status" and data.get("reason") else None


def _retry_after(exc: BaseException | None) -> float | None:
    """Integer seconds of a Retry-After header, as client-go reads it."""
    headers = getattr(exc, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == "retry-after" and str(value).strip().isdigit():
            return float(int(str(value).strip()))
    return None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, k8s.ApiException):
        return exc.status == 429 or 500 <= (exc.status or 0) <= 599
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return False  # a wrong host name does not heal by waiting
    return isinstance(exc, (urllib3.exceptions.TimeoutError, urllib3.exceptions.ProtocolError, urllib3.exceptions.NewConnectionError))


def _connection_problem(exc: BaseException) -> str:
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return "the host name does not resolve"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "no answer in time"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "the connection was dropped"
    return type(exc).__name__


def translate(exc: BaseException, endpoint: str, what: str, tries: int = 1) -> ClientError:
    """Our error for an SDK or transport exception: status, reason and Status message only."""
    api = f"Kubernetes API {endpoint}"
    gave_up = f" (gave up after {tries} attempts)" if tries > 1 else ""
    if isinstance(exc, k8s.ApiException):
        status = exc.status or 0
        message = _status_message(exc.body)
        reason = _status_reason(exc.body)
        text = f"{what}: {status} {exc.reason or ''}".rstrip()
        if message:
            text += f": {message}"
        if status == 401:
            return Unauthorized(text + "; the kubeconfig's credentials are not accepted (expired or revoked?)", api=api, code=reason)
        if status == 403:
            return Forbidden(text, api=api, code=reason)
        if status == 404:
            return NotFound(text, api=api, code=reason)
        if status == 409:
            return Conflict(text, api=api, code=reason)
        if status == 0:  # the SDK's own errors (TLS): "SSLError\n<urllib3's text>" (kubernetes/client/rest.py)
            detail = (str(exc.reason or "").splitlines() or [""])[-1][:200]
            return Unavailable(f"{what}: TLS failed ({detail}); is the kubeconfig's certificate authority the cluster's?", api=api)
        if status == 429 or status >= 500:
            return Unavailable(text + gave_up, api=api, code=reason)
        return ClientError(text, api=api, code=reason)
    return Unavailable(f"{what}: {_connection_problem(exc)}{gave_up}", api=api)


# --------------------------------------------------------------------------- the client


def _server_of(cfg: Any) -> str:
    return str(getattr(cfg, "host", "") or "")


def load_configuration(kubeconfig: Kubeconfig, temp_dir: str) -> Any:
    """A `kubernetes.client.Configuration` from a kubeconfig; BadCredentials when it cannot be used.

    Messages name where the kubeconfig came from and never quote it: a YAML
    error reports only the line and column, since the line may hold a key.
    """
    cfg = k8s.Configuration()
    not_kubeconfig = BadCredentials(
        f"{kubeconfig.origin}: not a kubeconfig (expected a mapping with clusters, users and contexts)", api="kubeconfig"
    )
    try:
        if kubeconfig.text is not None:
            data = yaml.safe_load(kubeconfig.text)
            if not isinstance(data, dict):
                raise not_kubeconfig
            k8s_config.load_kube_config_from_dict(
                data, context=kubeconfig.context, client_configuration=cfg, persist_config=False, temp_file_path=temp_dir
            )
        else:
            k8s_config.load_kube_config(
                config_file=kubeconfig.path, context=kubeconfig.context, client_configuration=cfg,
                persist_config=False, temp_file_path=temp_dir,
            )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise BadCredentials(f"{kubeconfig.origin}: not valid YAML{where}", api="kubeconfig") from None
    except ConfigException as exc:
        raise BadCredentials(f"{kubeconfig.origin}: {' '.join(str(exc).split())}", api="kubeconfig") from None
    except (TypeError, AttributeError):
        # The SDK's loader indexes whatever the YAML holds (kube_config.py KubeConfigMerger):
        # a file of another shape fails there, not with a ConfigException.
        raise not_kubeconfig from None
    return cfg


class KubeClient:
    """`KubernetesApi` over the `kubernetes` client. Use as a context manager (or call `close`)."""

    def __init__(
        self,
        kubeconfig: Kubeconfig,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        retry_for: float = RETRY_FOR,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
        list_page: int = LIST_PAGE,
    ):
        self._dir = tempfile.mkdtemp(prefix="clusterctl-py-kube-")  # mode 0700
        try:
            cfg = load_configuration(kubeconfig, self._dir)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        cfg.retries = False  # ours are the only retries (module docstring)
        self.endpoint = _server_of(cfg)
        self._api = k8s.ApiClient(cfg)
        self._api.user_agent = "clusterctl-py"
        self._core = k8s.CoreV1Api(self._api)
        self._apps = k8s.AppsV1Api(self._api)
        self._objects = k8s.CustomObjectsApi(self._api)
        self._extensions = k8s.ApiextensionsV1Api(self._api)
        self._timeout = timeout
        self._retry_for = retry_for
        self._attempts = attempts
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry
        self._list_page = list_page
        self._preferred: dict[str, str] | None = None
        self._plurals: dict[tuple[str, str], dict[str, str]] = {}

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._api.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    # -- one request, retried -------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, _decode: Callable[[bytes], Any] | None = None, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` (an SDK call) as parsed JSON (or as `_decode` reads the body), under the retry policy."""
        start = self._clock()
        waited = [0.0]

        def wait(state: tenacity.RetryCallState) -> float:
            after = _retry_after(state.outcome.exception())
            # Full jitter, doubling from 0.5 s up to 8 s (AWS Architecture Blog, "Exponential Backoff And Jitter").
            return after if after is not None else random.uniform(0, min(8.0, 0.5 * 2 ** (state.attempt_number - 1)))

        def stop(state: tenacity.RetryCallState) -> bool:
            # tenacity computes the wait first, so a Retry-After beyond the budget stops here, unslept.
            elapsed = max(self._clock() - start, waited[0])
            return state.attempt_number >= self._attempts or elapsed + state.upcoming_sleep > self._retry_for

        def before_sleep(state: tenacity.RetryCallState) -> None:
            waited[0] += state.upcoming_sleep
            if self._on_retry is not None:
                exc = state.outcome.exception()
                self._on_retry(f"{translate(exc, self.endpoint, what)}; retrying in {state.upcoming_sleep:.1f}s")

        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(_transient),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = fn(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
                    try:
                        return _decode(response.data) if _decode else json.loads(response.data or b"null")
                    finally:
                        response.release_conn()
        except (k8s.ApiException, urllib3.exceptions.HTTPError) as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            raise translate(exc, self.endpoint, what, tries) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _items(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Mapping[str, Any]]:
        data = self._call(what, fn, *args, **kwargs)
        return list((data or {}).get("items") or ())

    def _list(self, what: str, group: str, version: str, plural: str, namespace: str, selector: str):
        return self._items(what, self._objects.list_namespaced_custom_object, group, version, namespace, plural, label_selector=selector)

    # -- discovery --------------------------------------------------------------------

    def _resolve(self, ref: ObjectRef) -> tuple[str, str]:
        """(version, plural) of a referenced kind: Cluster API's own are known, providers' discovered."""
        known = _KNOWN.get((ref.api_group, ref.kind))
        if known is not None:
            return known
        if self._preferred is None:
            groups = self._call("discovery of API groups", k8s.ApisApi(self._api).get_api_versions)
            self._preferred = {
                g.get("name", ""): (g.get("preferredVersion") or {}).get("version", "") for g in (groups or {}).get("groups") or ()
            }
        version = self._preferred.get(ref.api_group)
        if not version:
            raise NotFound(f"no API group {ref.api_group} is served (is its provider installed?)", api=f"Kubernetes API {self.endpoint}")
        key = (ref.api_group, version)
        if key not in self._plurals:
            resources = self._call(f"discovery of {ref.api_group}/{version}", self._objects.get_api_resources, ref.api_group, version)
            self._plurals[key] = {
                r.get("kind", ""): r.get("name", "") for r in (resources or {}).get("resources") or () if "/" not in r.get("name", "")
            }
        plural = self._plurals[key].get(ref.kind)
        if not plural:
            raise NotFound(f"{ref.api_group}/{version} serves no kind {ref.kind}", api=f"Kubernetes API {self.endpoint}")
        return version, plural

    def _get_ref(self, namespace: str, ref: ObjectRef) -> Mapping[str, Any]:
        version, plural = self._resolve(ref)
        return self._call(
            f"get {ref.kind} {namespace}/{ref.name}",
            self._objects.get_namespaced_custom_object, ref.api_group, version, namespace, plural, ref.name,
        )

    # -- KubernetesApi -------------------------------------------------------------------

    def get_cluster(self, namespace: str, name: str) -> Cluster:
        return _cluster(self._call(
            f"get Cluster {namespace}/{name}",
            self._objects.get_namespaced_custom_object, CAPI_GROUP, CAPI_VERSION, namespace, "clusters", name,
        ))

    def clusters_named(self, name: str) -> list[Cluster]:
        return [_cluster(o) for o in self._items(
            f"list Clusters named {name}",
            self._objects.list_cluster_custom_object, CAPI_GROUP, CAPI_VERSION, "clusters", field_selector=f"metadata.name={name}",
        )]

    def infrastructure_cluster(self, namespace: str, ref: ObjectRef) -> InfrastructureCluster:
        return _infrastructure_cluster(self._get_ref(namespace, ref))

    def control_plane(self, namespace: str, ref: ObjectRef) -> ControlPlane:
        return _control_plane(self._get_ref(namespace, ref))

    def kubeadm_control_plane(self, namespace: str, name: str) -> ControlPlane:
        return self.control_plane(namespace, ObjectRef("controlplane.cluster.x-k8s.io", "KubeadmControlPlane", name))

    def machine_deployments(self, namespace: str, cluster: str) -> list[MachineDeployment]:
        items = self._list(f"list MachineDeployments of {namespace}/{cluster}", CAPI_GROUP, CAPI_VERSION, "machinedeployments",
                           namespace, f"{CLUSTER_NAME_LABEL}={cluster}")
        return [_machine_deployment(o) for o in items]

    def machine_sets(self, namespace: str, cluster: str) -> list[MachineSet]:
        items = self._list(f"list MachineSets of {namespace}/{cluster}", CAPI_GROUP, CAPI_VERSION, "machinesets",
                           namespace, f"{CLUSTER_NAME_LABEL}={cluster}")
        return [_machine_set(o) for o in items]

    def machines(self, namespace: str, cluster: str) -> list[Machine]:
        items = self._list(f"list Machines of {namespace}/{cluster}", CAPI_GROUP, CAPI_VERSION, "machines",
                           namespace, f"{CLUSTER_NAME_LABEL}={cluster}")
        return [_machine(o) for o in items]

    def helm_release_proxies(self, namespace: str, cluster: str) -> list[HelmReleaseProxy]:
        items = self._list(f"list HelmReleaseProxies of {namespace}/{cluster}", CAAPH_GROUP, CAAPH_VERSION, "helmreleaseproxies",
                           namespace, f"{CLUSTER_NAME_LABEL}={cluster}")
        return [_helm_release_proxy(o) for o in items]

    def providers(self) -> list[Provider]:
        items = self._items("list clusterctl Providers", self._objects.list_cluster_custom_object,
                            INVENTORY_GROUP, INVENTORY_VERSION, "providers")
        return [_provider(o) for o in items]

    def deployments(self, namespace: str, label_selector: str | None = None) -> list[Deployment]:
        items = self._items(f"list Deployments in {namespace}", self._apps.list_namespaced_deployment, namespace,
                            label_selector=label_selector)
        return [_deployment(o) for o in items]

    def nodes(self, label_selector: str | None = None) -> list[Node]:
        return [_node(o) for o in self._items("list Nodes", self._core.list_node, label_selector=label_selector)]

    def upgrade_plan(self, namespace: str, name: str) -> UpgradePlan:
        return _upgrade_plan(self._call(
            f"get Plan {namespace}/{name}",
            self._objects.get_namespaced_custom_object, SUC_GROUP, SUC_VERSION, namespace, "plans", name,
        ))

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        what = f"get Secret {namespace}/{name}"
        data = (self._call(what, self._core.read_namespaced_secret, name, namespace) or {}).get("data") or {}
        if key not in data:
            raise NotFound(f"{what}: it has no key {key!r}", api=f"Kubernetes API {self.endpoint}")
        try:
            return base64.b64decode(data[key], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ClientError(f"{what}: key {key!r} is not base64-encoded UTF-8 text", api=f"Kubernetes API {self.endpoint}") from None


    # -- CrdMigrationApi (clusterctl_py.ops.crd_migration) ----------------------------------

    def list_crds(self) -> list[Crd]:
        items = self._items("list CustomResourceDefinitions", self._extensions.list_custom_resource_definition)
        return [crd_from_object(o) for o in items]

    def list_objects(self, group: str, version: str, plural: str) -> list[ListedObject]:
        """Every object of the kind in every namespace, a page at a time (`limit` and `continue`)."""
        found: list[ListedObject] = []
        token: str | None = None
        while True:
            page = self._call(
                f"list {plural}.{group}/{version}", self._objects.list_cluster_custom_object, group, version, plural,
                limit=self._list_page, **({"_continue": token} if token else {}),
            ) or {}
            for obj in page.get("items") or ():
                meta = _meta(obj)
                found.append(ListedObject(meta.get("namespace") or None, meta.get("name", ""), str(meta.get("resourceVersion", "")), obj))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return found

    def rewrite(self, group: str, version: str, plural: str, obj: ListedObject) -> None:
        """Write the object back unchanged: an update (PUT) of the object as listed, as clusterctl does
        (kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/crd_migration.go
        migrateResourcesForCRD: `Client.Update` of each listed object).

        Its resourceVersion makes it conditional: an object written since the list
        answers 409 (Conflict), one deleted since 404 (NotFound). "Write them with
        the same content. This forces the backend to write objects in the current
        storage version" (kubernetes.io/docs custom-resource-definition-versioning,
        "Upgrade existing objects to a new stored version"): the storage layer
        skips a write only when the newly encoded bytes equal those in etcd
        (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go
        GuaranteedUpdate, `bytes.Equal(data, origState.data)`), and an object stored
        in an older version never encodes to the same bytes.
        """
        if obj.body is None:
            raise ValueError(f"{plural}.{group} {obj.name}: no listed body to write back")
        where = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
        what = f"rewrite {plural}.{group} {where}"
        if obj.namespace:
            self._call(what, self._objects.replace_namespaced_custom_object, group, version, obj.namespace, plural, obj.name, dict(obj.body))
        else:
            self._call(what, self._objects.replace_cluster_custom_object, group, version, plural, obj.name, dict(obj.body))

    def set_stored_versions(self, crd: Crd, stored_versions: Sequence[str]) -> None:
        """A merge patch of the CRD's status subresource carrying the resourceVersion it was read at,
        so a CRD changed since answers 409 instead of being overwritten (what CAPI's own migrator
        sends: kubernetes-sigs/cluster-api controllers/crdmigrator/crd_migrator.go,
        `Status().Patch` with `MergeFromWithOptimisticLock`)."""
        metadata = {"resourceVersion": crd.resource_version} if crd.resource_version else {}
        self._call(
            f"set status.storedVersions of CustomResourceDefinition {crd.name}",
            self._extensions.patch_custom_resource_definition_status, crd.name,
            {"metadata": metadata, "status": {"storedVersions": list(stored_versions)}},
            _content_type="application/merge-patch+json",
        )

    # -- ObjectApi: namespaced objects as plain JSON (clusterctl_py.apps) ---------------------

    def _core_method(self, plural: str, verb: str) -> Callable[..., Any]:
        """The CoreV1Api method for a core kind: `read_namespaced_secret`, `list_pod_for_all_namespaces`, ..."""
        singular = _CORE_KINDS.get(plural)
        if singular is None:
            raise ValueError(f"core kind {plural!r} is not served by this client (known: {', '.join(_CORE_KINDS)})")
        return getattr(self._core, verb.format(singular))

    def get(self, api_version: str, plural: str, namespace: str | None, name: str) -> Mapping[str, Any] | None:
        what = f"get {plural} {namespace}/{name}" if namespace else f"get {plural} {name}"
        group, version = _split_api_version(api_version)
        try:
            if group and namespace:
                return self._call(what, self._objects.get_namespaced_custom_object, group, version, namespace, plural, name)
            if group:
                return self._call(what, self._objects.get_cluster_custom_object, group, version, plural, name)
            if namespace:
                return self._call(what, self._core_method(plural, "read_namespaced_{}"), name, namespace)
            return self._call(what, self._core_method(plural, "read_{}"), name)
        except NotFound:
            return None

    def list(self, api_version: str, plural: str, namespace: str | None, label_selector: str | None = None) -> list[Mapping[str, Any]]:
        where = f"in {namespace}" if namespace else "in every namespace"
        what = f"list {plural} {where}" + (f" ({label_selector})" if label_selector else "")
        group, version = _split_api_version(api_version)
        kw = {"label_selector": label_selector} if label_selector else {}
        if group and namespace:
            return self._items(what, self._objects.list_namespaced_custom_object, group, version, namespace, plural, **kw)
        if group:
            return self._items(what, self._objects.list_cluster_custom_object, group, version, plural, **kw)
        if namespace:
            return self._items(what, self._core_method(plural, "list_namespaced_{}"), namespace, **kw)
        return self._items(what, self._core_method(plural, "list_{}_for_all_namespaces"), **kw)

    def create(self, api_version: str, plural: str, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        what = f"create {plural} {namespace}/{body['metadata']['name']}"
        group, version = _split_api_version(api_version)
        if group:
            return self._call(what, self._objects.create_namespaced_custom_object, group, version, namespace, plural, dict(body))
        return self._call(what, self._core_method(plural, "create_namespaced_{}"), namespace, dict(body))

    def replace(self, api_version: str, plural: str, namespace: str, name: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """An update (PUT); the body's resourceVersion makes it conditional (409: changed since read)."""
        what = f"update {plural} {namespace}/{name}"
        group, version = _split_api_version(api_version)
        if group:
            return self._call(what, self._objects.replace_namespaced_custom_object, group, version, namespace, plural, name, dict(body))
        return self._call(what, self._core_method(plural, "replace_namespaced_{}"), name, namespace, dict(body))

    def merge_patch(self, api_version: str, plural: str, namespace: str, name: str, patch: Mapping[str, Any]) -> Mapping[str, Any]:
        what = f"patch {plural} {namespace}/{name}"
        group, version = _split_api_version(api_version)
        merge = {"_content_type": "application/merge-patch+json"}
        if group:
            return self._call(what, self._objects.patch_namespaced_custom_object, group, version, namespace, plural, name, dict(patch), **merge)
        return self._call(what, self._core_method(plural, "patch_namespaced_{}"), name, namespace, dict(patch), **merge)

    def delete(self, api_version: str, plural: str, namespace: str, name: str) -> bool:
        """Ask for the deletion (its dependents go by garbage collection); False when it was already gone."""
        what = f"delete {plural} {namespace}/{name}"
        group, version = _split_api_version(api_version)
        try:
            if group:
                self._call(what, self._objects.delete_namespaced_custom_object, group, version, namespace, plural, name)
            else:
                self._call(what, self._core_method(plural, "delete_namespaced_{}"), name, namespace)
        except NotFound:
            return False
        return True

    def serves(self, api_version: str, plural: str) -> bool:
        """Whether the API serves the kind (discovery, which every authenticated user may read)."""
        group, version = _split_api_version(api_version)
        try:
            found = self._call(f"discovery of {api_version}", self._objects.get_api_resources, group, version)
        except NotFound:
            return False
        return any(r.get("name") == plural for r in (found or {}).get("resources") or ())

    def pod_log(self, namespace: str, name: str, container: str, *, follow: bool = False) -> Iterator[str]:
        """The container's log, line by line; with `follow`, lines as they come until the container ends."""
        what = f"read the log of pod {namespace}/{name} container {container}"
        if not follow:
            text = self._call(what, self._core.read_namespaced_pod_log, name, namespace, container=container,
                              _decode=lambda data: (data or b"").decode("utf-8", "replace"))
            yield from text.splitlines()
            return
        # Followed: one request, not retried (a retry would repeat the lines already shown).
        try:
            response = self._core.read_namespaced_pod_log(
                name, namespace, container=container, follow=True, _preload_content=False,  # no read timeout: a log may idle
            )
        except (k8s.ApiException, urllib3.exceptions.HTTPError) as exc:
            raise translate(exc, self.endpoint, what) from None
        try:
            pending = b""
            for chunk in response.stream(4096, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
            if pending:
                yield pending.decode("utf-8", "replace")
        except urllib3.exceptions.HTTPError as exc:
            raise translate(exc, self.endpoint, what) from None
        finally:
            response.release_conn()

def default_client(kubeconfig: Kubeconfig, **options: Any) -> KubernetesApi:
    return KubeClient(kubeconfig, **options)


def object_client(kubeconfig: Kubeconfig, **options: Any) -> ObjectApi:
    return KubeClient(kubeconfig, **options)



_PARSERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "Cluster": _cluster,
    "MachineDeployment": _machine_deployment,
    "MachineSet": _machine_set,
    "Machine": _machine,
    "HelmReleaseProxy": _helm_release_proxy,
    "Provider": _provider,
    "Deployment": _deployment,
    "Node": _node,
    "Plan": _upgrade_plan,
}


def parse(obj: Mapping[str, Any]) -> Any:
    """Our dataclass for an object as the API returns it (for callers that hold the JSON already).

    Other `...ControlPlane` kinds read as a ControlPlane, other `...Cluster` kinds as an
    InfrastructureCluster: that is all the v1beta2 contracts promise about them.
    """
    kind = str(obj.get("kind", ""))
    if kind in _PARSERS:
        return _PARSERS[kind](obj)
    if kind.endswith("ControlPlane"):
        return _control_plane(obj)
    if kind.endswith("Cluster"):
        return _infrastructure_cluster(obj)
    raise ValueError(f"no dataclass for kind {kind!r}")
