"""The platform spec: one validated model for everything a user asks for.

`platform.yaml`, Pulumi stack config and CLI flags all load into
`PlatformSpec`; every check of user input lives here or in the provider's
`check()`, so the renderers can trust what they are given.

Every problem of a file is reported at once: structural errors come from
pydantic, and the cross checks (duplicates, generated names, the provider's
catalog) still run on every part of the file that validated.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from clusterctl_py import networks, providers, versions
from clusterctl_py.node_labels import (
    CAPI_LABEL_DOMAIN,
    CONTROL_PLANE_ROLE_LABELS,
    KUBELET_LABEL_NAMESPACES,
    KUBELET_LABELS,
    KUBELET_OWN_LABELS,
    NODE_ROLE_DOMAIN,
    in_domain,
    is_kubelet_label,
    is_kubernetes_label,
)
from clusterctl_py.errors import Problem, SpecError, invalid, problems_from_validation

# The `hetzner:` section is the provider's own model, reached through the registry.
HetznerSettings = providers.get("hetzner").settings_model

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

# Longest names that still fit machine and server names (<= 63 characters)
# once CAPI appends its hashes and random suffixes.
CLUSTER_NAME_MAX = 24
POOL_NAME_MAX = 20
RESERVED_POOL_NAMES = {"control-plane"}
# No provider here puts more servers in one cluster's network (Hetzner: 100 per
# private network); bounding it here keeps node-group expansion small for every check.
POOL_MAX = 100

# Limits on the input itself, so a hostile or broken file is refused fast.
MAX_INPUT_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32
MAX_YAML_VALUES = 20_000

# Namespaces of the management cluster that the cluster stack must never own
# (it creates the cluster's namespace and deletes it on destroy): Kubernetes'
# own, and those clusterctl-py installs into (cert-manager, the providers of
# clusterctl_py/render/capi_components.py; tests/test_spec.py checks they match).
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "cert-manager")
RESERVED_NAMESPACE_PREFIXES = ("kube-", "capi-", "caph-", "caaph-")

def _dns_label(value: str, max_len: int) -> str:
    if len(value) > max_len or not _DNS_LABEL.match(value):
        raise invalid(
            "'{value}' is not a valid name: use 1-{max} lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (DNS-1123 label)",
            value=value[:80],
            max=max_len,
        )
    return value


def _label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    ok = len(name) <= 63 and _LABEL_NAME.match(name)  # the pattern needs one character at least
    if prefix:
        ok = ok and len(prefix) <= 253 and _DNS_SUBDOMAIN.match(prefix)
    if not ok:
        raise invalid("'{key}' is not a valid Kubernetes label key ([prefix/]name, name <= 63 chars)", key=key[:80])
    return key


def _node_label_key(key: str) -> str:
    """Keys a pool may put on its nodes: what the kubelet accepts, minus what CAPI and the kubelet own."""
    prefix = key.rpartition("/")[0]
    if in_domain(prefix, CAPI_LABEL_DOMAIN):
        raise invalid(
            "label '{key}' is in Cluster API's domain cluster.x-k8s.io: CAPI sets these labels itself"
            " (cluster.x-k8s.io/cluster-name, node.cluster.x-k8s.io/pool, ...) and selects machines by them;"
            " use a prefix of your own",
            key=key,
        )
    if key in CONTROL_PLANE_ROLE_LABELS:
        raise invalid(
            "label '{key}' marks control-plane nodes (KubeadmControlPlane finds its nodes by it); pools hold workers",
            key=key,
        )
    if prefix == NODE_ROLE_DOMAIN:
        return key
    if key in KUBELET_OWN_LABELS:
        raise invalid(
            "label '{key}' is set by the kubelet from each machine; a pool label would overwrite it on every node",
            key=key,
        )
    if is_kubernetes_label(key) and not is_kubelet_label(key):
        allowed = [f"{NODE_ROLE_DOMAIN}/* (set through the Machine)"]
        allowed += [f"[*.]{ns}/*" for ns in KUBELET_LABEL_NAMESPACES]
        allowed += sorted(KUBELET_LABELS - KUBELET_OWN_LABELS - {"node.kubernetes.io/instance-type"})
        raise invalid(
            "label '{key}' is in the kubernetes.io / k8s.io namespace, which the kubelet refuses in"
            " --node-labels; allowed there: {allowed}",
            key=key,
            allowed=", ".join(allowed),
        )
    return key


def _label_value(value: str) -> str:
    if len(value) > 63 or (value and not _LABEL_NAME.match(value)):
        raise invalid(
            "'{value}' is not a valid Kubernetes label value (<= 63 alphanumerics, '-', '_' or '.')", value=value[:80]
        )
    return value


def _kubernetes_version(value: str) -> str:
    m = _VERSION.match(value.strip())
    if not m:
        raise invalid("'{value}' is not a Kubernetes version like v1.33.4", value=value[:80])
    major, minor = int(m[1]), int(m[2])
    if not versions.KUBERNETES_MIN <= (major, minor) <= versions.KUBERNETES_MAX:
        raise invalid(
            "Kubernetes {value} is not supported by Cluster API {capi} with CAPH {caph}; allowed: {range}",
            value=value,
            capi=versions.CAPI,
            caph=versions.CAPH,
            range=versions.supported_kubernetes(),
        )
    return f"v{major}.{minor}.{m[3]}"


def _cidr(value: str) -> str:
    return str(networks.cidr(value))


def _cluster_cidr(value: str) -> str:
    # clusterctl_py/render/addons.py configures Cilium IPv4-only (k8s.requireIPv4PodCIDR).
    return networks.private_ipv4(value, "as the cluster network is IPv4-only")


def _pool_max(value: int) -> int:
    if value > POOL_MAX:
        raise invalid(
            "max {value} is above {limit}, more servers than one cluster's private network holds",
            value=value,
            limit=POOL_MAX,
        )
    return value


def _is_reserved_namespace(value: str) -> bool:
    return value in RESERVED_NAMESPACES or value.startswith(RESERVED_NAMESPACE_PREFIXES)


def _namespace(value: str) -> str:
    if _is_reserved_namespace(value):
        raise invalid("namespace '{value}' is reserved ({why})", value=value, why=_RESERVED_WHY)
    return value


_RESERVED_WHY = (
    "Kubernetes and what clusterctl-py installs in the management cluster use "
    + ", ".join([*(n for n in RESERVED_NAMESPACES if not n.startswith(RESERVED_NAMESPACE_PREFIXES)),
                 *(p + "*" for p in RESERVED_NAMESPACE_PREFIXES)])
    + "; the cluster stack owns its namespace and deletes it on destroy"
)


def _one_of(value: int, choices: tuple[int, ...]) -> int:
    """A strict int among `choices` (Literal would take True for 1 and 3.0 for 3)."""
    if value not in choices:
        allowed = ", ".join(map(str, choices[:-1])) + " or " + str(choices[-1])
        raise invalid("must be {allowed} (got {value})", allowed=allowed, value=value)
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
ClusterCidr = Annotated[str, AfterValidator(_cluster_cidr)]
# partial, not a closure: mutation testing sees only code that runs after import.
ClusterName = Annotated[str, AfterValidator(functools.partial(_dns_label, max_len=CLUSTER_NAME_MAX))]
PoolName = Annotated[str, AfterValidator(functools.partial(_dns_label, max_len=POOL_NAME_MAX))]
Namespace = Annotated[str, AfterValidator(functools.partial(_dns_label, max_len=63)), AfterValidator(_namespace)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
NodeLabelKey = Annotated[str, AfterValidator(_label_key), AfterValidator(_node_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version)]
Name = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    # Strict: `max: "10"`, `max: true` or `min: 1.0` are mistakes, not numbers.
    # Only the documented camelCase keys are accepted.
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, strict=True)

    _failed: frozenset[str] = PrivateAttr(frozenset())

    @property
    def complete(self) -> bool:
        """False while validation is still collecting problems: some fields failed (see _partial)."""
        return not self._failed

    def failed(self, field: str) -> bool:
        """Whether `field` failed validation: it is None, or a partial model or list of them."""
        return field in self._failed


class Taint(_Model):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class ControlPlaneSpec(_Model):
    replicas: Annotated[int, AfterValidator(functools.partial(_one_of, choices=(1, 3, 5)))] = Field(3, description="Odd, so etcd keeps quorum.")
    server_type: Name = "cpx22"


class PoolSpec(_Model):
    name: PoolName
    server_type: Name
    min: int = Field(0, ge=0, description="The autoscaler never goes below this; 0 allows scale to zero.")
    max: Annotated[int, AfterValidator(_pool_max)] = Field(ge=1, description="The autoscaler never goes above this.")
    labels: dict[NodeLabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    placement: Literal["spread", "none"] = Field(
        "spread", description="spread: servers on distinct hosts (placement groups); none: no constraint."
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_POOL_NAMES:
            raise invalid("pool name '{name}' is reserved", name=name)
        return name

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and value < low:
            raise invalid("max ({max}) must be >= min ({min})", max=value, min=low)
        return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GIT_URL = re.compile(r"^(https://|ssh://|git@)[^\s]+$")


def _domain(value: str) -> str:
    """The apps' domain suffix: apps answer on <app>.<namespace>.<domain>."""
    if len(value) > 200 or "." not in value or not _DNS_SUBDOMAIN.match(value) or any(len(p) > 63 for p in value.split(".")):
        raise invalid(
            "'{value}' is not a domain like apps.example.com (lowercase DNS name with at least two labels,"
            " at most 200 characters so <app>.<namespace>.<domain> stays a valid host name)",
            value=value[:80],
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise invalid("'{value}' is not an e-mail address (the ACME account's contact)", value=value[:80])
    return value


def _git_url(value: str) -> str:
    if not _GIT_URL.match(value):
        raise invalid(
            "'{value}' is not a Git URL Flux can clone: use https://..., ssh://... or git@host:path", value=value[:120]
        )
    return value


class GitopsSpec(_Model):
    """What Flux syncs from: one Git repository, branch and path."""

    url: Annotated[str, AfterValidator(_git_url)]
    branch: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")] = "main"
    path: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")] = "./"


class PlatformSettings(_Model):
    """The app platform of one workload cluster (stacks/platform; DESIGN.md section 8)."""

    domain: Annotated[str, AfterValidator(_domain)] | None = Field(
        None,
        description="Apps answer on <app>.<namespace>.<domain>; point a wildcard DNS record at the ingress"
        " load balancer. Unset: a wildcard-DNS name of the load balancer's address (sslip.io), for trying"
        " things out only: Let's Encrypt has no certificates left for it.",
    )
    email: Annotated[str, AfterValidator(_email)] | None = Field(None, description="Let's Encrypt account contact.")
    tls: Literal["staging", "production", "off"] = Field(
        "staging", description="Let's Encrypt staging (untrusted, generous limits), production, or plain HTTP."
    )
    challenge: Literal["http01", "dns01"] = Field(
        "http01",
        description="http01: Knative's ingress answers each certificate's challenge. dns01: through Hetzner DNS"
        " (the domain's zone must be there), one wildcard certificate per namespace.",
    )
    scale_to_zero: bool = True
    ingress: Literal["kourier"] = Field("kourier", description="Knative's networking layer (docs/platform.md says why Kourier).")
    gitops: GitopsSpec | None = None
    postgres: bool = Field(False, description="Install the CloudNativePG operator, for `app deploy --database`.")
    metrics_server: bool = False

    @field_validator("tls")
    @classmethod
    def _production_needs_a_domain(cls, value: str, info: ValidationInfo) -> str:
        if value == "production" and "domain" in info.data and info.data["domain"] is None:
            raise invalid(
                "tls production needs platform.domain: without one, apps get a sslip.io name, and Let's Encrypt"
                " has no certificates left for sslip.io (50 per registered domain per week); set a domain of"
                " your own, or use tls: staging"
            )
        return value

    @field_validator("challenge")
    @classmethod
    def _dns01_needs_a_domain(cls, value: str, info: ValidationInfo) -> str:
        if value == "dns01" and "domain" in info.data and info.data["domain"] is None:
            raise invalid("challenge dns01 needs platform.domain (a zone in Hetzner DNS to write the challenge records to)")
        if value == "dns01" and info.data.get("tls") == "off":
            raise invalid("challenge dns01 is for certificates, and tls is off; set tls: staging or production")
        return value


class ClusterSpec(_Model):
    name: ClusterName
    kubernetes_version: KubernetesVersion
    location: Name | None = Field(None, description="Falls back to the provider's default location.")
    namespace: Namespace | None = Field(
        None, description="Namespace in the management cluster; defaults to the cluster name."
    )
    control_plane: ControlPlaneSpec = Field(default_factory=ControlPlaneSpec)
    pools: list[PoolSpec] = Field(min_length=1)
    pod_cidr: ClusterCidr = "10.244.0.0/16"
    service_cidr: ClusterCidr = "10.96.0.0/12"
    platform: PlatformSettings | None = Field(None, description="The app platform; unset: a bare cluster.")

    @field_validator("service_cidr")
    @classmethod
    def _apart_from_pods(cls, value: str, info: ValidationInfo) -> str:
        pods = info.data.get("pod_cidr")
        if pods is not None and ipaddress.ip_network(value).overlaps(ipaddress.ip_network(pods)):
            raise invalid(
                "serviceCidr {value} overlaps podCidr {pods}; service and pod addresses must be distinct",
                value=value,
                pods=pods,
            )
        return value

    @field_validator("platform")
    @classmethod
    def _platform_needs_knative_kubernetes(cls, value: PlatformSettings | None, info: ValidationInfo) -> PlatformSettings | None:
        version = info.data.get("kubernetes_version")
        if value is None or version is None:
            return value
        major, minor = (int(x) for x in version.lstrip("v").split(".")[:2])
        if (major, minor) < versions.KNATIVE_MIN_KUBERNETES:
            low = versions.KNATIVE_MIN_KUBERNETES
            raise invalid(
                "the platform runs Knative Serving {knative}, which needs Kubernetes v{low} or newer;"
                " this cluster runs {version}: set kubernetesVersion to v{low}.x or later (upgrade one minor at a time)",
                knative=versions.KNATIVE_SERVING,
                low=f"{low[0]}.{low[1]}",
                version=version,
            )
        return value

    @property
    def ns(self) -> str:
        return self.namespace or self.name

    @property
    def minor(self) -> tuple[int, int]:
        major, minor, _ = self.kubernetes_version.lstrip("v").split(".")
        return int(major), int(minor)


_K3S_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$")


def _k3s_version(value: str) -> str:
    m = _K3S_VERSION.match(value)
    if not m:
        raise invalid("'{value}' is not a k3s release like v1.33.4+k3s1", value=value[:80])
    if not versions.KUBERNETES_MIN <= (int(m[1]), int(m[2])) <= versions.KUBERNETES_MAX:
        raise invalid(
            "k3s {value} is outside the management-cluster range of Cluster API {capi}; allowed: {range}",
            value=value,
            capi=versions.CAPI,
            range=versions.supported_kubernetes(),
        )
    return value


K3sVersion = Annotated[str, AfterValidator(_k3s_version)]


class ManagementSpec(_Model):
    """The k3s cluster that runs the Cluster API controllers."""

    name: ClusterName = "mgmt"
    servers: Annotated[int, AfterValidator(functools.partial(_one_of, choices=(1, 3)))] = Field(1, description="3 runs k3s with embedded etcd (HA).")
    server_type: Name = "cpx32"
    location: Name | None = None
    # Explicit alias: the generator would spell it k3SVersion.
    k3s_version: K3sVersion = Field(versions.K3S, alias="k3sVersion")
    api_port: int = Field(6443, ge=1, le=65535, description="Port of the Kubernetes API on the servers' public addresses.")
    api_allowed_cidrs: list[Cidr] = Field(
        default_factory=list, description="Who may reach the Kubernetes API (apiPort). Empty: nobody, and `up` refuses to start."
    )
    ssh_allowed_cidrs: list[Cidr] = Field(default_factory=list, description="Who may reach SSH (22). Empty: nobody.")


class PlatformSpec(_Model):
    hetzner: HetznerSettings
    management: ManagementSpec = Field(default_factory=ManagementSpec)
    clusters: list[ClusterSpec] = Field(default_factory=list)

    @property
    def provider_name(self) -> str:
        return "hetzner"

    @property
    def provider(self) -> providers.InfrastructureProvider:
        return providers.get(self.provider_name)

    def cluster(self, name: str) -> ClusterSpec:
        for c in self.clusters:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.clusters) or "none"
        raise SpecError([Problem("clusters", f"no cluster named '{name}'; defined: {known}")])

    def location_of(self, cluster: ClusterSpec) -> str:
        return cluster.location or self.hetzner.location

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler) -> "PlatformSpec":
        # Raised as SpecError (not ValueError) so each problem keeps its own path.
        try:
            spec = handler(data)
        except ValidationError as err:
            problems = problems_from_validation(err, cls)
            locs = [tuple(e["loc"]) for e in err.errors(include_url=False)]
            partial = _partial(cls, data, locs)
            raise SpecError([*problems, *(_cross_checks(partial) if partial is not None else [])]) from None
        problems = _cross_checks(spec)
        if problems:
            raise SpecError(problems)
        return spec


