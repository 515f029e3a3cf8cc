"""The `platform:` section of a cluster: each rule refuses with its own message, naming the field."""

from __future__ import annotations

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from tests.conftest import platform_data


def parsed(platform: dict, version: str = "v1.34.2") -> spec_mod.ClusterSpec:
    data = platform_data()
    data["clusters"][0]["kubernetesVersion"] = version
    data["clusters"][0]["platform"] = platform
    return spec_mod.parse(data).cluster("prod")


def refused(platform: dict, version: str = "v1.34.2") -> list[str]:
    with pytest.raises(SpecError) as err:
        parsed(platform, version)
    return [f"{p.path}: {p.message}" for p in err.value.problems]


def test_no_section_is_a_bare_cluster():
    data = platform_data()
    del data["clusters"][0]["platform"]
    assert spec_mod.parse(data).cluster("prod").platform is None


def test_defaults_are_staging_tls_scale_to_zero_and_kourier():
    p = parsed({}).platform
    assert (p.domain, p.email, p.tls, p.challenge) == (None, None, "staging", "http01")
    assert p.scale_to_zero is True and p.ingress == "kourier"
    assert (p.gitops, p.postgres, p.metrics_server) == (None, False, False)


@pytest.mark.parametrize("version", ["v1.32.13", "v1.33.4"])
def test_kubernetes_older_than_knative_needs_is_refused_naming_both_versions(version):
    (line,) = refused({"domain": "apps.example.com"}, version)
    assert line.startswith("clusters[0].platform: ")
    assert "Knative Serving v1.23.0" in line and "needs Kubernetes v1.34 or newer" in line
    assert f"this cluster runs {version}" in line


def test_the_oldest_kubernetes_knative_accepts_is_accepted():
    assert parsed({}, "v1.34.0").platform is not None


def test_production_tls_without_a_domain_is_refused_because_of_sslip_limits():
    (line,) = refused({"tls": "production"})
    assert line.startswith("clusters[0].platform.tls: tls production needs platform.domain")
    assert "sslip.io" in line and "50 per registered domain per week" in line


def test_production_tls_with_a_domain_is_accepted():
    assert parsed({"tls": "production", "domain": "apps.example.com"}).platform.tls == "production"


@pytest.mark.parametrize(
    "platform, message",
    [
        ({"challenge": "dns01"}, "challenge dns01 needs platform.domain"),
        ({"challenge": "dns01", "domain": "apps.example.com", "tls": "off"}, "challenge dns01 is for certificates, and tls is off"),
    ],
)
def test_dns01_needs_a_domain_and_tls(platform, message):
    (line,) = refused(platform)
    assert line.startswith("clusters[0].platform.challenge: " + message)


@pytest.mark.parametrize("domain", ["localhost", "Apps.Example.com", "apps_x.example.com", "-a.example.com", "a" * 64 + ".example.com"])
def test_a_domain_that_is_no_dns_name_is_refused(domain):
    (line,) = refused({"domain": domain})
    assert line.startswith(f"clusters[0].platform.domain: '{domain[:80]}' is not a domain like apps.example.com")


@pytest.mark.parametrize("email", ["ops", "ops@example", "a b@example.com"])
def test_an_email_that_is_no_address_is_refused(email):
    (line,) = refused({"email": email})
    assert line == f"clusters[0].platform.email: '{email}' is not an e-mail address (the ACME account's contact)"


def test_unknown_values_name_what_is_allowed():
    lines = refused({"tls": "yes", "ingress": "nginx", "challenge": "tls-alpn"})
    assert any(line.startswith("clusters[0].platform.tls: ") and "'staging', 'production' or 'off'" in line for line in lines)
    assert any(line.startswith("clusters[0].platform.ingress: ") and "'kourier'" in line for line in lines)
    assert any(line.startswith("clusters[0].platform.challenge: ") and "'http01' or 'dns01'" in line for line in lines)


def test_unknown_keys_are_refused():
    (line,) = refused({"autoTls": True})
    assert line.startswith("clusters[0].platform.autoTls: ")


@pytest.mark.parametrize("url", ["ftp://example.com/repo.git", "example.com/repo", "https://exa mple.com/r"])
def test_gitops_url_must_be_one_flux_can_clone(url):
    (line,) = refused({"gitops": {"url": url}})
    assert line.startswith(f"clusters[0].platform.gitops.url: '{url}' is not a Git URL Flux can clone")


def test_gitops_defaults_to_the_root_of_main():
    g = parsed({"gitops": {"url": "ssh://git@example.com/ops/apps.git"}}).platform.gitops
    assert (g.url, g.branch, g.path) == ("ssh://git@example.com/ops/apps.git", "main", "./")


def test_gitops_branch_with_blanks_is_refused():
    (line,) = refused({"gitops": {"url": "git@example.com:ops/apps.git", "branch": "my branch"}})
    assert line.startswith("clusters[0].platform.gitops.branch: ")


@pytest.mark.parametrize("key", ["postgres", "metricsServer", "scaleToZero"])
def test_switches_are_booleans_not_strings(key):
    (line,) = refused({key: "yes"})
    assert line.startswith(f"clusters[0].platform.{key}: ") and "boolean" in line
