"""Pulumi config loads into the same spec as platform.yaml, with the same clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clusterctl_py import stack_config
from clusterctl_py.errors import SpecError
from tests.conftest import platform_data
from tests.support import pulumi_mocks as pm


def test_structured_keys_load_into_the_spec():
    data = platform_data()
    pm.set_config({"clusterctl:hetzner": data["hetzner"], "clusterctl:clusters": data["clusters"], "clusterctl:cluster": "prod"})
    spec, settings = stack_config.load(["cluster"])
    assert spec.cluster("prod").pools[1].server_type == "cax21"
    assert settings == {"cluster": "prod"}


def test_platform_file_with_overrides(tmp_path: Path):
    (tmp_path / "platform.yaml").write_text(yaml.safe_dump(platform_data()))
    pm.set_config({"clusterctl:platformFile": "platform.yaml", "clusterctl:management": {"servers": 3}})
    spec, _ = stack_config.load(base_dir=tmp_path)
    assert spec.management.servers == 3
    assert spec.cluster("prod").location == "nbg1"


def test_unknown_config_key_is_named():
    pm.set_config({"clusterctl:hetzner": {"sshKeys": ["a"]}, "clusterctl:clustres": []})
    with pytest.raises(SpecError) as info:
        stack_config.load(["cluster"])
    assert str(info.value).startswith("Pulumi config: clusterctl:clustres: unknown config key; allowed: clusterctl:cluster,")


def test_spec_errors_name_the_config_key():
    data = platform_data()
    data["clusters"][0]["controlPlane"]["replicas"] = 2
    pm.set_config({"clusterctl:hetzner": data["hetzner"], "clusterctl:clusters": data["clusters"]})
    with pytest.raises(SpecError) as info:
        stack_config.load()
    assert [str(p) for p in info.value.problems] == ["clusterctl:clusters[0].controlPlane.replicas: must be 1, 3 or 5 (got 2)"]


def test_bad_platform_file_is_reported_with_its_path(tmp_path: Path):
    (tmp_path / "platform.yaml").write_text("hetzner: {sshKeys: [a]\n")
    pm.set_config({"clusterctl:platformFile": "platform.yaml"})
    with pytest.raises(SpecError, match=r"platform\.yaml: malformed YAML"):
        stack_config.load(base_dir=tmp_path)
