"""Pulumi components, for the stacks and for your own Pulumi programs.

Imported lazily: each pulls in pulumi and its providers, which the CLI's
offline commands never need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ManagementCluster": ".management",
    "ManagementClusterArgs": ".management",
    "ClusterApi": ".capi",
    "ClusterApiArgs": ".capi",
    "K3sUpgrade": ".k3s_upgrade",
    "K3sUpgradeArgs": ".k3s_upgrade",
    "WorkloadCluster": ".workload",
    "WorkloadClusterArgs": ".workload",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
