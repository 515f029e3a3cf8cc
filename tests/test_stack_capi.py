"""stacks/capi run whole under Pulumi's mocks, fetching components from a local HTTP server."""

from __future__ import annotations

import http.server
import threading

import pytest
import yaml

from clusterctl_py import versions
from clusterctl_py.errors import SpecError
from clusterctl_py.fetch import FetchError
from clusterctl_py.render.capi_components import MissingVariables
from tests.support import pulumi_mocks as pm

MGMT_STACK = "acme/clusterctl-management/prod"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.x-k8s.io
spec:
  group: example.x-k8s.io
  names: {kind: Thing, plural: things}
  scope: Namespaced
  versions: [{name: v1beta1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""


def components(namespace: str) -> str:
    # The shape of a real components file: namespace, CRD, controller with feature-flag variables.
    return f"""apiVersion: v1
kind: Namespace
metadata:
  name: {namespace}
---
{CRD}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
  namespace: {namespace}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers:
        - name: manager
          image: registry.example/manager:latest
          args:
            - --feature-gates=MachinePool=${{EXP_MACHINE_POOL:=true}},ClusterTopology=${{CLUSTER_TOPOLOGY:=false}}
            - --diagnostics-address=${{CAPI_DIAGNOSTICS_ADDRESS:=:8443}}
"""


class Assets(http.server.BaseHTTPRequestHandler):
    files: dict[str, str] = {}

    def do_GET(self):  # noqa: N802 - http.server's API
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    files = {}
    for repo, tag, assets in [
        ("kubernetes-sigs/cluster-api", versions.CAPI, {"core-components.yaml": "capi-system", "bootstrap-components.yaml": "capi-kubeadm-bootstrap-system", "control-plane-components.yaml": "capi-kubeadm-control-plane-system"}),
        ("syself/cluster-api-provider-hetzner", versions.CAPH, {"infrastructure-components.yaml": "caph-system"}),
        ("kubernetes-sigs/cluster-api-addon-provider-helm", versions.CAAPH, {"addon-components.yaml": "caaph-system"}),
    ]:
        for asset, ns in assets.items():
            files[f"/gh/{repo}/releases/download/{tag}/{asset}"] = components(ns)
    files[f"/gh/kubernetes-sigs/cluster-api/raw/{versions.CAPI}/cmd/clusterctl/config/crd/bases/clusterctl.cluster.x-k8s.io_providers.yaml"] = CRD
    handler = type("Handler", (Assets,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield files, f"http://127.0.0.1:{httpd.server_address[1]}/gh"
    httpd.shutdown()


def run(base_url: str, **extra):
    cfg = {
        "clusterctl:hetzner": {"sshKeys": ["ops"]},
        "clusterctl:management": {"name": "mgmt"},
        "clusterctl:managementStack": MGMT_STACK,
        "clusterctl:componentsBaseUrl": base_url,
        **extra,
    }
    pm.set_config(cfg)
    mocks = pm.RecordingMocks(stack_outputs={MGMT_STACK: {"kubeconfig": KUBECONFIG}})
    monitor, outputs = pm.run_recorded("capi", mocks)
    return mocks, monitor, outputs


def groups(mocks):
    return {r.name: r for r in mocks.of_type("kubernetes:yaml/v2:ConfigGroup")}


def test_components_are_fetched_substituted_and_labelled(server):
    _, base = server
    mocks, _, outputs = run(base)
    by_name = groups(mocks)
    for label in ("cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm", "infrastructure-hetzner", "addon-helm"):
        docs = list(yaml.safe_load_all(by_name[f"capi-{label}"].inputs["yaml"]))
        assert [d["kind"] for d in docs] == ["Namespace", "CustomResourceDefinition", "Deployment"]
        for d in docs:
            assert d["metadata"]["labels"] == {"clusterctl.cluster.x-k8s.io": "", "cluster.x-k8s.io/provider": label}
        args = docs[2]["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args == ["--feature-gates=MachinePool=true,ClusterTopology=false", "--diagnostics-address=:8443"]
    assert outputs["installed"][0]["infrastructure-hetzner"] == versions.CAPH


def test_inventory_records_every_provider(server):
    _, base = server
    mocks, _, _ = run(base)
    records = [pm.plain(g.inputs["objs"])[0] for n, g in groups(mocks).items() if n.startswith("capi-inventory-")]
    assert sorted((r["metadata"]["name"], r["version"]) for r in records) == sorted(
        [
            ("cluster-api", versions.CAPI),
            ("bootstrap-kubeadm", versions.CAPI),
            ("control-plane-kubeadm", versions.CAPI),
            ("infrastructure-hetzner", versions.CAPH),
            ("addon-helm", versions.CAAPH),
        ]
    )


def test_providers_wait_for_cert_manager_and_core(server):
    _, base = server
    mocks, monitor, _ = run(base)
    cert_manager = monitor.named("capi-cert-manager").urn
    core = monitor.named("capi-cluster-api").urn
    assert cert_manager in monitor.named("capi-cluster-api").dependencies
    for label in ("bootstrap-kubeadm", "control-plane-kubeadm", "infrastructure-hetzner", "addon-helm"):
        deps = monitor.named(f"capi-{label}").dependencies
        assert cert_manager in deps and core in deps
    chart = mocks.named("capi-cert-manager")
    assert chart.inputs["version"] == versions.CERT_MANAGER
    assert pm.plain(chart.inputs["values"]) == {"crds": {"enabled": True}}


def test_management_kubeconfig_stays_secret_and_identity_is_stable(server):
    _, base = server
    _, monitor, _ = run(base)
    provider = monitor.named("capi-management")
    assert "kubeconfig" in provider.secret_inputs


def test_missing_required_variable_is_named(server):
    files, base = server
    key = next(k for k in files if k.endswith("infrastructure-components.yaml"))
    files[key] = files[key].replace("${CLUSTER_TOPOLOGY:=false}", "${HCLOUD_REGION}")
    with pytest.raises(MissingVariables, match="HCLOUD_REGION"):
        run(base)


def test_missing_asset_names_the_url(server):
    files, base = server
    key = next(k for k in files if k.endswith("addon-components.yaml"))
    del files[key]
    with pytest.raises(FetchError, match=r"addon-components\.yaml: HTTP 404"):
        run(base)


def test_management_stack_is_required(server):
    _, base = server
    pm.set_config({"clusterctl:hetzner": {"sshKeys": ["ops"]}})
    with pytest.raises(SpecError, match="clusterctl:managementStack"):
        pm.run_recorded("capi", pm.RecordingMocks())
