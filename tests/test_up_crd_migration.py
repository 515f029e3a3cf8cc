"""`up` migrates CRD stored versions in the management cluster before the capi stack applies a release.

The stacks run on the fake engine; the management cluster is the Kubernetes
API emulator, reached through the management stack's `kubeconfig` output as
the capi stack reaches it; the release's CRD files come from the fetch cache
(as on any `up` after the first: tagged release assets are cached), or from a
local asset server through `clusterctl:componentsBaseUrl`.
"""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import fetch, versions
from clusterctl_py.cli import app
from clusterctl_py.clients.kube import KubeClient
from clusterctl_py.ops import crd_migration as cm
from clusterctl_py.ops.plan import StackRun
from tests.conftest import platform_data
from tests.support import crd_objects as co
from tests.support.fake_engine import FakeEngine, use_fake_engine
from tests.support.kube_api import serve
from tests.test_stack_capi import Assets
from tests.test_stack_capi import run as run_capi_program
from tests.test_stack_capi import server as asset_server  # noqa: F401 - a fixture

TOKEN = "Ab3" * 21 + "x"
MACHINE_CRD = "machines.cluster.x-k8s.io"


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """The pinned release's CRD files, as an earlier `up` left them in the fetch cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    co.seed_fetch_cache()


@pytest.fixture
def env(monkeypatch, tmp_path, cache):
    engine = use_fake_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    platform = tmp_path / "platform.yaml"
    data = platform_data()
    data["clusters"][0].pop("platform")  # the capi stack is what matters here
    platform.write_text(yaml.safe_dump(data))
    return engine, platform


@contextmanager
def management(objects, engine):
    """The management cluster holding `objects`; the management stack's output points at it."""
    with serve(objects) as api:
        engine.stack_outputs["mgmt-management"] = {"kubeconfig": yaml.safe_dump(api.kubeconfig())}
        yield api


# What `up` reads before any stack runs, to check Kubernetes version changes (tests/test_upgrade_up.py):
# the k3s servers and their upgrade Plan, each cluster's KubeadmControlPlane, MachineDeployments, Machines.
VERSION_CHECK = {"nodes", "plans", "kubeadmcontrolplanes", "machinedeployments"}


def migration_requests(log) -> list:
    """The requests of `log` that are not `up`'s Kubernetes version check (no workload cluster exists here)."""
    return [e for e in log if e.plural not in VERSION_CHECK]


def at_capi_start(engine, api) -> list:
    """The API requests made before the capi stack started (filled in when it starts), but the version check."""
    seen: list = []
    engine.hold = lambda run: seen.extend(migration_requests(api.api.log)) if run.program == "capi" else None
    return seen


def up(platform):
    # Preflight (the Hetzner project) is not what these tests are about.
    return CliRunner().invoke(app, ["up", "-f", str(platform), "--skip-preflight"], catch_exceptions=False)


def stored_versions(api, name: str) -> list[str]:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config_from_dict(api.kubeconfig(), client_configuration=cfg, persist_config=False)
    crd = client.ApiextensionsV1Api(client.ApiClient(cfg)).read_custom_resource_definition(name, _preload_content=False)
    return yaml.safe_load(crd.data)["status"]["storedVersions"]


