"""docs/platform.md: its YAML, versions, prices, annotations and test marks are fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py import versions
from clusterctl_py.render import platform as rp
from tests.conftest import EXAMPLE
from tests.support import crds

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "platform.md").read_text()


def documented_section() -> dict:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    return yaml.safe_load(block)["platform"]


def test_the_documented_section_renders_on_the_example_cluster():
    data = yaml.safe_load(EXAMPLE.read_text())
    data["clusters"][0]["platform"] = documented_section()
    spec = spec_mod.parse(data)
    objs = rp.render_platform(spec, spec.cluster("prod"))
    assert {"ClusterIssuer", "KnativeServing", "StorageClass", "FluxInstance"} <= {o["kind"] for o in objs}
    catalog = crds.CrdCatalog.load(crds.require_reference(*crds.PLATFORM), crds.PLATFORM)
    catalog.assert_valid(objs)


def test_every_tested_mark_names_a_test_that_exists():
    marks = re.findall(r"\*\(tested: (tests/[\w/]+\.py)::(\w+)\)\*", DOC)
    assert len(marks) >= 10
    for path, name in marks:
        source = (REPO / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"
    # No mark in another shape slips past this check.
    assert DOC.count("(tested: tests/") == len(marks)


def row(first_cell: str) -> list[str]:
    (line,) = [ln for ln in DOC.splitlines() if ln.startswith(f"| {first_cell} |")]
    return [c.strip() for c in line.strip("|").split("|")]


@pytest.mark.parametrize(
    "component, version",
    [
        ("cert-manager", versions.CERT_MANAGER),
        ("cert-manager-webhook-hetzner", f"chart {versions.CERT_MANAGER_WEBHOOK_HETZNER}"),
        ("Knative Operator", versions.KNATIVE_OPERATOR),
        ("CloudNativePG", versions.CLOUDNATIVE_PG),
        ("flux-operator + `FluxInstance` `flux`", versions.FLUX_OPERATOR),
        ("metrics-server", versions.METRICS_SERVER),
    ],
)
def test_the_component_table_shows_the_pinned_versions(component, version):
    assert row(component)[1].startswith(version)
    assert versions.FLUX_DISTRIBUTION in row("flux-operator + `FluxInstance` `flux`")[1]


def test_the_annotation_table_is_what_the_kourier_service_gets():
    data = yaml.safe_load(EXAMPLE.read_text())
    data["clusters"][0]["kubernetesVersion"] = "v1.34.2"
    data["clusters"][0]["platform"] = {}
    spec = spec_mod.parse(data)
    (service,) = rp.knative_serving(spec, spec.cluster("prod"))["spec"]["services"]
    documented = {m[1]: m[2] for m in re.finditer(r"^\| `(load-balancer\.hetzner\.cloud/[a-z-]+)` \| ([^|]+) \|", DOC, re.M)}
    assert set(documented) == set(service["annotations"])
    for key in ("type", "use-private-ip", "uses-proxyprotocol"):
        value = service["annotations"][f"load-balancer.hetzner.cloud/{key}"]
        assert documented[f"load-balancer.hetzner.cloud/{key}"].strip().strip("`").strip('"') == value


def test_quoted_prices_are_the_catalogs():
    prices = spec_mod.parse(yaml.safe_load(EXAMPLE.read_text())).provider.price_list()
    assert f"costs 3.49 EUR a month (a `cx23`" in DOC and prices.machine["cx23"] == 3.49
    assert f"load balancer costs {prices.load_balancer['lb11']:.2f} EUR a month" in DOC
    assert f"`lb11` | the smallest type ({prices.load_balancer['lb11']:.2f} EUR a month" in DOC


def test_the_stack_config_table_names_exactly_the_keys_the_program_reads():
    from clusterctl_py.programs.platform import STACK_KEYS

    documented = set(re.findall(r"^\| `clusterctl:(\w+)`", DOC, re.M))
    assert documented == set(STACK_KEYS) | {"platformFile"}