def _partial(model: type[BaseModel], raw: Any, locs: list[tuple]) -> Any:
    """`raw` as `model`, as far as it validated (`locs`: where pydantic found problems).

    Fields with problems are None, down to the items of lists of models; such
    a model records them (`failed`, `complete` False). The cross checks
    and the provider's checks run on this, each check on the fields it reads,
    so one broken value does not hide the problems of the rest. Partial models
    never leave this module: parse() raises.
    """
    if not locs:
        return model.model_validate(raw)
    if () in locs:  # not a mapping, or refused as a whole
        return None
    values: dict[str, Any] = {}
    failed = set()
    for name, f in model.model_fields.items():
        key = f.alias or name
        sub = [loc[1:] for loc in locs if loc[0] == key]
        item = _item_model(f.annotation)
        if not sub:
            values[name] = (
                _field_adapter(model, name).validate_python(raw[key])
                if key in raw
                else f.get_default(call_default_factory=True)
            )
            continue
        failed.add(name)
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            values[name] = _partial(f.annotation, raw[key], sub) if key in raw else None
        elif item is not None and () not in sub and isinstance(raw.get(key), list):
            values[name] = [_partial(item, v, [s[1:] for s in sub if s[0] == i]) for i, v in enumerate(raw[key])]
        else:
            values[name] = None
    instance = model.model_construct(**values)
    if "_failed" in model.__private_attributes__:
        instance._failed = frozenset(failed)
    return instance


