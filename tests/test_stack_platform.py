"""stacks/platform run whole under Pulumi's mocks.

The cluster stack's `kubeconfig` output comes through the mocked
StackReference; what the program registers is recorded with its inputs,
dependencies and options (tests/support/pulumi_mocks.py). Upstream bundles
(Chart, ConfigGroup) show only their inputs here, so those are asserted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pulumi
import pytest

from clusterctl_py.errors import SpecError
from tests.support import crds
from tests.support import pulumi_mocks as pm

CLUSTER_STACK = "acme/clusterctl-cluster/shop"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
TOKEN = "d" * 64

CLUSTER = {
    "name": "shop",
    "kubernetesVersion": "v1.34.2",
    "location": "hel1",
    "pools": [{"name": "web", "serverType": "cpx32", "min": 1, "max": 3}],
    "platform": {"domain": "apps.example.com", "email": "ops@example.com", "tls": "production"},
}


def config(platform: dict | None = CLUSTER["platform"], **extra) -> dict:
    cluster = copy.deepcopy(CLUSTER)
    if platform is None:
        del cluster["platform"]
    else:
        cluster["platform"] = platform
    return {
        "clusterctl:cluster": "shop",
        "clusterctl:clusterStack": CLUSTER_STACK,
        "clusterctl:hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "clusterctl:clusters": [cluster],
        **extra,
    }


@dataclass
class ArgsMocks(pm.RecordingMocks):
    """Also keeps each registration's MockResourceArgs (its transforms)."""

    args: dict[str, pulumi.runtime.MockResourceArgs] = field(default_factory=dict)

    def new_resource(self, args):
        self.args[args.name] = args
        return super().new_resource(args)


@dataclass
class Run:
    mocks: ArgsMocks
    monitor: pm.RecordingMonitor
    outputs: dict

    def deps(self, name: str) -> set[str]:
        return set(self.monitor.named(name).dependencies)

    def urn(self, name: str) -> str:
        return self.monitor.named(name).urn


def run(cfg: dict, secret_keys: list[str] = ()) -> Run:
    pm.set_config(cfg, secret_keys=list(secret_keys))
    mocks = ArgsMocks(stack_outputs={CLUSTER_STACK: {"kubeconfig": KUBECONFIG}})
    monitor, outputs = pm.run_recorded("platform", mocks)
    return Run(mocks, monitor, outputs)


@pytest.fixture(scope="module")
def shop() -> Run:
    return run(config())


@pytest.fixture(scope="module")
def full(monkeypatch_module) -> Run:
    monkeypatch_module.setenv("HCLOUD_TOKEN", TOKEN)
    return run(
        config(
            {
                "domain": "apps.example.com",
                "challenge": "dns01",
                "postgres": True,
                "metricsServer": True,
                "gitops": {"url": "https://github.com/acme/fleet.git", "branch": "main", "path": "clusters/shop"},
            }
        )
    )


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def of_kind(r: Run, kind: str) -> list[pm.Registered]:
    return [res for res in r.mocks.resources if res.type.endswith(":" + kind)]


