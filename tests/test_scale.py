"""`clusterctl-py scale`: new autoscaler bounds in platform.yaml, refused as the spec refuses them, one stack applied."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from clusterctl_py.render import render_cluster
from tests.conftest import EXAMPLE
from tests.support.fake_engine import use_fake_engine

TOKEN = "Ab3" * 21 + "x"
MIN_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
MAX_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"


@pytest.fixture
def env(monkeypatch, tmp_path):
    engine = use_fake_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    platform = tmp_path / "platform.yaml"
    platform.write_text(EXAMPLE.read_text())  # with its comments and flow-style pools
    return engine, platform


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def deployments(path) -> dict[str, dict]:
    spec = spec_mod.load(path)
    return {o["metadata"]["name"]: o for o in render_cluster(spec, spec.cluster("prod")) if o["kind"] == "MachineDeployment"}


def test_scale_changes_two_lines_and_applies_only_that_cluster(env):
    engine, platform = env
    before_text = platform.read_text()
    result = invoke("scale", "prod", "arm", "--min", "3", "--max", "19", "-f", str(platform))
    assert result.exit_code == 0, result.output
    after_text = platform.read_text()
    changed = [(a, b) for a, b in zip(before_text.splitlines(), after_text.splitlines()) if a != b]
    assert changed == [("        min: 0", "        min: 3"), ("        max: 20", "        max: 19")]
    assert len(before_text.splitlines()) == len(after_text.splitlines())
    assert result.stdout.splitlines()[0] == f"{platform}: prod/arm: min 0 -> 3, max 20 -> 19"
    # The engine path of `up --cluster prod`: that stack, nothing else.
    assert [(a, p, s) for a, p, s, *_ in engine.runs] == [("up", "cluster", "mgmt-cluster-prod")]
    assert engine.runs[0][3]["clusterctl:platformFile"] == str(platform.resolve())


def test_only_the_autoscaler_annotations_change_and_replicas_stay_unset(env):
    engine, platform = env
    before = deployments(platform)
    assert invoke("scale", "prod", "arm", "--min", "3", "--max", "19", "-f", str(platform)).exit_code == 0
    after = deployments(platform)
    assert sorted(after) == sorted(before) == ["prod-arm", "prod-arm-2", "prod-arm-3", "prod-general", "prod-general-2"]
    sizes = {}
    for name in before:
        old, new = before[name], after[name]
        assert "replicas" not in new["spec"]  # the autoscaler owns it
        assert new["spec"] == old["spec"]
        old_notes, new_notes = dict(old["metadata"].pop("annotations")), dict(new["metadata"].pop("annotations"))
        assert new["metadata"] == old["metadata"]
        assert {k: v for k, v in new_notes.items() if k not in (MIN_SIZE, MAX_SIZE)} == {
            k: v for k, v in old_notes.items() if k not in (MIN_SIZE, MAX_SIZE)
        }
        sizes[name] = (old_notes[MIN_SIZE], old_notes[MAX_SIZE], new_notes[MIN_SIZE], new_notes[MAX_SIZE])
    # arm's three spread groups share the new bounds; general is untouched.
    assert sizes == {
        "prod-arm": ("0", "7", "1", "7"),
        "prod-arm-2": ("0", "7", "1", "6"),
        "prod-arm-3": ("0", "6", "1", "6"),
        "prod-general": ("1", "5", "1", "5"),
        "prod-general-2": ("0", "5", "0", "5"),
    }


def test_a_new_min_is_added_when_the_file_has_none(env, tmp_path):
    engine, platform = env
    platform.write_text(EXAMPLE.read_text().replace("        min: 0\n", ""))
    assert invoke("scale", "prod", "arm", "--min", "2", "-f", str(platform)).exit_code == 0
    assert "        serverType: cax21\n        min: 2\n        max: 20\n" in platform.read_text()


SPLIT = """\
hetzner: {location: fsn1, sshKeys: [ops]}
management: {apiAllowedCidrs: [203.0.113.0/24]}
clusters:
  - name: prod
    kubernetesVersion: v1.33.4
    pools:
      - {name: general, serverType: cpx32, min: 1, max: 9}
      - {name: general-2, serverType: cpx32, max: 3}