@functools.cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    f = model.model_fields[name]
    return TypeAdapter(Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation)


def _item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def _cross_checks(spec: PlatformSpec) -> list[Problem]:
    """Checks across fields and clusters, each on the values it reads that validated."""
    return [*_duplicates(spec), *_reserved_names(spec), *_node_group_names(spec), *spec.provider.check(spec)]


def _defaults_namespace(cluster: ClusterSpec) -> bool:
    """Whether the cluster's name is its namespace (False too where its namespace is invalid)."""
    return cluster.namespace is None and not cluster.failed("namespace")


def _namespace_of(cluster: ClusterSpec) -> str | None:
    """The cluster's namespace, or None where the value that decides it is invalid."""
    return cluster.name if _defaults_namespace(cluster) else cluster.namespace


def _duplicates(spec: PlatformSpec):
    first: dict[str, int] = {}
    first_ns: dict[str, int] = {}
    clusters = [(ci, c) for ci, c in enumerate(spec.clusters or []) if c is not None]
    for ci, cluster in clusters:
        ns = _namespace_of(cluster)
        if cluster.name in first:
            yield Problem(
                f"clusters[{ci}].name", f"duplicate cluster '{cluster.name}' (also clusters[{first[cluster.name]}])"
            )
        elif ns in first_ns:
            field = "namespace" if cluster.namespace else "name"
            yield Problem(f"clusters[{ci}].{field}", f"duplicate namespace '{ns}' (also clusters[{first_ns[ns]}])")
        if cluster.name is not None:
            first.setdefault(cluster.name, ci)
        if ns is not None:
            first_ns.setdefault(ns, ci)
    for ci, cluster in clusters:
        seen: dict[str, int] = {}
        for pi, pool in enumerate(cluster.pools or []):
            if pool is None:
                continue
            if pool.name in seen:
                yield Problem(
                    f"clusters[{ci}].pools[{pi}].name",
                    f"duplicate pool name {pool.name!r} (also pools[{seen[pool.name]}])",
                )
            seen.setdefault(pool.name, pi)