def manifests(r: Run) -> list[dict]:
    """Our own objects as the manifests the provider applies (CustomResources and core kinds)."""
    objs = []
    for res in r.mocks.resources:
        if res.type == "kubernetes:core/v1:Namespace":
            objs.append({"apiVersion": "v1", "kind": "Namespace", **pm.plain({k: v for k, v in res.inputs.items() if k == "metadata"})})
        elif res.type == "kubernetes:storage.k8s.io/v1:StorageClass":
            objs.append({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", **pm.plain(res.inputs)})
        elif res.type.split(":")[1] in ("cert-manager.io/v1", "operator.knative.dev/v1beta1", "fluxcd.controlplane.io/v1"):
            objs.append(pm.plain({k: v for k, v in res.inputs.items() if k in ("apiVersion", "kind", "metadata", "spec")}))
    return objs


@pytest.fixture(scope="module")
def catalog() -> crds.CrdCatalog:
    return crds.CrdCatalog.load(crds.require_reference(*crds.PLATFORM), crds.PLATFORM)


def test_every_object_of_ours_validates_against_upstream_schemas(shop, full, catalog):
    for r in (shop, full):
        objs = manifests(r)
        assert {"Namespace", "ClusterIssuer", "KnativeServing"} <= {o["kind"] for o in objs}
        catalog.assert_valid(objs)
    assert {"StorageClass", "FluxInstance"} <= {o["kind"] for o in manifests(full)}


def test_the_workload_kubeconfig_stays_secret_and_the_provider_identity_is_stable(shop):
    (ref,) = shop.mocks.of_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == CLUSTER_STACK
    (provider,) = shop.mocks.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["clusterIdentifier"] == "shop"
    assert pm.plain(provider.inputs["kubeconfig"]) == KUBECONFIG
    assert "kubeconfig" in shop.monitor.named(provider.name).secret_inputs
    # Retained CRDs exist after a destroy and a new up: the provider adopts them.
    assert provider.inputs["upsertExistingObjects"] == "true"


def test_outputs_name_the_ingress_and_the_issuer(shop):
    assert shop.outputs == {
        "ingressNamespace": ("knative-serving", False),
        "ingressService": ("kourier", False),
        "loadBalancer": ("shop-ingress", False),
        "domain": ("apps.example.com", False),
        "clusterIssuer": ("letsencrypt-production", False),
    }


def test_cert_manager_is_pinned_in_its_own_namespace_with_crds_and_awaited_webhooks(shop):
    chart = shop.mocks.named("shop-cert-manager")
    assert chart.type == "kubernetes:helm.sh/v4:Chart"
    assert (chart.inputs["chart"], chart.inputs["version"], chart.inputs["namespace"]) == ("cert-manager", "v1.21.1", "cert-manager")
    assert chart.inputs["repositoryOpts"]["repo"] == "https://charts.jetstack.io"
    assert chart.inputs["values"] == {"crds": {"enabled": True}}
    assert shop.urn("shop-cert-manager-namespace") in shop.deps("shop-cert-manager")
    names = [t.__name__ for t in shop.mocks.args["shop-cert-manager"].transforms]
    assert names == ["await_ca_bundle", "retain_crds"]


def test_order_cert_manager_issuers_operator_knative(shop):
    issuers = of_kind(shop, "ClusterIssuer")
    assert {i.inputs["metadata"]["name"] for i in issuers} == {"letsencrypt-staging", "letsencrypt-production"}
    for issuer in issuers:
        assert shop.urn("shop-cert-manager") in shop.deps(issuer.name)
        assert shop.urn(issuer.name) in shop.deps("shop-knative-operator")
        assert shop.urn(issuer.name) in shop.deps("shop-knative-serving")
    assert shop.urn("shop-knative-operator") in shop.deps("shop-knative-serving")
    assert shop.urn("shop-knative-namespace") in shop.deps("shop-knative-serving")


def test_knative_operator_comes_from_its_release_with_crds_kept(shop):
    operator = shop.mocks.named("shop-knative-operator")
    assert operator.type == "kubernetes:yaml/v2:ConfigGroup"
    assert operator.inputs["files"] == ["https://github.com/knative/operator/releases/download/knative-v1.23.0/operator.yaml"]
    assert "retain_crds" in [t.__name__ for t in shop.mocks.args["shop-knative-operator"].transforms]


def test_knative_serving_is_awaited_until_ready_with_long_timeouts(shop):
    (ks,) = of_kind(shop, "KnativeServing")
    assert ks.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    timeouts = shop.monitor.named(ks.name).custom_timeouts
    assert timeouts["create"] == "30m" and timeouts["delete"] == "20m"
    spec = ks.inputs["spec"]
    assert spec["config"]["domain"] == {"apps.example.com": ""}
    assert spec["config"]["network"]["external-domain-tls"] == "Enabled"
    (service,) = spec["services"]
    assert service["annotations"]["load-balancer.hetzner.cloud/location"] == "hel1"
    assert service["annotations"]["load-balancer.hetzner.cloud/name"] == "shop-ingress"


def test_with_a_domain_no_sslip_job(shop):
    assert "shop-default-domain" not in {r.name for r in shop.mocks.resources}


def test_without_a_domain_the_sslip_job_runs_after_knative_is_ready():
    r = run(config({}))
    job = r.mocks.named("shop-default-domain")
    assert job.inputs["files"] == ["https://github.com/knative/serving/releases/download/knative-v1.23.0/serving-default-domain.yaml"]
    assert r.urn("shop-knative-serving") in r.deps("shop-default-domain")
    assert r.outputs["domain"] == (None, False)
    assert r.outputs["clusterIssuer"] == ("letsencrypt-staging", False)


def test_tls_off_installs_no_cert_manager():
    r = run(config({"tls": "off"}))
    names = {res.name for res in r.mocks.resources}
    assert not {"shop-cert-manager", "shop-cert-manager-namespace"} & names
    assert not of_kind(r, "ClusterIssuer")
    assert r.outputs["clusterIssuer"] == (None, False)


def test_dns01_token_is_a_secret_beside_the_hetzner_webhook(full):
    (secret,) = of_kind(full, "Secret")
    assert secret.inputs["metadata"]["namespace"] == "cert-manager"
    assert "stringData" in full.monitor.named(secret.name).secret_inputs
    assert {"data", "stringData"} <= set(full.monitor.named(secret.name).additional_secret_outputs)
    (key,) = pm.plain(secret.inputs["stringData"])
    assert pm.plain(secret.inputs["stringData"])[key] == TOKEN
    webhook = full.mocks.named("shop-dns01-webhook")
    assert (webhook.inputs["chart"], webhook.inputs["version"], webhook.inputs["namespace"]) == (
        "cert-manager-webhook-hetzner",
        "0.9.0",
        "cert-manager",
    )
    assert webhook.inputs["repositoryOpts"]["repo"] == "https://charts.hetzner.cloud"
    # The chart registers the solver's API under its groupName; the issuers must ask for the same one.
    assert webhook.inputs["values"]["groupName"] == "acme.hetzner.com"
    assert full.urn("shop-cert-manager") in full.deps("shop-dns01-webhook")
    for issuer in of_kind(full, "ClusterIssuer"):
        solver = issuer.inputs["spec"]["acme"]["solvers"][0]["dns01"]["webhook"]
        # The issuer reads the token from the secret the stack made.
        assert solver["config"]["tokenSecretKeyRef"] == {"name": secret.inputs["metadata"]["name"], "key": key}
        assert (solver["groupName"], solver["solverName"]) == ("acme.hetzner.com", "hetzner")
        assert {full.urn("shop-dns01-webhook"), full.urn(secret.name)} <= full.deps(issuer.name)


def test_dns01_without_a_token_is_refused_naming_it(monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    with pytest.raises(SpecError) as err:
        run(config({"domain": "apps.example.com", "challenge": "dns01"}))
    assert str(err.value).startswith("hcloud:token: not set: export HCLOUD_TOKEN")


def test_http01_needs_no_token(monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    r = run(config())
    assert not of_kind(r, "Secret")
    assert r.mocks.named("shop-cert-manager")


def test_options_install_their_pinned_operators(full):
    cnpg = full.mocks.named("shop-cloudnative-pg")
    assert cnpg.inputs["files"] == ["https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.30.0/cnpg-1.30.0.yaml"]
    flux = full.mocks.named("shop-flux-operator")
    assert flux.inputs["files"] == ["https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.58.1/install.yaml"]
    (instance,) = of_kind(full, "FluxInstance")
    assert full.urn("shop-flux-operator") in full.deps(instance.name)
    assert instance.inputs["spec"]["sync"]["ref"] == "refs/heads/main"
    metrics = full.mocks.named("shop-metrics-server")
    assert metrics.inputs["files"] == ["https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.9.0/components.yaml"]
    (sc,) = of_kind(full, "StorageClass")
    assert sc.inputs["provisioner"] == "csi.hetzner.cloud"


def test_options_off_install_nothing_extra(shop):
    names = {r.name for r in shop.mocks.resources}
    assert not {"shop-cloudnative-pg", "shop-flux-operator", "shop-metrics-server", "shop-postgres-storage"} & names


def _deployment(name: str, namespace: str, args: list[str]) -> pulumi.ResourceTransformArgs:
    props = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "metrics-server", "args": args}]}}},
    }
    return pulumi.ResourceTransformArgs(True, "kubernetes:apps/v1:Deployment", f"x:{namespace}/{name}", props, pulumi.ResourceOptions())


