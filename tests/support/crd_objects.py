"""CRDs as a management cluster holds them (with `status.storedVersions`), objects of their kinds,
and the CRD files of the pinned releases as the capi stack fetches them.

The version lists are the released ones: Cluster API's kinds at v1.12 and
v1.13 serve v1beta1 and store v1beta2 (kubernetes-sigs/cluster-api
config/crd/bases at those tags; v1.13 removed v1alpha3 and v1alpha4);
cert-manager's kinds have only v1 since v1.7
(cert-manager.io/docs/releases/upgrading/remove-deprecated-apis). The schemas
are left open: the emulator does not validate, and the migration reads names
and versions only.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from clusterctl_py import fetch, versions
from clusterctl_py.render import capi_components as cc
from tests.support import suc

Versions = Iterable[tuple[str, bool, bool]]  # (name, served, storage)

CAPI_V1_13: Versions = (("v1beta1", True, False), ("v1beta2", True, True))
# v1.12 still listed the long-unserved v1alpha3 and v1alpha4.
CAPI_V1_12: Versions = (("v1alpha3", False, False), ("v1alpha4", False, False), ("v1beta1", True, False), ("v1beta2", True, True))
CERT_MANAGER_V1: Versions = (("v1", True, True),)


def crd(
    group: str, kind: str, plural: str, versions_: Versions, *, stored: Iterable[str] | None = None, namespaced: bool = True
) -> dict[str, Any]:
    """A CRD object; with `stored`, as the API server holds it (its status.storedVersions)."""
    obj: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": name,
                    "served": served,
                    "storage": storage,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    "subresources": {"status": {}},
                }
                for name, served, storage in versions_
            ],
        },
    }
    if stored is not None:
        obj["status"] = {"storedVersions": list(stored)}
    return obj


def machines_crd(versions_: Versions = CAPI_V1_13, stored: Iterable[str] | None = None) -> dict[str, Any]:
    return crd("cluster.x-k8s.io", "Machine", "machines", versions_, stored=stored)


def certificates_crd(stored: Iterable[str] | None = None) -> dict[str, Any]:
    return crd("cert-manager.io", "Certificate", "certificates", CERT_MANAGER_V1, stored=stored)


def cluster_issuers_crd(stored: Iterable[str] | None = None) -> dict[str, Any]:
    return crd("cert-manager.io", "ClusterIssuer", "clusterissuers", CERT_MANAGER_V1, stored=stored, namespaced=False)


def machine(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {"name": name, "namespace": namespace, "labels": {"cluster.x-k8s.io/cluster-name": "prod"}},
        "spec": {"clusterName": "prod", "version": "v1.33.4", "bootstrap": {"dataSecretName": f"{name}-bootstrap"}},
        "status": {"phase": "Running"},
    }


def certificate(name: str, namespace: str = "capi-system") -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"secretName": name, "dnsNames": [f"{name}.{namespace}.svc"], "issuerRef": {"name": "selfsigned", "kind": "Issuer"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def cluster_issuer(name: str) -> dict[str, Any]:
    return {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": name}, "spec": {"selfSigned": {}}}


# --------------------------------------------------------------------------- the release, as fetched


CERT_MANAGER_CRDS_PATH = f"/cert-manager/cert-manager/releases/download/{versions.CERT_MANAGER}/cert-manager.crds.yaml"


def _docs(*objs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(objs, sort_keys=False)


def release_files(prefix: str = "") -> dict[str, str]:
    """URL path -> body of every file the pinned release's CRDs come from, under `prefix` (a mirror's path).

    Each provider's components file holds one CRD of the v1.13 shape (the core's:
    Machine) beside a Deployment using a `${VAR:=default}` variable, as real
    components files do; cert-manager's CRD file holds Certificate and ClusterIssuer.
    """
    files: dict[str, str] = {}
    kinds = {
        "CoreProvider": machines_crd(),
        "BootstrapProvider": crd("bootstrap.cluster.x-k8s.io", "KubeadmConfig", "kubeadmconfigs", CAPI_V1_13),
        "ControlPlaneProvider": crd("controlplane.cluster.x-k8s.io", "KubeadmControlPlane", "kubeadmcontrolplanes", CAPI_V1_13),
        "InfrastructureProvider": crd("infrastructure.cluster.x-k8s.io", "HetznerCluster", "hetznerclusters", (("v1beta1", True, True),)),
        "AddonProvider": crd("addons.cluster.x-k8s.io", "HelmChartProxy", "helmchartproxies", (("v1alpha1", True, True),)),
    }
    for provider in cc.PROVIDERS:
        controller = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "controller-manager", "namespace": provider.namespace},
            "spec": {"template": {"spec": {"containers": [{"name": "manager", "args": ["--feature-gates=MachinePool=${EXP_MACHINE_POOL:=true}"]}]}}},
        }
        files[f"{prefix}/{provider.repo}/releases/download/{provider.version}/{provider.asset}"] = _docs(kinds[provider.type], controller)
    inventory = crd("clusterctl.cluster.x-k8s.io", "Provider", "providers", (("v1alpha3", True, True),))
    files[f"{prefix}/kubernetes-sigs/cluster-api/raw/{versions.CAPI}/{cc.INVENTORY_CRD_PATH}"] = _docs(inventory)
    files.update(suc.release_files(prefix))
    files[f"{prefix}{CERT_MANAGER_CRDS_PATH}"] = _docs(certificates_crd(), cluster_issuers_crd())
    return files


def seed_fetch_cache() -> None:
    """Put `release_files()` where `up` finds them after an earlier run fetched them from GitHub
    (the fetch cache under XDG_CACHE_HOME, which the caller points at a temporary directory).

    Any test that runs `up` with an existing capi stack and a management API holding CRDs needs them:
    `up` reads the release's CRDs before the capi stack (ops/crd_migration.py)."""
    for path, body in release_files().items():
        target = fetch.cache_path(f"https://github.com{path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
