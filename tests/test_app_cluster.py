"""`clusterctl-py app ... --cluster NAME`: the workload kubeconfig comes from the management cluster, in memory only.

Two emulators: the management cluster holds the CAPI Cluster and the Secret
Cluster API writes its admin kubeconfig to (`<cluster>-kubeconfig`, key
`value`; kubernetes-sigs/cluster-api util/secret/consts.go), and that
kubeconfig points at the workload emulator, where the app must land.
"""

from __future__ import annotations

import tempfile

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.support import capi_objects as fx
from tests.support.knative_sim import KnativeSim
from tests.support.kube_api import serve, without_retry_sleep

IMAGE = "ghcr.io/acme/shop:1.4.2"
TOKEN = "workload-admin-token-7c1e"  # the workload kubeconfig's credential: never printed, never on disk


@pytest.fixture
def clusters(tmp_path, monkeypatch):
    """(management, workload): the management API (KUBECONFIG points at it) knows workload cluster `prod`."""
    with serve() as workload, serve() as management:
        workload.knative = KnativeSim(workload)
        config = workload.kubeconfig(token=TOKEN)
        # As CAPI writes it: the admin's client certificate and key next to the credential.
        config["users"][0]["user"].update(yaml.safe_load(fx.workload_kubeconfig("prod"))["users"][0]["user"])
        management.add(*fx.workload_cluster("prod", namespace="teams", kubeconfig=yaml.safe_dump(config)))
        path = tmp_path / "management.yaml"
        path.write_text(yaml.safe_dump(management.kubeconfig()))
        without_retry_sleep(monkeypatch)
        # Everywhere a kubeconfig could be left: the config directory, home, the working directory, temp.
        for name in ("config", "home", "work", "tmp"):
            (tmp_path / name).mkdir()
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.setenv("KUBECONFIG", str(path))
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
        monkeypatch.chdir(tmp_path / "work")
        yield management, workload


def files(root) -> set:
    return {p for p in root.rglob("*")}


def run(*args: str):
    return CliRunner().invoke(app, ["app", *args], catch_exceptions=False)


def test_deploy_and_list_with_cluster_reach_the_workload_cluster_and_write_no_kubeconfig(clusters, tmp_path):
    management, workload = clusters
    before = files(tmp_path)
    result = run("deploy", "shop", "--image", IMAGE, "--poll", "0", "--cluster", "prod")
    assert result.exit_code == 0, result.output
    assert result.stdout == "https://shop.default.apps.example.com\n"
    # The app is in the workload cluster; the management cluster was only read.
    services = [e for e in workload.api.log if e.plural == "services" and e.verb == "create"]
    assert [e.path for e in services] == ["/apis/serving.knative.dev/v1/namespaces/default/services"]
    assert {e.verb for e in management.api.log} == {"list", "get"}
    assert [(e.verb, e.path) for e in management.api.log] == [
        ("list", "/apis/cluster.x-k8s.io/v1beta2/clusters"),
        ("get", "/api/v1/namespaces/teams/secrets/prod-kubeconfig"),
    ]
    listed = run("list", "--cluster", "prod")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[1].split()[:2] == ["shop", "https://shop.default.apps.example.com"]
    # Held in memory: no file anywhere (config dir, home, working dir, temp) was left, none printed.
    assert files(tmp_path) == before
    for said in (result.output, listed.output):
        assert TOKEN not in said and "c2VjcmV0LWtleS1tYXRlcmlhbA" not in said


def test_an_unknown_cluster_is_one_line_exit_1_and_nothing_is_deployed(clusters):
    management, workload = clusters
    result = run("deploy", "shop", "--image", IMAGE, "--poll", "0", "--cluster", "nope")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: Kubernetes API {management.url}: no Cluster named nope in any namespace"]
    assert workload.api.log == []


def test_a_cluster_without_its_kubeconfig_secret_yet_says_why(clusters):
    management, workload = clusters
    management.add(*fx.workload_cluster("fresh")[:1])  # the Cluster only: its control plane is not up, no Secret yet
    result = run("list", "--cluster", "fresh")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: Kubernetes API {management.url}: get Secret fresh/fresh-kubeconfig: 404 Not Found: "
        'secrets "fresh-kubeconfig" not found; Cluster API writes it once the control plane is initialized'
    ]
    assert workload.api.log == []


def test_cluster_and_kubeconfig_together_is_bad_input(clusters, tmp_path):
    management, workload = clusters
    result = run("list", "--cluster", "prod", "--kubeconfig", str(tmp_path / "management.yaml"))
    assert result.exit_code == 2
    assert result.stderr == "error: --cluster: give --kubeconfig or --cluster, not both\n"
    assert management.api.log == [] and workload.api.log == []


@pytest.mark.parametrize("how, message", [
    ({"args": ["--kubeconfig", "/nonexistent/workload.yaml"]}, "error: --kubeconfig: /nonexistent/workload.yaml: no such file\n"),
    ({"env": {"KUBECONFIG": "/nonexistent/a:/nonexistent/b"}},
     "error: KUBECONFIG: none of the files it lists exists: /nonexistent/a:/nonexistent/b\n"),
    ({"env": {"KUBECONFIG": ""}},
     "error: --kubeconfig: not given, no --cluster, KUBECONFIG is not set and there is no ~/.kube/config: "
     "pass --cluster NAME (with -f platform.yaml) or --kubeconfig FILE\n"),
])
def test_a_workload_kubeconfig_that_is_not_there_is_one_line_and_exit_2(tmp_path, monkeypatch, how, message):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    result = CliRunner().invoke(app, ["app", "list", *how.get("args", [])], env=how.get("env", {"KUBECONFIG": ""}))
    assert result.exit_code == 2
    assert result.stderr == message