def test_metrics_server_skips_kubelet_ca_checks_kubeadm_kubelets_cannot_pass(full):
    transforms = full.mocks.args["shop-metrics-server"].transforms
    upstream = ["--cert-dir=/tmp", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname"]
    results = [t(_deployment("metrics-server", "kube-system", upstream)) for t in transforms]
    (changed,) = [r for r in results if r is not None]
    args = changed.props["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == upstream + ["--kubelet-insecure-tls"]
    # Another Deployment is left alone.
    assert all(t(_deployment("other", "kube-system", upstream)) is None for t in transforms)


def test_a_cluster_without_a_platform_section_fails_naming_it():
    with pytest.raises(SpecError) as err:
        run(config(None))
    assert str(err.value) == (
        "clusters[0].platform: cluster 'shop' has no platform section; add one (`platform: {}` takes the defaults)"
    )


@pytest.mark.parametrize("key", ["clusterctl:cluster", "clusterctl:clusterStack"])
def test_missing_stack_setting_is_refused_naming_it(key):
    cfg = config()
    del cfg[key]
    with pytest.raises(SpecError) as err:
        run(cfg)
    assert str(err.value) == f"{key}: required for the platform stack but not set"


def test_unknown_cluster_is_refused_naming_the_setting():
    with pytest.raises(SpecError) as err:
        run({**config(), "clusterctl:cluster": "nope"})
    assert str(err.value).startswith("Pulumi config: clusterctl:cluster: ") and "'nope'" in str(err.value)
