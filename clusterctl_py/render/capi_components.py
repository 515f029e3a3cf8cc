"""Cluster API providers as clusterctl installs them: where their components live,
how their variables are substituted, and how the install is recorded.

Pure: text and dicts in, text and dicts out. Fetching is clusterctl_py.fetch.
Recording the install the way `clusterctl init` does (labels on every object,
`Provider` inventory objects) lets upstream `clusterctl describe`, `upgrade
plan` and `move` work on a management cluster we built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from clusterctl_py import versions

GITHUB = "https://github.com"
# cert-manager goes in with its Helm chart, into this namespace (components/capi.py).
CERT_MANAGER_NAMESPACE = "cert-manager"
INVENTORY_API = "clusterctl.cluster.x-k8s.io/v1alpha3"
CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io"
PROVIDER_LABEL = "cluster.x-k8s.io/provider"
CORE_LABEL = "clusterctl.cluster.x-k8s.io/core"  # on clusterctl's own objects; "inventory" on Providers
MOVE_LABEL = "clusterctl.cluster.x-k8s.io/move"
# clusterctl installs its inventory CRD itself; it is not part of any components file.
INVENTORY_CRD_PATH = "cmd/clusterctl/config/crd/bases/clusterctl.cluster.x-k8s.io_providers.yaml"


def inventory_crd_url(base_url: str | None = None) -> str:
    """GitHub's /raw/ URL of the inventory CRD at the pinned CAPI tag (mirrors keep the layout)."""
    return f"{(base_url or GITHUB).rstrip('/')}/kubernetes-sigs/cluster-api/raw/{versions.CAPI}/{INVENTORY_CRD_PATH}"


@dataclass(frozen=True, slots=True)
class CapiProvider:
    name: str  # clusterctl provider name, e.g. "hetzner"
    type: str  # CoreProvider, BootstrapProvider, ...
    namespace: str
    repo: str  # org/repo on GitHub
    version: str
    asset: str

    @property
    def manifest_label(self) -> str:
        """clusterctl's `<type prefix>-<name>` (the core provider is plain `cluster-api`)."""
        prefix = {
            "CoreProvider": "",
            "BootstrapProvider": "bootstrap-",
            "ControlPlaneProvider": "control-plane-",
            "InfrastructureProvider": "infrastructure-",
            "AddonProvider": "addon-",
        }[self.type]
        return prefix + self.name

    def components_url(self, base_url: str | None = None) -> str:
        """Release asset URL; `base_url` replaces `https://github.com` for mirrors."""
        return f"{(base_url or GITHUB).rstrip('/')}/{self.repo}/releases/download/{self.version}/{self.asset}"


PROVIDERS: tuple[CapiProvider, ...] = (
    CapiProvider("cluster-api", "CoreProvider", "capi-system", "kubernetes-sigs/cluster-api", versions.CAPI, "core-components.yaml"),
    CapiProvider("kubeadm", "BootstrapProvider", "capi-kubeadm-bootstrap-system", "kubernetes-sigs/cluster-api", versions.CAPI, "bootstrap-components.yaml"),
    CapiProvider("kubeadm", "ControlPlaneProvider", "capi-kubeadm-control-plane-system", "kubernetes-sigs/cluster-api", versions.CAPI, "control-plane-components.yaml"),
    CapiProvider("hetzner", "InfrastructureProvider", "caph-system", "syself/cluster-api-provider-hetzner", versions.CAPH, "infrastructure-components.yaml"),
    CapiProvider("helm", "AddonProvider", "caaph-system", "kubernetes-sigs/cluster-api-addon-provider-helm", versions.CAAPH, "addon-components.yaml"),
)

# ${VAR}, ${VAR:=default}, ${VAR:-default}; `$$` escapes a literal `$`.
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:=|:-)([^}]*))?\}")


class MissingVariables(ValueError):
    def __init__(self, source: str, names: list[str]):
        self.names = names
        super().__init__(f"{source}: variables without a default and not set: {', '.join(names)}")


def variables(text: str) -> dict[str, str | None]:
    """Variables a components file uses, with their defaults (None: required).

    As clusterctl decides it (kubernetes-sigs/cluster-api
    cmd/clusterctl/client/yamlprocessor/simple_processor.go, traverse and
    Process): a variable's first occurrence counts, and an empty default is none.
    """
    found: dict[str, str | None] = {}
    for m in _VARIABLE.finditer(text):
        if m.group(1):
            found.setdefault(m.group(1), m.group(3) or None)
    return found


def envsubst(text: str, values: Mapping[str, str], source: str) -> str:
    """Substitute like clusterctl (drone/envsubst): every required variable must be set.

    `source` names the file in the error.
    """
    missing = sorted({name for name, default in variables(text).items() if default is None and name not in values})
    if missing:
        raise MissingVariables(source, missing)

    def replace(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        # Unset reads as empty; `:=` and `:-` give the default for an empty value
        # and assign nothing (drone/envsubst funcs.go toDefault).
        return values.get(m.group(1)) or m.group(3) or ""

    return _VARIABLE.sub(replace, text)


def label_component(obj: dict, provider: CapiProvider) -> dict:
    """A copy of `obj` with the labels clusterctl puts on every object it installs."""
    meta = dict(obj.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), CLUSTERCTL_LABEL: "", PROVIDER_LABEL: provider.manifest_label}
    return {**obj, "metadata": meta}


def label_inventory_crd(obj: dict) -> dict:
    """A copy of the inventory CRD with the labels `clusterctl init` gives it
    (kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/inventory.go createObj)."""
    meta = dict(obj.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), CLUSTERCTL_LABEL: "", CORE_LABEL: "inventory"}
    return {**obj, "metadata": meta}


def inventory(provider: CapiProvider) -> dict:
    """The `Provider` object `clusterctl init` writes for an installed provider
    (kubernetes-sigs/cluster-api cmd/clusterctl/client/repository/components.go InventoryObject)."""
    return {
        "apiVersion": INVENTORY_API,
        "kind": "Provider",
        "metadata": {
            "name": provider.manifest_label,
            "namespace": provider.namespace,
            "labels": {CLUSTERCTL_LABEL: "", PROVIDER_LABEL: provider.manifest_label, CORE_LABEL: "inventory"},
        },
        "providerName": provider.name,
        "type": provider.type,
        "version": provider.version,
    }


def token_secret_metadata(name: str, namespace: str, labels: Mapping[str, str]) -> dict:
    """Metadata of the credentials secret the provider reads; the move label lets `clusterctl move` carry it along."""
    return {"name": name, "namespace": namespace, "labels": {**labels, MOVE_LABEL: ""}}
