"""A cluster's platform makes one more load balancer (its ingress): in `cost`, `cost --live`, the footprint, `preflight`, `cleanup`.

The Hetzner CCM makes a Service's load balancer of type lb11 unless the
Service's `load-balancer.hetzner.cloud/type` annotation says otherwise
(hetznercloud/hcloud-cloud-controller-manager internal/hcops/load_balancer.go, Create).
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from clusterctl_py.cost import monthly_estimate
from clusterctl_py.providers import LoadBalancerUse
from tests.conftest import platform_data


def bare() -> dict:
    data = platform_data()
    data["clusters"][0].pop("platform")
    return data


def with_platform(**platform) -> dict:
    data = platform_data()
    data["clusters"][0]["kubernetesVersion"] = "v1.34.11"
    data["clusters"][0]["platform"] = platform or {"domain": "apps.example.com"}
    return data


@pytest.fixture
def write(tmp_path):
    def make(data: dict) -> str:
        path = tmp_path / "platform.yaml"
        path.write_text(yaml.safe_dump(data))
        return str(path)

    return make


@pytest.fixture
def project(hcloud_project):
    hcloud_project.add_ssh_key("ops")
    return hcloud_project


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def row(out: str, item: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(item))
    return line[len(item):].split()


def test_cost_has_a_line_for_the_ingress_load_balancer(write):
    bare_out = invoke("cost", "-f", write(bare())).stdout
    assert "ingress load balancer" not in bare_out
    out = invoke("cost", "-f", write(with_platform())).stdout
    # lb11 at the offline catalog's 5.39 a month, at minimum and maximum scale alike.
    assert row(out, "prod: ingress load balancer lb11") == ["1", "5.39", "5.39", "5.39"]
    low, high = (float(x) for x in row(bare_out, "total per month"))
    assert row(out, "total per month") == [f"{low + 5.39:.2f}", f"{high + 5.39:.2f}"]
    assert out.rstrip().endswith("traffic, volumes and load balancers of your own Services extra.")


def test_cost_live_prices_the_ingress_load_balancer_from_the_api(project, write):
    result = invoke("cost", "-f", write(with_platform()), "--live")
    assert result.exit_code == 0, result.output
    # The fake API's lb11: 5.39 net a month everywhere.
    assert row(result.stdout, "prod: ingress load balancer lb11") == ["1", "5.39", "5.39", "5.39"]


def test_estimate_prices_the_ingress_in_the_clusters_location():
    spec = spec_mod.parse(with_platform())
    lines = {line.item: line for line in monthly_estimate(spec).lines}
    assert (lines["prod: ingress load balancer lb11"].count_min, lines["prod: ingress load balancer lb11"].count_max) == (1, 1)


def test_the_footprint_lists_each_load_balancer_with_its_spec_field_and_maker():
    spec = spec_mod.parse(with_platform())
    api = LoadBalancerUse("hetzner.loadBalancerType", "lb11", "nbg1", "prod's API", "CAPH")
    ingress = LoadBalancerUse("clusters[0].platform", "lb11", "nbg1", "prod's ingress", "the Hetzner CCM")
    assert spec.provider.footprint(spec).load_balancers == (api, ingress)
    assert spec.provider.footprint(spec, "prod").load_balancers == (api, ingress)
    spec = spec_mod.parse(bare())
    assert spec.provider.footprint(spec).load_balancers == (api,)


def test_preflight_names_the_load_balancers_the_plan_makes(project, write):
    result = invoke("preflight", "-f", write(with_platform()))
    assert result.exit_code == 0, result.output
    assert "  load balancers the plan makes: prod's API lb11 in nbg1 (CAPH), prod's ingress lb11 in nbg1 (the Hetzner CCM)" in (
        result.stdout.splitlines()
    )


def test_cleanup_finds_the_ingress_load_balancer_the_ccm_left(project, monkeypatch):
    from clusterctl_py.clients import hetzner

    monkeypatch.setattr(hetzner, "default_api", lambda token, endpoint=None: hetzner.HetznerClient(
        token, endpoint or hetzner.endpoint_from_env(), poll_interval=0, backoff=lambda n: 0))
    net = project.add_network("prod", {"caph-cluster-prod": "owned"})
    # Named by the Service's load-balancer.hetzner.cloud/name annotation; the CCM labels it with the Service's UID only.
    lb = project.add_load_balancer("prod-ingress", {"hcloud-ccm/service-uid": "0d9e2c41-7a8b-4c5d-9e0f-1a2b3c4d5e6f"},
                              location="nbg1", networks=[net["id"]])
    result = invoke("cleanup", "prod")
    assert result.exit_code == 0, result.output
    found = [line.split() for line in result.stdout.splitlines() if line.startswith("  load balancer ")]
    assert found == [["load", "balancer", "prod-ingress", str(lb["id"]), "lb11", "nbg1", "hcloud-ccm/service-uid,", "on", "network",
                      "prod", "(the", "Hetzner", "CCM)", "5.39"]]
