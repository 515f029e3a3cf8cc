"""Where the management API is: --kubeconfig, else KUBECONFIG, else the management stack's output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from clusterctl_py.errors import ClusterctlError, SpecError
from clusterctl_py.ops.access import management_kubeconfig
from clusterctl_py.ops.engine import PulumiAutomationEngine
from tests.conftest import platform_data
from tests.support.fake_engine import FakeEngine
from tests.test_engine import KUBECONFIG, fake, verb  # noqa: F401  (the `fake` fixture: a stand-in `pulumi`)


@pytest.fixture
def platform_file(tmp_path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(platform_data()))
    return path


def never() -> FakeEngine:
    raise AssertionError("the management stack must not be asked when a kubeconfig is given")


def test_the_flag_comes_first(tmp_path, platform_file):
    flag = tmp_path / "admin.yaml"
    flag.write_text("{}")
    other = tmp_path / "other.yaml"
    other.write_text("{}")
    found = management_kubeconfig(flag=flag, environ={"KUBECONFIG": str(other)}, platform_file=platform_file, org=None, engine=never)
    assert (found.origin, found.path) == (f"--kubeconfig {flag}", str(flag))


def test_then_kubeconfig_from_the_environment(tmp_path, platform_file):
    present = tmp_path / "a.yaml"
    present.write_text("{}")
    listed = f"{tmp_path / 'missing.yaml'}{os.pathsep}{present}"
    found = management_kubeconfig(flag=None, environ={"KUBECONFIG": listed}, platform_file=platform_file, org=None, engine=never)
    assert (found.origin, found.path) == ("KUBECONFIG", listed)


def test_then_the_management_stacks_output(platform_file):
    engine = FakeEngine()
    engine.stack_outputs["mgmt-management"] = {"kubeconfig": KUBECONFIG, "apiEndpoint": "https://198.51.100.7:6443"}
    found = management_kubeconfig(flag=None, environ={}, platform_file=platform_file, org="acme", engine=lambda: engine)
    assert found.text == KUBECONFIG
    assert found.origin == "stack acme/clusterctl-management/mgmt-management output kubeconfig"
    assert engine.orgs == ["acme"] and engine.reads == ["mgmt-management"]
    assert engine.runs == []  # nothing ran


def test_a_missing_flag_file_is_bad_input(tmp_path, platform_file):
    with pytest.raises(SpecError) as caught:
        management_kubeconfig(flag=tmp_path / "nope.yaml", environ={}, platform_file=platform_file, org=None, engine=never)
    assert str(caught.value) == f"--kubeconfig: {tmp_path / 'nope.yaml'}: no such file"


def test_kubeconfig_listing_no_file_is_bad_input(tmp_path, platform_file):
    listed = str(tmp_path / "gone.yaml")
    with pytest.raises(SpecError) as caught:
        management_kubeconfig(flag=None, environ={"KUBECONFIG": listed}, platform_file=platform_file, org=None, engine=never)
    assert str(caught.value) == f"KUBECONFIG: none of the files it lists exists: {listed}"


def test_nowhere_to_look_says_what_to_pass(tmp_path):
    with pytest.raises(SpecError) as caught:
        management_kubeconfig(flag=None, environ={}, platform_file=tmp_path / "platform.yaml", org=None, engine=never)
    assert str(caught.value).startswith("--kubeconfig: not given, KUBECONFIG is not set, and there is no platform file")


def test_no_management_stack_yet(platform_file):
    engine = FakeEngine(existing=set())
    with pytest.raises(ClusterctlError) as caught:
        management_kubeconfig(flag=None, environ={}, platform_file=platform_file, org=None, engine=lambda: engine)
    assert str(caught.value) == (
        "there is no management stack organization/clusterctl-management/mgmt-management to read the kubeconfig from: "
        f"run `clusterctl-py up -f {platform_file}` first, or pass --kubeconfig"
    )
    assert engine.runs == []


def test_pulumi_engine_reads_the_secret_output_without_creating_the_stack(fake):  # noqa: F811
    from clusterctl_py.ops.plan import StackRun

    fake.add_stack("alice/clusterctl-management/mgmt-management", {"kubeconfig": KUBECONFIG, "apiEndpoint": "https://x"})
    engine = PulumiAutomationEngine("")
    run = StackRun("management", "mgmt-management", "alice", {"clusterctl:platformFile": "/p.yaml"})
    assert engine.outputs(run)["kubeconfig"] == KUBECONFIG
    missing = StackRun("management", "other-management", "alice", {"clusterctl:platformFile": "/p.yaml"})
    from clusterctl_py.ops.engine import StackMissing

    with pytest.raises(StackMissing):
        engine.outputs(missing)
    assert "stack init" not in [verb(argv) for argv in fake.commands()]
    assert set(fake.stacks()) == {"alice/clusterctl-management/mgmt-management"}
