"""Shared builders for platform specs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest


def _mutated_providers() -> None:
    """Under mutmut, `clusterctl_py.providers` is the mutated copy, imported as `providers`.

    mutmut copies `providers/` beside the copied `clusterctl_py/` (it knows
    nothing of pyproject's package-dir mapping) and names its mutants after
    that path (`providers.hetzner...`), matching them against each function's
    `__module__`. So the copy is imported under its own name and aliased;
    otherwise the editable install would import the unmutated checkout.
    """
    import importlib
    import importlib.abc
    import importlib.util
    import os
    import sys

    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    import clusterctl_py

    copy = Path(clusterctl_py.__file__).resolve().parents[1] / "providers"
    if not (copy / "__init__.py").is_file():
        return
    if str(copy.parent) not in sys.path:
        sys.path.insert(0, str(copy.parent))

    class Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name == "clusterctl_py.providers" or name.startswith("clusterctl_py.providers."):
                return importlib.util.spec_from_loader(name, self)
            return None

        def create_module(self, spec):
            return importlib.import_module(spec.name.removeprefix("clusterctl_py."))

        def exec_module(self, module):
            pass  # already executed under its own name

    sys.meta_path.insert(0, Alias())


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
            "kubernetesVersion": "v1.34.11",
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
            "platform": {
                "domain": "apps.example.com",
                "email": "ops@example.com",
                "tls": "staging",
                "scaleToZero": True,
                "postgres": True,
                "metricsServer": True,
            },
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


@pytest.fixture
def fake_hcloud():
    """The local Hetzner Cloud API (tests/support/fake_hcloud.py), running for one test."""
    from tests.support.fake_hcloud import FakeHcloud

    fake = FakeHcloud().start()
    yield fake
    fake.stop()


@pytest.fixture
def hcloud_project(fake_hcloud, monkeypatch):
    """The local Hetzner API reached as a user reaches Hetzner: HCLOUD_ENDPOINT and a valid HCLOUD_TOKEN."""
    from tests.support.fake_hcloud import TOKEN

    monkeypatch.setenv("HCLOUD_ENDPOINT", fake_hcloud.endpoint)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    return fake_hcloud
