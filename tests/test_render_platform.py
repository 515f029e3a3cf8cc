"""The platform's own objects, rendered offline: what each setting turns into.

Names of annotations, config keys and fields are spelled as upstream spells
them (Knative's ConfigMaps, the Hetzner CCM's annotations, cert-manager,
flux-operator), never imported from the code under test.
"""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from clusterctl_py.render import platform as rp
from tests.conftest import platform_data
from tests.support import crds

KNATIVE_CONFIGMAPS = "knative-serving/v1.23.0/configmaps"


def spec_with(platform: dict | None, location: str | None = "nbg1") -> spec_mod.PlatformSpec:
    data = platform_data()
    cluster = data["clusters"][0]
    cluster["kubernetesVersion"] = "v1.34.2"
    if location is None:
        del cluster["location"]
    if platform is None:
        del cluster["platform"]  # a bare cluster: BASE, like the example, carries one
    else:
        cluster["platform"] = platform
    return spec_mod.parse(data)


def render(platform: dict, **kw) -> list[dict]:
    spec = spec_with(platform, **kw)
    return rp.render_platform(spec, spec.cluster("prod"))


def one(objs: list[dict], kind: str) -> dict:
    (found,) = [o for o in objs if o["kind"] == kind]
    return found


def serving(platform: dict, **kw) -> dict:
    return one(render(platform, **kw), "KnativeServing")


@pytest.fixture(scope="module")
def catalog() -> crds.CrdCatalog:
    return crds.CrdCatalog.load(crds.require_reference(*crds.PLATFORM), crds.PLATFORM)


SETTINGS = [
    {},
    {"domain": "apps.example.com", "email": "ops@example.com", "tls": "production"},
    {"domain": "apps.example.com", "tls": "staging", "challenge": "dns01", "scaleToZero": False},
    {"tls": "off", "postgres": True, "metricsServer": True},
    {"domain": "apps.example.com", "gitops": {"url": "git@github.com:acme/fleet.git", "branch": "prod", "path": "clusters/prod"}},
]


@pytest.mark.parametrize("platform", SETTINGS)
def test_every_object_validates_against_the_upstream_crds_and_kubernetes(platform, catalog):
    catalog.assert_valid(render(platform))


def test_a_cluster_without_a_platform_section_is_refused_naming_it():
    spec = spec_with(None)
    with pytest.raises(SpecError) as err:
        rp.render_platform(spec, spec.cluster("prod"))
    (problem,) = err.value.problems
    assert problem.path == "clusters[0].platform"
    assert "cluster 'prod' has no platform section" in problem.message


def test_knative_runs_on_kourier_not_the_operators_default_istio():
    ks = serving({})
    assert ks["apiVersion"] == "operator.knative.dev/v1beta1"
    assert (ks["metadata"]["name"], ks["metadata"]["namespace"]) == ("knative-serving", "knative-serving")
    assert ks["spec"]["version"] == "1.23.0"
    assert ks["spec"]["ingress"] == {"kourier": {"enabled": True, "service-type": "LoadBalancer"}}
    assert ks["spec"]["config"]["network"]["ingress-class"] == "kourier.ingress.networking.knative.dev"


def test_kourier_service_gets_the_hetzner_load_balancer_annotations():
    (service,) = serving({})["spec"]["services"]
    assert service["name"] == "kourier"
    assert service["annotations"] == {
        "load-balancer.hetzner.cloud/location": "nbg1",
        "load-balancer.hetzner.cloud/type": "lb11",
        "load-balancer.hetzner.cloud/name": "prod-ingress",
        "load-balancer.hetzner.cloud/use-private-ip": "true",
        "load-balancer.hetzner.cloud/uses-proxyprotocol": "false",
    }
    # The CCM refuses both at once.
    assert "load-balancer.hetzner.cloud/network-zone" not in service["annotations"]


def test_load_balancer_location_falls_back_to_the_specs_default_location():
    (service,) = serving({}, location=None)["spec"]["services"]
    assert service["annotations"]["load-balancer.hetzner.cloud/location"] == "fsn1"


@pytest.mark.parametrize("flag, value", [(True, "true"), (False, "false")])
def test_scale_to_zero_sets_the_autoscaler_flag(flag, value):
    assert serving({"scaleToZero": flag})["spec"]["config"]["autoscaler"] == {"enable-scale-to-zero": value}


def test_the_domain_becomes_config_domain():
    assert serving({"domain": "apps.example.com"})["spec"]["config"]["domain"] == {"apps.example.com": ""}