def test_objects_are_rewritten_then_stored_versions_set_before_the_capi_stack_runs(env):
    engine, platform = env
    # Machines still listed as stored in v1beta1 (a management cluster older than CAPI v1.11).
    objects = [co.machines_crd(stored=["v1beta1", "v1beta2"]), co.certificates_crd(stored=["v1"]), *(co.machine(f"m-{i}") for i in range(3))]
    with management(objects, engine) as api:
        before_capi = at_capi_start(engine, api)
        result = up(platform)
        assert result.exit_code == 0, result.output
        requests = [(e.method, e.path, e.answer) for e in before_capi]
        assert requests == [
            ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", 200),
            ("GET", "/apis/cluster.x-k8s.io/v1beta2/machines", 200),
            ("PUT", "/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machines/m-0", 200),
            ("PUT", "/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machines/m-1", 200),
            ("PUT", "/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machines/m-2", 200),
            ("PATCH", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{MACHINE_CRD}/status", 200),
        ]
        assert len(migration_requests(api.api.log)) == len(before_capi)  # nothing after the capi stack started
        assert stored_versions(api, MACHINE_CRD) == ["v1beta2"]
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi", "mgmt-cluster-prod"]
    assert "[2/3] mgmt-capi: crd migration 1/1: Machine (machines.cluster.x-k8s.io): rewriting 3 object(s) stored as v1beta1 into v1beta2" in result.stderr
    assert "[2/3] mgmt-capi: crd migration 1/1: Machine: done, storedVersions [v1beta2]" in result.stderr


def test_nothing_to_migrate_is_one_request_and_no_output(env):
    engine, platform = env
    objects = [co.machines_crd(stored=["v1beta2"]), co.certificates_crd(stored=["v1"]), co.machine("m-0")]
    with management(objects, engine) as api:
        result = up(platform)
        log = [(e.method, e.path) for e in migration_requests(api.api.log)]
    assert result.exit_code == 0, result.output
    assert log == [("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")]
    assert "crd migration" not in result.output + result.stderr
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi", "mgmt-cluster-prod"]


def test_a_failed_migration_stops_up_before_the_capi_stack_naming_the_kind(env):
    engine, platform = env
    objects = [co.machines_crd(stored=["v1beta1", "v1beta2"]), *(co.machine(f"m-{i}") for i in range(3))]
    with management(objects, engine) as api:
        # The kubeconfig's user may not update Machines (RBAC).
        refused = 'machines.cluster.x-k8s.io "m-1" is forbidden: User "ops" cannot update resource "machines"'
        api.api.fail(403, times=None, message=refused, when=lambda r: r.method.value == "PUT" and r.name == "m-1")
        result = up(platform)
        stored = stored_versions(api, MACHINE_CRD)
        endpoint = api.url
    assert result.exit_code == 1
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management"]  # neither the capi stack nor the clusters
    assert stored == ["v1beta1", "v1beta2"]  # not claimed done: m-1 may still be stored as v1beta1
    assert result.stderr.splitlines()[-1] == (
        f"error: stack mgmt-capi failed during up: crd migration of Machine (machines.cluster.x-k8s.io) failed: "
        f"Kubernetes API {endpoint}: rewrite machines.cluster.x-k8s.io default/m-1: 403 Forbidden: {refused};"
        " no CRD of the new release was applied, running it again resumes"
    )
    assert "  mgmt-cluster-prod  not run because mgmt-capi failed" in result.stdout


def test_a_release_without_the_installed_storage_version_is_refused_before_any_write(env):
    engine, platform = env
    # Created on CAPI v0.4 (storage v1alpha4) and never upgraded since; v1.13 has no v1alpha4.
    objects = [co.machines_crd((("v1alpha3", True, False), ("v1alpha4", True, True)), stored=["v1alpha4"]), co.machine("m-0")]
    with management(objects, engine) as api:
        result = up(platform)
        methods = [e.method for e in migration_requests(api.api.log)]
    assert result.exit_code == 1
    assert methods == ["GET"]
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management"]
    assert result.stderr.splitlines()[-1] == (
        "error: stack mgmt-capi failed during up: machines.cluster.x-k8s.io: Machine objects are stored as v1alpha4,"
        " which the new release no longer has (it has v1beta1, v1beta2); upgrade through a release that still has v1alpha4 first"
    )


def test_the_first_up_asks_nothing_of_the_management_api(env):
    engine, platform = env
    engine.existing = {"mgmt-management"}  # the capi stack does not exist yet
    with management([co.machines_crd(stored=["v1beta1", "v1beta2"]), co.machine("m-0")], engine) as api:
        result = up(platform)
        log = list(api.api.log)
    assert result.exit_code == 0, result.output
    assert log == []
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi", "mgmt-cluster-prod"]


def test_a_management_api_without_any_crd_is_one_request_and_nothing_fetched(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    engine = FakeEngine()
    fetched: list[str] = []
    with serve([]) as api:
        engine.stack_outputs["mgmt-management"] = {"kubeconfig": yaml.safe_dump(api.kubeconfig())}
        mgmt = StackRun("management", "mgmt-management", "acme", {})
        capi = StackRun("capi", "mgmt-capi", "acme", {}, hcloud_token=False, needs=(mgmt,))
        assert cm.before_capi_up(capi, engine, print, fetch=fetched.append) == []
        assert [(e.method, e.path) for e in api.api.log] == [("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")]
    assert fetched == []


# --------------------------------------------------------------------------- the release's CRD files


def test_the_crd_files_are_those_the_capi_stack_fetches_plus_cert_manager_s(asset_server):
    files, base = asset_server
    run_capi_program(base)
    sources = [url for url, _ in cm.release_crd_sources(base)]
    cert_manager = f"{base}/cert-manager/cert-manager/releases/download/{versions.CERT_MANAGER}/cert-manager.crds.yaml"
    assert sources[-1] == cert_manager
    fetched = {p.name for p in fetch.cache_dir().iterdir()}
    controller = f"{base}/rancher/system-upgrade-controller/releases/download/{versions.SYSTEM_UPGRADE_CONTROLLER}/system-upgrade-controller.yaml"
    assert fetched == {fetch.cache_path(u).name for u in [*sources[:-1], controller]}


def test_the_release_is_read_through_the_components_base_url(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    files = co.release_files("/mirror")
    handler = type("Handler", (Assets,), {"files": files, "asked": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/mirror"
    engine = FakeEngine()
    lines: list[str] = []
    try:
        with serve([co.machines_crd(stored=["v1beta1", "v1beta2"]), co.machine("m-0")]) as api:
            engine.stack_outputs["mgmt-management"] = {"kubeconfig": yaml.safe_dump(api.kubeconfig())}
            mgmt = StackRun("management", "mgmt-management", "acme", {})
            capi = StackRun("capi", "mgmt-capi", "acme", {"clusterctl:componentsBaseUrl": base}, hcloud_token=False, needs=(mgmt,))
            done = cm.before_capi_up(capi, engine, lines.append)
    finally:
        httpd.shutdown()
    assert [m.kind for m in done] == ["Machine"]
    crd_files = [path for path in files if not path.endswith("/system-upgrade-controller.yaml")]
    assert sorted(handler.asked) == sorted(crd_files)  # every CRD file, from the mirror, once
    assert engine.reads == ["mgmt-management"]


def test_an_unreachable_management_api_stops_the_capi_stack_with_one_line(cache):
    engine = FakeEngine()
    with serve([co.machines_crd(stored=["v1beta1", "v1beta2"])]) as api:
        engine.stack_outputs["mgmt-management"] = {"kubeconfig": yaml.safe_dump(api.kubeconfig())}
        api.down()
        mgmt = StackRun("management", "mgmt-management", "acme", {})
        capi = StackRun("capi", "mgmt-capi", "acme", {}, hcloud_token=False, needs=(mgmt,))
        with pytest.raises(cm.CrdMigrationError) as caught:
            cm.before_capi_up(capi, engine, print, connect=lambda kubeconfig: KubeClient(kubeconfig, sleep=lambda s: None))
        endpoint = api.url
    assert caught.value.lines() == [
        f"crd migration: cannot read the installed CRDs: Kubernetes API {endpoint}: list CustomResourceDefinitions:"
        " connection refused or unreachable (gave up after 8 attempts); no CRD of the new release was applied"
    ]
