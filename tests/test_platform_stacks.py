"""The platform stacks in up / preview / destroy: after their cluster, destroyed before it, with their own config.

Runs through the CLI on the FakeEngine: which stacks run, in which order,
with which config; the programs themselves are not run here.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.conftest import EXAMPLE, REPO, platform_data
from tests.support.fake_engine import FakeEngine, use_fake_engine

TOKEN = "Pf7" * 21 + "q"  # 64 alphanumerics, like a Hetzner token
SHARED = ["mgmt-management", "mgmt-capi"]
CLUSTERS = ["mgmt-cluster-prod", "mgmt-cluster-staging", "mgmt-cluster-bare"]
PLATFORMS = ["mgmt-platform-prod", "mgmt-platform-staging"]


def spec_data() -> dict:
    """prod: platform with HTTP-01; staging: platform with DNS-01; bare: no platform."""
    data = platform_data()
    first = dict(data["clusters"][0], kubernetesVersion="v1.34.11")
    # Copies, not shared objects: yaml.safe_dump would write shared ones as anchors.
    data["clusters"] = [
        copy.deepcopy(dict(first, name="prod", platform={"domain": "apps.example.com", "email": "ops@example.com"})),
        copy.deepcopy(dict(first, name="staging", platform={"domain": "staging.example.com", "challenge": "dns01"})),
        copy.deepcopy({k: v for k, v in dict(first, name="bare").items() if k != "platform"}),
    ]
    return data


@pytest.fixture
def env(monkeypatch, tmp_path, fake_hcloud):
    # `up` runs preflight first: against the local Hetzner API fake, where the spec's SSH key exists.
    fake_hcloud.tokens[TOKEN] = "read_write"
    fake_hcloud.add_ssh_key("ops")
    monkeypatch.setenv("HCLOUD_ENDPOINT", fake_hcloud.endpoint)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    engine = use_fake_engine(monkeypatch, tmp_path)
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(spec_data()))
    return engine, path


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def stacks(engine: FakeEngine) -> list[str]:
    return [s for _, _, s, *_ in engine.runs]


def test_up_runs_each_platform_after_all_clusters(env):
    engine, path = env
    result = invoke("up", "-f", str(path))
    assert result.exit_code == 0, result.output
    order = stacks(engine)
    assert order[:2] == SHARED
    assert sorted(order[2:5]) == sorted(CLUSTERS)
    assert sorted(order[5:]) == PLATFORMS
    assert {p for _, p, s, *_ in engine.runs if s in PLATFORMS} == {"platform"}
    assert result.stdout.splitlines() == [
        "up in organization:",
        "  mgmt-management        up done",
        "  mgmt-capi              up done",
        "  mgmt-cluster-prod      up done",
        "  mgmt-cluster-staging   up done",
        "  mgmt-cluster-bare      up done",
        "  mgmt-platform-prod     up done",
        "  mgmt-platform-staging  up done",
    ]
    assert "[7/7] mgmt-platform-staging: up done: 1/1 resources in 00:00" in result.stderr


def test_each_platform_stack_reads_its_own_cluster_stack(env):
    engine, path = env
    assert invoke("up", "--org", "acme", "-f", str(path)).exit_code == 0
    configs = {s: c for _, p, s, c, _ in engine.runs if p == "platform"}
    assert configs == {
        "mgmt-platform-prod": {
            "clusterctl:platformFile": str(path.resolve()),
            "clusterctl:cluster": "prod",
            "clusterctl:clusterStack": "acme/clusterctl-cluster/mgmt-cluster-prod",
        },
        "mgmt-platform-staging": {
            "clusterctl:platformFile": str(path.resolve()),
            "clusterctl:cluster": "staging",
            "clusterctl:clusterStack": "acme/clusterctl-cluster/mgmt-cluster-staging",
        },
    }


def test_only_a_dns01_platform_gets_the_token(env):
    engine, path = env
    result = invoke("up", "-f", str(path))
    gets = {s: token for _, _, s, _, token in engine.runs}
    # HTTP-01 is answered inside the cluster; DNS-01 writes records into the Hetzner DNS zone.
    assert gets["mgmt-platform-prod"] is False
    assert gets["mgmt-platform-staging"] is True
    for *_, config, _ in engine.runs:
        assert TOKEN not in config.values()
    assert TOKEN not in result.output


def test_one_cluster_runs_with_its_platform(env):
    engine, path = env
    assert invoke("up", "--cluster", "staging", "-f", str(path)).exit_code == 0
    assert stacks(engine) == ["mgmt-cluster-staging", "mgmt-platform-staging"]
    engine.runs.clear()
    assert invoke("preview", "--cluster", "prod", "-f", str(path)).exit_code == 0
    assert stacks(engine) == ["mgmt-cluster-prod", "mgmt-platform-prod"]
    engine.runs.clear()
    result = invoke("destroy", "--yes", "--cluster", "prod", "-f", str(path))
    assert result.exit_code == 0, result.output
    assert [(a, s) for a, _, s, *_ in engine.runs] == [("destroy", "mgmt-platform-prod"), ("destroy", "mgmt-cluster-prod")]
    engine.runs.clear()
    # A cluster without a platform is one stack, as before.
    assert invoke("up", "--cluster", "bare", "-f", str(path)).exit_code == 0
    assert stacks(engine) == ["mgmt-cluster-bare"]


def test_destroy_removes_the_platforms_first(env):
    engine, path = env
    result = invoke("destroy", "--yes", "-f", str(path))
    assert result.exit_code == 0, result.output
    order = stacks(engine)
    assert sorted(order[:2]) == PLATFORMS
    assert sorted(order[2:5]) == sorted(CLUSTERS)
    assert order[5:] == ["mgmt-capi", "mgmt-management"]
    assert {a for a, *_ in engine.runs} == {"destroy"}
    assert result.stdout.splitlines()[1:3] == ["  mgmt-platform-staging  destroyed", "  mgmt-platform-prod     destroyed"]


def test_destroy_finds_the_platform_stack_of_a_section_removed_from_the_spec(env):
    engine, path = env
    everything = {*SHARED, *CLUSTERS, *PLATFORMS, "mgmt-platform-bare"}
    engine.existing = everything
    result = invoke("destroy", "--yes", "--cluster", "bare", "-f", str(path))
    assert result.exit_code == 0, result.output
    assert stacks(engine) == ["mgmt-platform-bare", "mgmt-cluster-bare"]
    assert "  mgmt-platform-bare  destroyed" in result.stdout.splitlines()
    # Where there is none, destroy says nothing about it.
    engine.runs.clear()
    engine.existing = everything - {"mgmt-platform-bare"}
    result = invoke("destroy", "--yes", "-f", str(path))
    assert result.exit_code == 0, result.output
    assert "mgmt-platform-bare" not in stacks(engine)
    assert "mgmt-platform-bare" not in result.output


def test_up_refuses_while_a_removed_platform_section_left_its_stack(env):
    engine, path = env
    engine.existing = {*SHARED, *CLUSTERS, *PLATFORMS, "mgmt-platform-bare"}
    result = invoke("up", "-f", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"error: {path}: clusters[2].platform: not set, but cluster bare still has its platform stack "
        "organization/clusterctl-platform/mgmt-platform-bare, which its apps run on (Knative, the ingress load balancer, "
        "the database operator); "
        "`up` never deletes a platform: put the section back, or delete the platform first with "
        "`pulumi destroy --stack organization/clusterctl-platform/mgmt-platform-bare` in stacks/platform "
        "(or `clusterctl-py destroy --cluster bare`, which deletes the cluster too)",
    ]
    assert engine.runs == []
    # Another cluster's run is not held up by it.
    assert invoke("up", "--cluster", "prod", "-f", str(path)).exit_code == 0
    assert stacks(engine) == ["mgmt-cluster-prod", "mgmt-platform-prod"]


def test_a_failing_platform_stops_nothing_but_itself_on_up(env):
    engine, path = env
    engine.fail_on = "mgmt-platform-prod"
    result = invoke("up", "-f", str(path))
    assert result.exit_code == 1
    assert sorted(stacks(engine)) == sorted([*SHARED, *CLUSTERS, *PLATFORMS])
    lines = result.stdout.splitlines()
    assert "  mgmt-platform-prod     failed: hcloud:index/server:Server mgmt-platform-prod-server: server limit reached" in lines
    assert "  mgmt-platform-staging  up done" in lines
    assert result.stderr.splitlines()[-1] == (
        "error: stack mgmt-platform-prod failed during up: hcloud:index/server:Server mgmt-platform-prod-server: server limit reached"
    )


def test_a_failing_cluster_holds_only_its_own_platform_on_up(env):
    engine, path = env
    engine.fail_on = "mgmt-cluster-prod"
    result = invoke("up", "-f", str(path))
    assert result.exit_code == 1
    assert "mgmt-platform-prod" not in stacks(engine)
    assert "mgmt-platform-staging" in stacks(engine)
    lines = result.stdout.splitlines()
    assert "  mgmt-platform-prod     not run because mgmt-cluster-prod failed" in lines
    assert "  mgmt-platform-staging  up done" in lines


def test_a_failing_platform_keeps_its_cluster_and_the_shared_stacks_on_destroy(env):
    engine, path = env
    engine.fail_on = "mgmt-platform-prod"
    result = invoke("destroy", "--yes", "-f", str(path))
    assert result.exit_code == 1
    # The other clusters go; prod stays until its platform is gone, and CAPI stays while prod is there.
    assert sorted(stacks(engine)) == sorted(["mgmt-platform-prod", "mgmt-platform-staging", "mgmt-cluster-staging", "mgmt-cluster-bare"])
    lines = result.stdout.splitlines()
    assert (
        "  mgmt-cluster-prod      not run because mgmt-platform-prod failed "
        "(destroying the cluster first would leave its platform's load balancer and volumes behind)"
    ) in lines
    assert (
        "  mgmt-capi              not run because mgmt-platform-prod failed "
        "(destroying it while clusters may still exist would orphan their servers)"
    ) in lines
    assert "  mgmt-cluster-staging   destroyed" in lines
    assert result.stderr.splitlines()[-1].startswith("error: stack mgmt-platform-prod failed during destroy: ")


def test_preview_lists_the_platform_stacks_and_waits_for_their_clusters(env):
    engine, path = env
    engine.existing = {*SHARED, "mgmt-cluster-prod", "mgmt-platform-prod"}
    result = invoke("preview", "-f", str(path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  mgmt-platform-prod     previewed: 1 to create" in lines
    assert (
        "  mgmt-platform-staging  would be created; cannot be previewed before mgmt-cluster-staging exist(s): "
        "it reads their outputs; `up` creates them"
    ) in lines
    assert "mgmt-platform-staging" not in stacks(engine)


def test_scale_applies_the_cluster_stack_without_its_platform(env):
    engine, path = env
    result = invoke("scale", "prod", "general", "--max", "9", "-f", str(path))
    assert result.exit_code == 0, result.output
    # Only the pool's bounds changed: the platform stack has nothing to do.
    assert [(a, p, s) for a, p, s, *_ in engine.runs] == [("up", "cluster", "mgmt-cluster-prod")]


DESTROY_NOTE = [
    "note: apps (`clusterctl-py app deploy`) are not part of the platform stack, and their databases' volumes"
    " are deleted by the CSI driver only while the cluster runs:",
    "note: run `clusterctl-py app delete NAME --cluster CLUSTER --yes` (or delete their namespaces) first;"
    " `clusterctl-py cleanup CLUSTER` finds volumes left behind",
]


def test_destroy_says_first_that_the_apps_and_their_volumes_are_not_in_the_stacks(env):
    engine, path = env
    result = invoke("destroy", "-f", str(path))  # not interactive, no --yes: refused, after the note
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == DESTROY_NOTE
    assert engine.runs == []
    result = invoke("destroy", "--yes", "--cluster", "staging", "-f", str(path))
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == DESTROY_NOTE
    # A cluster without a platform has no apps to warn about.
    result = invoke("destroy", "--yes", "--cluster", "bare", "-f", str(path))
    assert result.exit_code == 0
    assert "app delete" not in result.stderr


# ---- docs/stacks.md, "The platform stack": its commands and output are fixtures --------------------


def platform_section() -> str:
    text = (REPO / "docs" / "stacks.md").read_text()
    return text.split("## The platform stack\n", 1)[1].split("\n## ", 1)[0]


def test_the_guide_sets_the_config_keys_up_gives_a_platform_stack(env):
    engine, path = env
    assert invoke("up", "--cluster", "prod", "-f", str(path)).exit_code == 0
    (config,) = [c for _, p, _, c, _ in engine.runs if p == "platform"]
    bash = re.search(r"```bash\n(.*?)```", platform_section(), re.S)[1]
    keys = re.findall(r"pulumi config set (\S+) ", bash)
    assert sorted(keys) == sorted(config) == ["clusterctl:cluster", "clusterctl:clusterStack", "clusterctl:platformFile"]
    assert "pulumi stack init " in bash and bash.rstrip().endswith("pulumi up")


def test_the_guide_shows_what_destroy_says_first(env):
    engine, path = env
    result = invoke("destroy", "--yes", "-f", str(path))
    shown = re.search(r"```text\n(.*?)```", platform_section(), re.S)[1]
    assert shown.splitlines() == result.stderr.splitlines()[:2] == DESTROY_NOTE


@pytest.mark.parametrize("command, says", [
    ("up", "the workload clusters side by side, then the app platform of each cluster that has a `platform` section"),
    ("destroy", "Delete the platform stacks first (their load balancer and volumes go while the clusters run)"),
    ("preview", "stack by stack (platform stacks included)"),
])
def test_help_names_the_platform_stacks(command, says):
    text = " ".join(CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}).stdout.split())
    assert says in text


def test_preview_of_the_example_lists_its_platform_stack(env):
    engine, _ = env
    engine.existing = set()  # a first preview: nothing exists yet
    result = invoke("preview", "-f", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "  mgmt-platform-prod  would be created; cannot be previewed before mgmt-cluster-prod exist(s): "
        "it reads their outputs; `up` creates them"
    )
