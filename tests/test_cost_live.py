"""`cost --live`: the Hetzner API's prices (per location, net and gross as the API gives them)."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from clusterctl_py.cost import monthly_estimate
from clusterctl_py.providers import PriceList
from tests.conftest import EXAMPLE, platform_data


@pytest.fixture
def project(hcloud_project):
    return hcloud_project


def cost(*args):
    return CliRunner().invoke(app, ["cost", *args], catch_exceptions=False)


def row(out: str, item: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(item))
    return line[len(item):].split()


def test_live_prices_net_and_gross(project):
    result = cost("-f", str(EXAMPLE), "--live")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # The fake's monthly net prices: cpx32 13.99, cpx22 7.99, cax21 8.49, lb11 5.39 (API and ingress), IPv4 0.50.
    assert row(out, "management: 1x cpx32") == ["1", "13.99", "13.99", "13.99"]
    assert row(out, "prod: pool arm cax21") == ["0-20", "8.49", "0.00", "169.80"]
    assert row(out, "total per month, net") == ["65.23", "375.44"]
    # Gross as the API gives it (the fake: net plus 19% VAT), summed the same way.
    assert row(out, "total per month, gross") == ["77.62", "446.77"]
    assert f"EUR, net prices without VAT, gross totals with the VAT rate the API gives (19.00%), from the Hetzner API at {project.endpoint};" in out
    assert {(r.method, r.path) for r in project.requests} == {("GET", "/pricing"), ("GET", "/server_types")}
    assert project.count() == 2


def test_live_prices_say_where_the_catalog_is_out_of_date(project):
    out = cost("-f", str(EXAMPLE), "--live").stdout
    assert "note: cpx22 in nbg1 costs 7.99 net per month, the offline catalog says 7.49" in out


def test_each_cluster_is_priced_in_its_location(project, tmp_path):
    data = platform_data()
    us = dict(data["clusters"][0], name="us", location="ash", pools=[{"name": "web", "serverType": "cpx32", "min": 1, "max": 2}])
    data["clusters"].append(us)
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(data))
    out = cost("-f", str(path), "--live").stdout
    assert row(out, "prod: control plane cpx22") == ["3", "7.99", "23.97", "23.97"]
    # The fake charges 20% more outside the EU, as Hetzner's US prices are higher.
    assert row(out, "us: control plane cpx22") == ["3", "9.59", "28.76", "28.76"]
    assert row(out, "us: pool web cpx32") == ["1-2", "16.79", "16.79", "33.58"]


def test_a_type_without_a_price_there_is_bad_input(project):
    project.set_server_type_location("cpx22", "nbg1", remove=True)
    result = cost("-f", str(EXAMPLE), "--live")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: clusters[0].controlPlane.serverType: the Hetzner API has no price for server type 'cpx22' in nbg1"
        " (not offered there; `clusterctl-py preflight` says more)"
    ]


def test_live_needs_the_token(project, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = cost("-f", str(EXAMPLE), "--live")
    assert result.exit_code == 2 and result.stderr.startswith("error: HCLOUD_TOKEN: not set")
    assert project.requests == []


def test_offline_cost_asks_no_api(project):
    result = cost("-f", str(EXAMPLE))
    assert result.exit_code == 0
    assert row(result.stdout, "total per month") == ["60.73", "347.44"]
    assert "from the catalog of " in result.stdout and project.requests == []


def test_estimate_takes_each_location_from_the_price_list():
    spec = spec_mod.parse(platform_data())  # management in fsn1, prod in nbg1
    fsn1 = PriceList("test", "EUR", "net", {"cpx32": 10.0, "cpx22": 1.0, "cax21": 1.0}, {"lb11": 1.0}, 0.25)
    nbg1 = PriceList("test", "EUR", "net", {"cpx32": 20.0, "cpx22": 2.0, "cax21": 3.0}, {"lb11": 4.0}, 0.5)
    prices = PriceList("test", "EUR", "net", fsn1.machine, fsn1.load_balancer, fsn1.ipv4, {"fsn1": fsn1, "nbg1": nbg1})
    lines = {line.item: line for line in monthly_estimate(spec, prices).lines}
    assert lines["management: 1x cpx32"].unit_eur == 10.0 and lines["management: primary IPv4"].unit_eur == 0.25
    assert lines["prod: pool general cpx32"].unit_eur == 20.0
    assert lines["prod: API load balancer lb11"].unit_eur == 4.0
    assert lines["prod: server IPv4 addresses"].unit_eur == 0.5


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://api.example/v1", "https://", "api.hetzner.cloud/v1"])
def test_a_malformed_endpoint_is_bad_input(project, monkeypatch, endpoint):
    # HCLOUD_ENDPOINT as the hcloud CLI honours it: an http(s) URL of a Hetzner-compatible API.
    monkeypatch.setenv("HCLOUD_ENDPOINT", endpoint)
    result = cost("-f", str(EXAMPLE), "--live")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: HCLOUD_ENDPOINT: '{endpoint}' is not an http(s) URL; "
        "allowed: the API's base URL, e.g. https://api.hetzner.cloud/v1 (the default when unset)"
    ]
    assert project.requests == []
