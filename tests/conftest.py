"""Shared builders for platform specs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clusterctl_py import spec as spec_mod

BASE: dict[str, Any] = {
    "hetzner": {"location": "fsn1", "sshKeys": ["ops"], "networkZone": "eu-central"},
    "clusters": [
        {
            "name": "prod",
            "kubernetesVersion": "v1.33.4",
            "location": "nbg1",
            "controlPlane": {"replicas": 3, "serverType": "cpx22"},
            "pools": [
                {"name": "general", "serverType": "cpx32", "min": 1, "max": 10},
                {
                    "name": "arm",
                    "serverType": "cax21",
                    "min": 0,
                    "max": 20,
                    "labels": {"tier": "batch"},
                    "taints": [{"key": "batch", "value": "true", "effect": "NoSchedule"}],
                },
            ],
        }
    ],
}


def platform_data(**top: Any) -> dict[str, Any]:
    """A deep copy of BASE with top-level keys replaced."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(top))
    return data


@pytest.fixture
def data() -> dict[str, Any]:
    return platform_data()


@pytest.fixture
def example_spec() -> spec_mod.PlatformSpec:
    return spec_mod.parse(platform_data())