def _reserved_names(spec: PlatformSpec):
    # An explicit namespace is checked on its own field; without one the name is the namespace.
    for ci, cluster in enumerate(spec.clusters or []):
        if cluster is None or cluster.name is None or not _defaults_namespace(cluster):
            continue
        if _is_reserved_namespace(cluster.name):
            yield Problem(
                f"clusters[{ci}].name",
                f"cluster '{cluster.name}' sets no namespace, so its namespace would be '{cluster.name}',"
                f" which is reserved ({_RESERVED_WHY}); rename the cluster or set namespace",
            )


def _node_group_names(spec: PlatformSpec):
    """Node groups of different pools must not share a name (it names their MachineDeployment).

    The provider may split a pool into groups `<pool>`, `<pool>-2`, ...; the
    names come from the provider itself, so a change of its split rule is
    followed here.
    """
    provider = spec.provider
    for ci, cluster in enumerate(spec.clusters or []):
        if cluster is None or not cluster.complete:
            continue
        owner: dict[str, int] = {}
        for pi, pool in enumerate(cluster.pools):
            names = [pool.name + g.suffix for g in provider.node_groups(cluster, pool)]
            for name in names:
                other = owner.get(name)
                if other is not None and cluster.pools[other].name != pool.name:
                    yield Problem(
                        f"clusters[{ci}].pools[{pi}].name",
                        f"pool {pool.name!r} renders node group {name!r}, which pool"
                        f" {cluster.pools[other].name!r} (pools[{other}]) also renders:"
                        f" {_split(provider, cluster, other)}; two MachineDeployments would share that name,"
                        " so rename one of the pools",
                    )
                    break
            for name in names:
                owner.setdefault(name, pi)