def test_without_a_domain_config_domain_is_left_to_the_sslip_job():
    # The operator would otherwise overwrite what the default-domain Job writes.
    assert "domain" not in serving({})["spec"]["config"]
    assert rp.DEFAULT_DOMAIN_URL == (
        "https://github.com/knative/serving/releases/download/knative-v1.23.0/serving-default-domain.yaml"
    )


@pytest.mark.parametrize("tls, issuer", [("staging", "letsencrypt-staging"), ("production", "letsencrypt-production")])
def test_tls_turns_on_external_domain_tls_with_our_issuer(tls, issuer):
    config = serving({"domain": "apps.example.com", "tls": tls})["spec"]["config"]
    assert config["network"]["external-domain-tls"] == "Enabled"
    assert "auto-tls" not in config["network"]  # deprecated
    assert yaml.safe_load(config["certmanager"]["issuerRef"]) == {"kind": "ClusterIssuer", "name": issuer}


def test_tls_off_installs_no_cert_manager_objects_and_serves_plain_http():
    objs = render({"tls": "off"})
    config = one(objs, "KnativeServing")["spec"]["config"]
    assert config["network"]["external-domain-tls"] == "Disabled"
    assert "certmanager" not in config
    assert not [o for o in objs if o["kind"] == "ClusterIssuer"]
    assert "cert-manager" not in [o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"]


def test_both_lets_encrypt_issuers_answer_http01_through_knatives_ingress():
    issuers = {o["metadata"]["name"]: o for o in render({"email": "ops@example.com"}) if o["kind"] == "ClusterIssuer"}
    assert set(issuers) == {"letsencrypt-staging", "letsencrypt-production"}
    staging, production = issuers["letsencrypt-staging"]["spec"]["acme"], issuers["letsencrypt-production"]["spec"]["acme"]
    assert staging["server"] == "https://acme-staging-v02.api.letsencrypt.org/directory"
    assert production["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    for acme in (staging, production):
        assert acme["email"] == "ops@example.com"
        assert acme["solvers"] == [{"http01": {"ingress": {}}}]
    assert staging["privateKeySecretRef"] != production["privateKeySecretRef"]


def test_issuers_without_an_email_have_no_email_field():
    for issuer in [o for o in render({}) if o["kind"] == "ClusterIssuer"]:
        assert "email" not in issuer["spec"]["acme"]


def test_dns01_uses_the_hetzner_webhook_and_namespace_wildcard_certificates():
    objs = render({"domain": "apps.example.com", "challenge": "dns01"})
    for issuer in [o for o in objs if o["kind"] == "ClusterIssuer"]:
        (solver,) = issuer["spec"]["acme"]["solvers"]
        webhook = solver["dns01"]["webhook"]
        assert (webhook["groupName"], webhook["solverName"]) == ("acme.hetzner.com", "hetzner")
        assert set(webhook["config"]["tokenSecretKeyRef"]) == {"name", "key"}
    selector = yaml.safe_load(one(objs, "KnativeServing")["spec"]["config"]["network"]["namespace-wildcard-cert-selector"])
    (expr,) = selector["matchExpressions"]
    assert (expr["key"], expr["operator"]) == ("kubernetes.io/metadata.name", "NotIn")
    assert {"kube-system", "knative-serving", "cert-manager"} <= set(expr["values"])
    assert "default" not in expr["values"]


def test_http01_leaves_wildcard_certificates_off():
    # Let's Encrypt issues wildcards only through DNS-01.
    assert "namespace-wildcard-cert-selector" not in serving({"domain": "apps.example.com"})["spec"]["config"]["network"]


def test_every_knative_config_key_is_one_knative_documents():
    """Each key we set appears in the `_example` block of its ConfigMap (knative/serving config/core/configmaps)."""
    examples = {}
    # Through require_reference: $CLUSTERCTL_PY_REFERENCE is honoured (mutmut runs the tests from mutants/).
    for path in (crds.require_reference(KNATIVE_CONFIGMAPS) / "crds" / KNATIVE_CONFIGMAPS).glob("*.yaml"):
        cm = yaml.safe_load(path.read_text())
        examples[cm["metadata"]["name"]] = yaml.safe_load(cm["data"]["_example"])
    for platform in SETTINGS:
        config = serving(platform)["spec"]["config"]
        for name, data in config.items():
            documented = examples[f"config-{name}"]
            for key in data:
                if name == "domain":
                    continue  # its keys are domains
                assert key in documented, f"config-{name} has no key {key!r}"


def test_postgres_storage_class_on_the_hetzner_csi_driver():
    sc = one(render({"postgres": True}), "StorageClass")
    assert sc["metadata"]["name"] == "hcloud-postgres"
    assert sc["provisioner"] == "csi.hetzner.cloud"
    assert (sc["volumeBindingMode"], sc["allowVolumeExpansion"], sc["reclaimPolicy"]) == ("WaitForFirstConsumer", True, "Delete")


def test_no_options_no_storage_class_and_no_flux():
    kinds = {o["kind"] for o in render({})}
    assert kinds == {"Namespace", "ClusterIssuer", "KnativeServing"}


@pytest.mark.parametrize(
    "url, expected",
    [
        ("git@github.com:acme/fleet.git", "ssh://git@github.com/acme/fleet.git"),
        ("https://github.com/acme/fleet.git", "https://github.com/acme/fleet.git"),
        ("ssh://git@gitlab.example.com:2222/acme/fleet.git", "ssh://git@gitlab.example.com:2222/acme/fleet.git"),
    ],
)
def test_flux_instance_syncs_the_branch_and_path_from_a_url_flux_accepts(url, expected):
    flux = one(render({"gitops": {"url": url, "branch": "prod", "path": "clusters/prod"}}), "FluxInstance")
    assert flux["apiVersion"] == "fluxcd.controlplane.io/v1"
    assert (flux["metadata"]["name"], flux["metadata"]["namespace"]) == ("flux", "flux-system")
    assert flux["spec"]["distribution"] == {"version": "2.9.4", "registry": "ghcr.io/fluxcd"}
    assert flux["spec"]["sync"] == {"kind": "GitRepository", "url": expected, "ref": "refs/heads/prod", "path": "clusters/prod"}


def test_release_manifests_are_the_pinned_upstream_assets():
    assert rp.KNATIVE_OPERATOR_URL == "https://github.com/knative/operator/releases/download/knative-v1.23.0/operator.yaml"
    assert rp.CLOUDNATIVE_PG_URL == "https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.30.0/cnpg-1.30.0.yaml"
    assert rp.FLUX_OPERATOR_URL == "https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.58.1/install.yaml"
    assert rp.METRICS_SERVER_URL == "https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.9.0/components.yaml"


def test_rendering_is_deterministic():
    platform = SETTINGS[2]
    assert yaml.safe_dump(render(platform)) == yaml.safe_dump(render(platform))


def test_the_postgres_storage_class_is_the_one_app_deploy_database_asks_for():
    from clusterctl_py.render import app as render_app

    sc = one(render({"postgres": True}), "StorageClass")
    assert sc["metadata"]["name"] == render_app.DB_STORAGE_CLASS


def bundles(platform: dict) -> list[str]:
    spec = spec_with(platform)
    return rp.upstream_bundles(spec, spec.cluster("prod"))


CERT_MANAGER = "cert-manager v1.21.1 (chart cert-manager from https://charts.jetstack.io)"
KNATIVE_OPERATOR = "Knative operator: https://github.com/knative/operator/releases/download/knative-v1.23.0/operator.yaml"
SSLIP = "sslip.io default domain: https://github.com/knative/serving/releases/download/knative-v1.23.0/serving-default-domain.yaml"


@pytest.mark.parametrize("platform, expected", [
    ({}, [CERT_MANAGER, KNATIVE_OPERATOR, SSLIP]),
    ({"tls": "off"}, [KNATIVE_OPERATOR, SSLIP]),
    ({"domain": "apps.example.com", "challenge": "dns01"},
     [CERT_MANAGER, "cert-manager-webhook-hetzner 0.9.0 (chart from https://charts.hetzner.cloud)", KNATIVE_OPERATOR]),
    ({"domain": "apps.example.com", "postgres": True, "metricsServer": True,
      "gitops": {"url": "https://github.com/acme/fleet.git"}},
     [CERT_MANAGER, KNATIVE_OPERATOR,
      "CloudNativePG: https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.30.0/cnpg-1.30.0.yaml",
      "flux-operator: https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.58.1/install.yaml",
      "metrics-server: https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.9.0/components.yaml"]),
], ids=["defaults", "tls off", "dns01", "every option"])
def test_the_upstream_bundles_are_what_the_settings_install(platform, expected):
    """What `generate platform` names in its header: each setting adds its bundle, and only it."""
    assert bundles(platform) == expected
