"""Shared builders for platform specs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from clusterctl_py import spec as spec_mod

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "platform.yaml"

# The same platform as examples/platform.yaml (tests/test_spec.py keeps them equal).
BASE: dict[str, Any] = {
    "hetzner": {"location": "fsn1", "sshKeys": ["ops"], "networkZone": "eu-central"},
    "management": {"servers": 1, "serverType": "cpx32", "apiAllowedCidrs": ["203.0.113.0/24"], "sshAllowedCidrs": []},
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


def platform(**top: Any) -> spec_mod.PlatformSpec:
    """The validated spec of `platform_data(**top)`."""
    return spec_mod.parse(platform_data(**top))


@pytest.fixture
def data() -> dict[str, Any]:
    return platform_data()


@pytest.fixture
def example_spec() -> spec_mod.PlatformSpec:
    return spec_mod.load(EXAMPLE)