def _split(provider, cluster: ClusterSpec, index: int) -> str:
    pool = cluster.pools[index]
    names = [pool.name + g.suffix for g in provider.node_groups(cluster, pool)]
    if len(names) == 1:
        return f"its only node group is {names[0]!r}"
    return f"with max {pool.max} it is split into node groups {', '.join(names)}"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, deep nesting and alias bombs.

    Aliases share nodes, so a few lines can stand for billions of values once
    something walks them as a tree (validation, error messages). While
    composing, before anything is built, every node counts once and every
    alias counts as all the values it repeats; past the limit, the file is
    refused.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._values = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for, once complete

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, "an alias refers to a node that contains it", event.start_mark
                )
            self._count(self._sizes[id(node)], event)
            return node
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        self._count(1, event)
        before = self._values
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._sizes[id(node)] = 1 + self._values - before
        return node

    def _count(self, values: int, event):
        self._values += values
        if self._values > MAX_YAML_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_YAML_VALUES} values (an alias counts as all it repeats)", event.start_mark
            )


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    # PyYAML calls constructors with (loader, node) only, so nothing here is built "deep".
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`; keys it brings may be overridden here
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


def _int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    # Python refuses to convert integers of more than 4300 digits with a ValueError.
    if len(node.value) > 30:
        raise yaml.constructor.ConstructorError(None, None, f"number of {len(node.value)} characters", node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int)


def _refused(message: str, source: str | None = None) -> SpecError:
    """A problem with the input as a whole, not one field."""
    return SpecError([Problem("", message)], source)


def parse(data: Any, source: str | None = None) -> PlatformSpec:
    """Validate already-parsed data (YAML, Pulumi config) into a spec."""
    if not isinstance(data, dict):
        raise _refused(f"expected a mapping at the top level, got {type(data).__name__}", source)
    try:
        return PlatformSpec.model_validate(data)
    except SpecError as err:
        raise SpecError(err.problems, source) from None


def load(path: str | Path) -> PlatformSpec:
    """Read and validate a platform YAML file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_INPUT_BYTES + 1)  # never more, even from an endless pipe
    except FileNotFoundError:
        raise _refused(f"file not found: {path}") from None
    except OSError as exc:
        raise _refused(f"cannot read {path}: {exc}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise _refused(_TOO_LARGE, str(path))
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise _refused(f"cannot read {path}: {exc}") from None
    return loads(text, source=str(path))


_TOO_LARGE = f"larger than {MAX_INPUT_BYTES // 1024} KiB; a platform spec is a few KiB, so this is not one"


def loads(text: str, source: str | None = None) -> PlatformSpec:
    if len(text) > MAX_INPUT_BYTES:
        raise _refused(_TOO_LARGE, source)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.reader.ReaderError as exc:
        # Found before parsing, so without a mark; its own text spans two lines.
        before = text[: exc.position]
        where = f"line {before.count(chr(10)) + 1}, column {exc.position - before.rfind(chr(10))}"
        raise _refused(f"malformed YAML: {where}: unacceptable character #x{exc.character:04x}: {exc.reason}", source) from None
    except yaml.MarkedYAMLError as exc:
        # The context says what was being read ("expected a single document in the stream"); alone,
        # some problems mean little ("but found another document").
        reason = f"{exc.context}, {exc.problem}" if exc.context else exc.problem
        mark = exc.problem_mark
        raise _refused(f"malformed YAML: line {mark.line + 1}, column {mark.column + 1}: {reason}", source) from None
    except ValueError as exc:
        # Values PyYAML cannot build (an impossible date like 2024-13-45, `!!int abc`), cut: they may quote the input.
        raise _refused(f"malformed YAML: {str(exc)[:200]}", source) from None
    return parse(data if data is not None else {}, source)
