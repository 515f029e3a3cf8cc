"""stacks/capi run whole under Pulumi's mocks, fetching components from a local HTTP server."""

from __future__ import annotations

import asyncio
import http.server
import threading
from dataclasses import dataclass, field

import pulumi
import pytest
import yaml

from clusterctl_py import versions
from clusterctl_py.errors import SpecError
from clusterctl_py.fetch import FetchError
from clusterctl_py.render.capi_components import MissingVariables
from tests.support import pulumi_mocks as pm
from tests.support import suc

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
    """Release assets by path; a subclass sets `files` (and `asked`, to see what was fetched)."""

    files: dict[str, str] = {}
    asked: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's API
        self.asked.append(self.path)
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
    files.update(suc.release_files("/gh"))
    handler = type("Handler", (Assets,), {"files": files, "asked": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield files, f"http://127.0.0.1:{httpd.server_address[1]}/gh"
    httpd.shutdown()


@dataclass
class ArgsMocks(pm.RecordingMocks):
    """Also keeps each registration's MockResourceArgs: its provider and transforms."""

    args: dict[str, pulumi.runtime.MockResourceArgs] = field(default_factory=dict)

    def new_resource(self, args):
        self.args[args.name] = args
        return super().new_resource(args)


def run(base_url: str, *, preview: bool = False, **extra):
    cfg = {
        "clusterctl:hetzner": {"sshKeys": ["ops"]},
        "clusterctl:management": {"name": "mgmt"},
        "clusterctl:managementStack": MGMT_STACK,
        "clusterctl:componentsBaseUrl": base_url,
        **extra,
    }
    pm.set_config(cfg)
    mocks = ArgsMocks(stack_outputs={MGMT_STACK: {"kubeconfig": KUBECONFIG}})
    monitor, outputs = pm.run_recorded("capi", mocks, preview=preview)
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


def test_inventory_crd_is_labelled_as_clusterctl_init_labels_it(server):
    # kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/inventory.go createObj: clusterctl
    # finds its own inventory CRD by these labels (and `clusterctl delete` spares it).
    _, base = server
    mocks, _, _ = run(base)
    (crd,) = yaml.safe_load_all(groups(mocks)["capi-clusterctl-inventory-crd"].inputs["yaml"])
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["labels"] == {"clusterctl.cluster.x-k8s.io": "", "clusterctl.cluster.x-k8s.io/core": "inventory"}


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


def test_cert_manager_namespace_exists_before_the_chart(server):
    # Chart v4 renders like `helm template`: no Namespace, and the chart has no template for one.
    _, base = server
    mocks, monitor, _ = run(base)
    (ns,) = [r for r in mocks.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "cert-manager"]
    chart = mocks.named("capi-cert-manager")
    assert chart.inputs["namespace"] == "cert-manager"
    assert monitor.named(ns.name).urn in monitor.named(chart.name).dependencies
    # In the management cluster, inside the component, like the chart.
    assert mocks.args[ns.name].provider == mocks.args[chart.name].provider
    assert "capi-management" in mocks.args[ns.name].provider
    assert monitor.named(ns.name).urn.split("::")[2].startswith("clusterctl-py:index:ClusterApi$")


def _webhook_configuration(kind: str, annotations: dict | None) -> pulumi.ResourceTransformArgs:
    """A cert-manager webhook configuration as Chart v4 hands it to a transform."""
    metadata = {"name": "cert-manager-webhook", "labels": {"app.kubernetes.io/component": "webhook"}}
    if annotations is not None:
        metadata["annotations"] = annotations
    props = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "webhooks": [
            {
                "name": "webhook.cert-manager.io",
                "clientConfig": {"service": {"name": "cert-manager-webhook", "namespace": "cert-manager", "path": f"/{kind[:6].lower()}"}},
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    return pulumi.ResourceTransformArgs(
        custom=True,
        type_=f"kubernetes:admissionregistration.k8s.io/v1:{kind}",
        name=f"capi-cert-manager:{metadata['name']}",
        props=props,
        opts=pulumi.ResourceOptions(),
    )


def _apply(transforms, args: pulumi.ResourceTransformArgs):
    """Run transforms in order, as the engine does for each child of the chart."""
    changed = None
    for transform in transforms:
        result = transform(args)
        if result is not None:
            changed = result
            args = pulumi.ResourceTransformArgs(args.custom, args.type_, args.name, result.props, result.opts)
    return changed


@pytest.mark.parametrize("kind", ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"])
@pytest.mark.parametrize("annotations", [{"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-ca"}, None])
def test_cert_manager_webhooks_are_awaited_until_their_ca_bundle_is_injected(server, kind, annotations):
    """Chart v4 drops Helm hooks, so startupapicheck never runs: Pulumi itself waits
    for the cainjector before anything depending on the chart calls the webhook."""
    _, base = server
    mocks, _, _ = run(base)
    transforms = mocks.args["capi-cert-manager"].transforms
    assert transforms, "the cert-manager Chart registers no transforms"
    args = _webhook_configuration(kind, annotations)
    result = _apply(transforms, args)
    assert result is not None
    meta = result.props["metadata"]
    assert meta["annotations"]["pulumi.com/waitFor"] == "jsonpath={.webhooks[*].clientConfig.caBundle}"
    # Everything else as the chart rendered it.
    assert {k: v for k, v in meta["annotations"].items() if k != "pulumi.com/waitFor"} == (annotations or {})
    assert {k: v for k, v in result.props.items() if k != "metadata"} == {
        k: v for k, v in args.props.items() if k != "metadata"
    }
    assert meta["labels"] == args.props["metadata"]["labels"]


def test_only_webhook_configurations_are_changed(server):
    _, base = server
    mocks, _, _ = run(base)
    transforms = mocks.args["capi-cert-manager"].transforms
    deployment = pulumi.ResourceTransformArgs(
        custom=True,
        type_="kubernetes:apps/v1:Deployment",
        name="capi-cert-manager:cert-manager/cert-manager-webhook",
        props={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cert-manager-webhook"}},
        opts=pulumi.ResourceOptions(),
    )
    assert _apply(transforms, deployment) is None


def test_provider_webhooks_wait_for_their_ca_too(server):
    # Workload clusters call CAPI's and CAPH's webhooks right after this stack.
    _, base = server
    mocks, _, _ = run(base)
    for label in ("cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm", "infrastructure-hetzner", "addon-helm"):
        result = _apply(mocks.args[f"capi-{label}"].transforms, _webhook_configuration("ValidatingWebhookConfiguration", {}))
        assert result is not None, label
        assert result.props["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.webhooks[*].clientConfig.caBundle}"


def test_installed_is_unknown_until_the_install_exists(server):
    # In a first preview nothing is installed: a cluster stack must not see `installed`.
    _, base = server
    _, _, outputs = run(base, preview=True)
    assert outputs["installed"] == (None, False)


def test_installed_depends_on_every_install_and_inventory_record(server):
    from clusterctl_py.components.capi import ClusterApi, ClusterApiArgs

    _, base = server
    mocks = pm.RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="clusterctl-capi", stack="test", preview=False)
    capi = ClusterApi("capi", ClusterApiArgs(kubeconfig=KUBECONFIG, components_base_url=base))
    loop = asyncio.get_event_loop()
    deps = loop.run_until_complete(capi.installed.resources())
    names = {loop.run_until_complete(r.urn.future()).rsplit("::", 1)[1] for r in deps}
    groups = {r.name for r in mocks.of_type("kubernetes:yaml/v2:ConfigGroup")}
    assert len(groups) == 11  # inventory CRD, five providers, five inventory records
    assert groups | {"capi-cert-manager"} <= names
    assert loop.run_until_complete(capi.installed.future())["infrastructure-hetzner"] == versions.CAPH
