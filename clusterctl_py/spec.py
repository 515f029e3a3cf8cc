"""The platform spec: one validated model for everything a user asks for.

`platform.yaml`, Pulumi stack config and CLI flags all load into
`PlatformSpec`; every check of user input lives here or in the provider's
`check()`, so the renderers can trust what they are given.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

import providers
from clusterctl_py import versions
from clusterctl_py.errors import Problem, SpecError, problems_from_validation
from clusterctl_py.render.meta import NODE_ROLE_DOMAIN
from providers.hetzner.settings import HetznerSettings

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

# Longest names that still fit machine and server names (<= 63 characters)
# once CAPI appends its hashes and random suffixes.
CLUSTER_NAME_MAX = 24
POOL_NAME_MAX = 20
RESERVED_POOL_NAMES = {"control-plane"}


def is_kubernetes_label(key: str) -> bool:
    """Whether the key's prefix is kubernetes.io / k8s.io or a subdomain (the kubelet's rule)."""
    prefix = key.rpartition("/")[0]
    return prefix in ("kubernetes.io", "k8s.io") or prefix.endswith((".kubernetes.io", ".k8s.io"))


def _dns_label(max_len: int):
    def check(value: str) -> str:
        if len(value) > max_len or not _DNS_LABEL.match(value):
            raise PydanticCustomError(
                "dns_label",
                "'{value}' is not a valid name: use 1-{max} lowercase letters, digits and '-', "
                "starting and ending with a letter or digit (DNS-1123 label)",
                {"value": value, "max": max_len},
            )
        return value

    return AfterValidator(check)


def _label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    ok = 0 < len(name) <= 63 and _LABEL_NAME.match(name)
    if prefix:
        ok = ok and len(prefix) <= 253 and _DNS_SUBDOMAIN.match(prefix)
    if not ok:
        raise PydanticCustomError(
            "label_key", "'{key}' is not a valid Kubernetes label key ([prefix/]name, name <= 63 chars)", {"key": key}
        )
    return key


def _label_value(value: str) -> str:
    if len(value) > 63 or (value and not _LABEL_NAME.match(value)):
        raise PydanticCustomError(
            "label_value",
            "'{value}' is not a valid Kubernetes label value (<= 63 alphanumerics, '-', '_' or '.')",
            {"value": value},
        )
    return value


def _kubernetes_version(value: str) -> str:
    m = _VERSION.match(value.strip())
    if not m:
        raise PydanticCustomError(
            "k8s_version", "'{value}' is not a Kubernetes version like v1.33.4", {"value": value}
        )
    major, minor = int(m[1]), int(m[2])
    if not versions.KUBERNETES_MIN <= (major, minor) <= versions.KUBERNETES_MAX:
        raise PydanticCustomError(
            "k8s_version_range",
            "Kubernetes {value} is not supported by Cluster API {capi} with CAPH {caph}; allowed: {range}",
            {"value": value, "capi": versions.CAPI, "caph": versions.CAPH, "range": versions.supported_kubernetes()},
        )
    return f"v{major}.{minor}.{m[3]}"


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise PydanticCustomError("cidr", "'{value}' is not a CIDR block ({reason})", {"value": value, "reason": str(exc)}) from None


Cidr = Annotated[str, AfterValidator(_cidr)]
ClusterName = Annotated[str, _dns_label(CLUSTER_NAME_MAX)]
PoolName = Annotated[str, _dns_label(POOL_NAME_MAX)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Taint(_Model):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class ControlPlaneSpec(_Model):
    replicas: Literal[1, 3, 5] = Field(3, description="Odd, so etcd keeps quorum.")
    server_type: str = "cpx22"


class PoolSpec(_Model):
    name: PoolName
    server_type: str
    min: int = Field(0, ge=0, description="The autoscaler never goes below this; 0 allows scale to zero.")
    max: int = Field(ge=1, description="The autoscaler never goes above this.")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    placement: Literal["spread", "none"] = Field(
        "spread", description="spread: servers on distinct hosts (placement groups); none: no constraint."
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_POOL_NAMES:
            raise PydanticCustomError("reserved", "pool name '{name}' is reserved", {"name": name})
        return name

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: int, info) -> int:
        low = info.data.get("min")
        if low is not None and value < low:
            raise PydanticCustomError("min_max", "max ({max}) must be >= min ({min})", {"max": value, "min": low})
        return value

    @field_validator("labels")
    @classmethod
    def _no_reserved_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        # The kubelet refuses to start with kubernetes.io / k8s.io labels in --node-labels;
        # node-role.kubernetes.io ones reach the Node through CAPI's label sync instead.
        for key in labels:
            if is_kubernetes_label(key) and key.rpartition("/")[0] != NODE_ROLE_DOMAIN:
                raise PydanticCustomError(
                    "label_reserved",
                    "label '{key}' uses a reserved kubernetes.io / k8s.io prefix the kubelet may not set",
                    {"key": key},
                )
        return labels


class ClusterSpec(_Model):
    name: ClusterName
    kubernetes_version: KubernetesVersion
    location: str | None = Field(None, description="Falls back to the provider's default location.")
    namespace: Annotated[str, _dns_label(63)] | None = Field(
        None, description="Namespace in the management cluster; defaults to the cluster name."
    )
    control_plane: ControlPlaneSpec = Field(default_factory=ControlPlaneSpec)
    pools: list[PoolSpec] = Field(min_length=1)
    pod_cidr: Cidr = "10.244.0.0/16"
    service_cidr: Cidr = "10.96.0.0/12"

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
        raise PydanticCustomError("k3s_version", "'{value}' is not a k3s release like v1.33.4+k3s1", {"value": value})
    if not versions.KUBERNETES_MIN <= (int(m[1]), int(m[2])) <= versions.KUBERNETES_MAX:
        raise PydanticCustomError(
            "k3s_version_range",
            "k3s {value} is outside the management-cluster range of Cluster API {capi}; allowed: {range}",
            {"value": value, "capi": versions.CAPI, "range": versions.supported_kubernetes()},
        )
    return value


class ManagementSpec(_Model):
    """The k3s cluster that runs the Cluster API controllers."""

    name: ClusterName = "mgmt"
    servers: Literal[1, 3] = Field(1, description="3 runs k3s with embedded etcd (HA).")
    server_type: str = "cpx32"
    location: str | None = None
    # Explicit alias: the generator would spell it k3SVersion.
    k3s_version: Annotated[str, AfterValidator(_k3s_version)] = Field(versions.K3S, alias="k3sVersion")
    api_port: int = Field(6443, ge=1, le=65535, description="Port of the Kubernetes API on the servers' public addresses.")
    api_allowed_cidrs: list[Cidr] = Field(
        default_factory=list, description="Who may reach the Kubernetes API (6443). Empty: nobody."
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

    @model_validator(mode="after")
    def _cross_checks(self) -> "PlatformSpec":
        # Raised as SpecError (not ValueError) so each problem keeps its own path.
        problems = list(_duplicates(self))
        problems += self.provider.check(self)
        if problems:
            raise SpecError(problems)
        return self


def _duplicates(spec: PlatformSpec):
    first: dict[str, int] = {}
    first_ns: dict[str, int] = {}
    for ci, cluster in enumerate(spec.clusters):
        if cluster.name in first:
            yield Problem(f"clusters[{ci}].name", f"duplicate cluster '{cluster.name}' (also clusters[{first[cluster.name]}])")
        elif cluster.ns in first_ns:
            field = "namespace" if cluster.namespace else "name"
            yield Problem(
                f"clusters[{ci}].{field}", f"duplicate namespace '{cluster.ns}' (also clusters[{first_ns[cluster.ns]}])"
            )
        first.setdefault(cluster.name, ci)
        first_ns.setdefault(cluster.ns, ci)
    for ci, cluster in enumerate(spec.clusters):
        seen: dict[str, int] = {}
        for pi, pool in enumerate(cluster.pools):
            if pool.name in seen:
                yield Problem(
                    f"clusters[{ci}].pools[{pi}].name",
                    f"duplicate pool name {pool.name!r} (also pools[{seen[pool.name]}])",
                )
            seen.setdefault(pool.name, pi)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`; keys it brings may be overridden here
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse(data: Any, source: str | None = None) -> PlatformSpec:
    """Validate already-parsed data (YAML, Pulumi config) into a spec."""
    if not isinstance(data, dict):
        raise SpecError([Problem("", f"expected a mapping at the top level, got {type(data).__name__}")], source)
    try:
        return PlatformSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(problems_from_validation(err, PlatformSpec), source) from None
    except SpecError as err:
        raise SpecError(err.problems, source) from None


def load(path: str | Path) -> PlatformSpec:
    """Read and validate a platform YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem("", f"file not found: {path}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("", f"cannot read {path}: {exc}")]) from None
    return loads(text, source=str(path))


def loads(text: str, source: str | None = None) -> PlatformSpec:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem("", f"malformed YAML: {where}{reason}")], source) from None
    return parse(data if data is not None else {}, source)
