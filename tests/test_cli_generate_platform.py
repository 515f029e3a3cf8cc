"""`clusterctl-py generate platform NAME`: the platform stack's own objects, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.conftest import EXAMPLE
from tests.support import crds


@pytest.fixture
def spec_file(tmp_path) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["clusters"][0]["kubernetesVersion"] = "v1.34.2"
    data["clusters"][0]["platform"] = {"domain": "apps.example.com", "postgres": True}
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_prints_the_platform_objects_and_names_the_upstream_bundles(spec_file):
    result = invoke("generate", "platform", "prod", "-f", str(spec_file))
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["kind"] for d in docs] == ["Namespace", "ClusterIssuer", "ClusterIssuer", "Namespace", "KnativeServing", "StorageClass"]
    assert "https://github.com/knative/operator/releases/download/knative-v1.23.0/operator.yaml" in result.stdout
    assert "https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.30.0/cnpg-1.30.0.yaml" in result.stdout
    # A domain is set: no sslip.io job.
    assert "serving-default-domain.yaml" not in result.stdout


def test_writes_name_platform_yaml_into_a_directory(spec_file, tmp_path):
    result = invoke("generate", "platform", "prod", "-f", str(spec_file), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0 and result.stdout == ""
    assert (tmp_path / "out" / "prod-platform.yaml").read_text() == invoke("generate", "platform", "prod", "-f", str(spec_file)).stdout


def test_a_cluster_without_a_platform_section_exits_2_naming_the_field(tmp_path):
    data = yaml.safe_load(EXAMPLE.read_text())
    del data["clusters"][0]["platform"]
    bare = tmp_path / "platform.yaml"
    bare.write_text(yaml.safe_dump(data))
    result = invoke("generate", "platform", "prod", "-f", str(bare))
    assert result.exit_code == 2
    assert result.output.startswith("error: clusters[0].platform: cluster 'prod' has no platform section")
    assert "Traceback" not in result.output


def test_the_example_files_platform_renders_what_it_asks_for():
    # examples/platform.yaml as shipped: staging TLS on its domain, Postgres and metrics-server, no GitOps.
    result = invoke("generate", "platform", "prod", "-f", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    (serving,) = [d for d in docs if d["kind"] == "KnativeServing"]
    assert serving["spec"]["config"]["domain"] == {"apps.example.com": ""}
    assert "name: letsencrypt-staging" in serving["spec"]["config"]["certmanager"]["issuerRef"]
    assert serving["spec"]["config"]["autoscaler"]["enable-scale-to-zero"] == "true"
    assert {d["spec"]["acme"]["email"] for d in docs if d["kind"] == "ClusterIssuer"} == {"ops@example.com"}
    assert "StorageClass" in {d["kind"] for d in docs} and "FluxInstance" not in {d["kind"] for d in docs}
    assert "https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.30.0/cnpg-1.30.0.yaml" in result.stdout
    assert "https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.9.0/components.yaml" in result.stdout
    catalog = crds.CrdCatalog.load(crds.require_reference(*crds.PLATFORM), crds.PLATFORM)
    catalog.assert_valid(docs)