"""


@pytest.mark.parametrize(
    "args, text, message",
    [
        (["prod", "general", "--min", "12"], None, "clusters[0].pools[0].max: max (10) must be >= min (12)"),
        (["prod", "general", "--max", "101"], None,
         "clusters[0].pools[0].max: max 101 is above 100, more servers than one cluster's private network holds"),
        (["prod", "general", "--min", "-1"], None, "clusters[0].pools[0].min: must be greater than or equal to 0 (got -1)"),
        # 3 control plane + 80 + 20 in pools + one surging machine per node group (9 + 3) and the control plane.
        (["prod", "general", "--max", "80"], None,
         "clusters[0].pools: at max scale this cluster needs 116 servers (3 control plane + 100 in pools"
         " + 13 surging during a rollout), but one Hetzner private network holds at most 100;"
         " lower the pools' max or split the cluster"),
        # Past 9 servers `general` splits into spread groups general and general-2: the other pool's name.
        (["prod", "general", "--max", "10"], SPLIT,
         "clusters[0].pools[1].name: pool 'general-2' renders node group 'general-2', which pool 'general'"
         " (pools[0]) also renders: with max 10 it is split into node groups general, general-2;"
         " two MachineDeployments would share that name, so rename one of the pools"),
    ],
)
def test_bounds_the_spec_refuses_are_refused_with_its_message_and_nothing_happens(env, args, text, message):
    engine, platform = env
    if text is not None:
        platform.write_text(text)
    before = platform.read_bytes()
    result = invoke("scale", *args, "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {platform}: {message}"]
    assert platform.read_bytes() == before
    assert engine.runs == []
    assert sorted(p.name for p in platform.parent.iterdir()) == ["bin", "platform.yaml"]


def test_no_bound_given_is_refused(env):
    engine, platform = env
    result = invoke("scale", "prod", "general", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: --min/--max: nothing to change: give --min, --max or both"]
    assert engine.runs == []


def test_unknown_cluster_and_pool_name_what_exists(env):
    engine, platform = env
    result = invoke("scale", "nope", "general", "--max", "3", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: clusters: no cluster named 'nope'; defined: prod"]
    result = invoke("scale", "prod", "nope", "--max", "3", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: POOL: cluster 'prod' has no pool named 'nope'; its pools: general, arm"]
    assert engine.runs == []


def test_dry_run_shows_the_diff_and_touches_nothing(env, monkeypatch):
    engine, platform = env
    monkeypatch.delenv("HCLOUD_TOKEN")  # nothing runs, so nothing needs it
    before = platform.read_bytes()
    result = invoke("scale", "prod", "general", "--max", "8", "--dry-run", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert "-      - {name: general, serverType: cpx32, min: 1, max: 10}" in result.stdout.splitlines()
    assert "+      - {name: general, serverType: cpx32, min: 1, max: 8}" in result.stdout.splitlines()
    assert platform.read_bytes() == before
    assert engine.runs == []


def test_the_split_into_node_groups_is_reported(env):
    engine, platform = env
    result = invoke("scale", "prod", "general", "--max", "8", "-f", str(platform))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        f"{platform}: prod/general: min 1, max 10 -> 8; node groups (MachineDeployments) general, general-2 -> general"
    )


def test_prerequisites_are_checked_before_the_file_is_written(env, monkeypatch):
    engine, platform = env
    monkeypatch.delenv("HCLOUD_TOKEN")
    before = platform.read_bytes()
    result = invoke("scale", "prod", "general", "--max", "8", "-f", str(platform))
    assert result.exit_code == 2
    assert "HCLOUD_TOKEN: not set" in result.stderr
    assert platform.read_bytes() == before


def test_bounds_already_in_the_file_apply_the_stack_again(env):
    # A run whose stack failed after the file was written is finished by running it again.
    engine, platform = env
    before = platform.read_bytes()
    result = invoke("scale", "prod", "general", "--min", "1", "--max", "10", "-f", str(platform))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{platform}: already prod/general: min 1, max 10; applying the cluster's stack"
    assert platform.read_bytes() == before
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-cluster-prod"]


def test_a_failed_stack_exits_1_and_says_which(env):
    engine, platform = env
    engine.fail_on = "mgmt-cluster-prod"
    result = invoke("scale", "prod", "general", "--max", "8", "-f", str(platform))
    assert result.exit_code == 1
    assert "error: stack mgmt-cluster-prod failed during up" in result.stderr


def test_the_day2_guide_shows_what_scale_prints(env):
    engine, platform = env
    guide = (EXAMPLE.parents[1] / "docs" / "day2.md").read_text()
    shown = guide.split("## `scale`", 1)[1].split("```", 4)
    command, output = shown[1].strip(), shown[3].strip().splitlines()
    assert command == "bash\nclusterctl-py scale prod general --min 2 --max 8 -f platform.yaml"
    result = invoke(*command.split()[2:-2], "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert result.stdout.replace(str(platform), "platform.yaml").splitlines() == output
