"""Shared builders for platform specs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest


def _mutated_providers() -> None:
    """Under mutmut, import `clusterctl_py.providers` from its mutated copy.

    mutmut copies `providers/` beside the copied `clusterctl_py/` (it knows
    nothing of pyproject's package-dir mapping), so without this the editable
    install's finder would import the unmutated providers from the checkout.
    """
    import importlib.util
    import os
    import sys

    if "MUTANT_UNDER_TEST" not in os.environ or "clusterctl_py.providers" in sys.modules:
        return
    import clusterctl_py

    copy = Path(clusterctl_py.__file__).resolve().parents[1] / "providers"
    if not (copy / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location(
        "clusterctl_py.providers", copy / "__init__.py", submodule_search_locations=[str(copy)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["clusterctl_py.providers"] = module
    spec.loader.exec_module(module)


_mutated_providers()

from clusterctl_py import spec as spec_mod  # noqa: E402

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
