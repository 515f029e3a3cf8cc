"""Infrastructure providers, one package each.

Adding a provider means adding a package here and one entry in `_REGISTRY`;
the core never imports a provider package by name.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from clusterctl_py.providers.base import (
    Dns01Webhook,
    Footprint,
    InfrastructureProvider,
    LeftoverRule,
    LoadBalancerUse,
    MachineRole,
    MachineShape,
    MachineUse,
    NodeGroup,
    PlannedObject,
    PriceList,
)

# spec section key -> "module:attribute" of the provider object
_REGISTRY: dict[str, str] = {
    "hetzner": "clusterctl_py.providers.hetzner:PROVIDER",
}


def names() -> list[str]:
    return list(_REGISTRY)


@cache
def get(name: str) -> InfrastructureProvider:
    module, attr = _REGISTRY[name].split(":")
    return getattr(import_module(module), attr)


__all__ = [
    "Dns01Webhook",
    "Footprint",
    "InfrastructureProvider",
    "LeftoverRule",
    "LoadBalancerUse",
    "MachineRole",
    "MachineShape",
    "MachineUse",
    "NodeGroup",
    "PlannedObject",
    "PriceList",
    "get",
    "names",
]
