"""Edits of platform.yaml change one value and nothing else; a refused edit writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from clusterctl_py import spec_edit
from clusterctl_py.errors import SpecError
from clusterctl_py.spec_edit import Edit
from tests.conftest import EXAMPLE

# Four-space mappings, two-space lists, aligned comments, quotes, blank lines:
# styles a full YAML round trip (ruamel.yaml) rewrites.
MIXED = """\
# Platform of the payments team.
hetzner:
    location: fsn1          # where everything runs
    networkZone: eu-central
    sshKeys: ['ops']        # single-quoted on purpose

management:
    apiAllowedCidrs: [203.0.113.0/24]

clusters:
- name: prod
  kubernetesVersion: "v1.33.4"    # bump with upgrade apply
  pools:


  - name: general   # two blank lines above
    serverType: cpx32
    min: 1
    max: 6          # max stays within one spread group
  - {name: batch, serverType: cpx32, max: 4}   # flow style
- name: staging
  kubernetesVersion: v1.33.4
  pools:
  - name: general
    serverType: cpx22
    max: 3
"""


def write(tmp_path: Path, text: str, name: str = "platform.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """Pairs of (old, new) lines that differ; the texts must have the same number of lines."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new) if a != b]


def edited(text: str, *edits: Edit) -> str:
    return spec_edit.edit_text(text, list(edits))[0]


def test_a_version_bump_changes_only_that_value_keeping_its_quotes_and_comment():
    after = edited(MIXED, Edit("clusters[name=prod].kubernetesVersion", "v1.34.2"))
    assert changed_lines(MIXED, after) == [
        ('  kubernetesVersion: "v1.33.4"    # bump with upgrade apply\n',
         '  kubernetesVersion: "v1.34.2"    # bump with upgrade apply\n'),
    ]


def test_the_item_is_picked_by_name_not_position():
    after = edited(MIXED, Edit("clusters[name=staging].pools[name=general].max", 5))
    assert changed_lines(MIXED, after) == [("    max: 3\n", "    max: 5\n")]


def test_a_value_in_a_flow_mapping_keeps_the_flow_style():
    after = edited(MIXED, Edit("clusters[name=prod].pools[name=batch].max", 7))
    assert changed_lines(MIXED, after) == [
        ("  - {name: batch, serverType: cpx32, max: 4}   # flow style\n",
         "  - {name: batch, serverType: cpx32, max: 7}   # flow style\n"),
    ]


def test_a_missing_key_is_added_beside_its_sibling_and_everything_else_stays():
    after = edited(
        MIXED,
        Edit("clusters[name=staging].pools[name=general].min", 1, before="max"),
        Edit("clusters[name=prod].pools[name=batch].min", 2, before="max"),
    )
    assert after == MIXED.replace(
        "    serverType: cpx22\n    max: 3\n", "    serverType: cpx22\n    min: 1\n    max: 3\n"
    ).replace("{name: batch, serverType: cpx32, max: 4}", "{name: batch, serverType: cpx32, min: 2, max: 4}")
    data = yaml.safe_load(after)
    assert data["clusters"][1]["pools"][0] == {"name": "general", "serverType": "cpx22", "min": 1, "max": 3}


def test_a_missing_key_without_a_sibling_goes_after_the_last_one_line_pair():
    text = "hetzner: {location: fsn1, sshKeys: [ops]}\nclusters:\n  - name: a\n    kubernetesVersion: v1.33.4  # note\n    pools: [{name: p, serverType: cpx22, max: 2}]\n    location: nbg1\n"
    after = edited(text, Edit("clusters[name=a].namespace", "team-a"))
    assert after == text + "    namespace: team-a\n"


def test_the_example_file_keeps_every_untouched_line():
    text = EXAMPLE.read_text()
    after = edited(
        text,
        Edit("clusters[name=prod].kubernetesVersion", "v1.35.9"),
        Edit("clusters[name=prod].pools[name=general].max", 8),
        Edit("clusters[name=prod].pools[name=arm].min", 1),
    )
    assert changed_lines(text, after) == [
        ("    kubernetesVersion: v1.34.11   # the platform's Knative Serving needs v1.34 or newer\n",
         "    kubernetesVersion: v1.35.9   # the platform's Knative Serving needs v1.34 or newer\n"),
        ("      - {name: general, serverType: cpx32, min: 1, max: 10}\n",
         "      - {name: general, serverType: cpx32, min: 1, max: 8}\n"),
        ("        min: 0\n", "        min: 1\n"),
    ]


def test_crlf_files_stay_crlf():
    text = MIXED.replace("\n", "\r\n")
    after = edited(text, Edit("clusters[name=staging].pools[name=general].min", 1, before="max"))
    assert after == text.replace("    max: 3\r\n", "    min: 1\r\n    max: 3\r\n")


ANCHORED = """\
hetzner: {location: fsn1, sshKeys: [ops]}
management: {apiAllowedCidrs: [203.0.113.0/24]}
clusters:
  - name: prod
    kubernetesVersion: &k8s v1.33.4
    pools: &pools
      - name: general
        serverType: cpx32
        max: 3
  - name: staging
    kubernetesVersion: *k8s
    pools: *pools
  - name: dev
    <<: &defaults
      kubernetesVersion: v1.33.4
    pools:
      - name: general
        serverType: cpx22
        max: 2
"""


@pytest.mark.parametrize(
    "edit, path, why",
    [
        # prod's and staging's pools are one node: a new max for one would be a new max for both.
        (Edit("clusters[name=staging].pools[name=general].max", 5), "clusters[name=staging].pools", "shared with other places"),
        (Edit("clusters[name=prod].pools[name=general].max", 5), "clusters[name=prod].pools", "shared with other places"),
        # The anchored scalar is repeated by *k8s.
        (Edit("clusters[name=prod].kubernetesVersion", "v1.34.2"), "clusters[name=prod].kubernetesVersion", "anchor or a tag (&k8s)"),
        (Edit("clusters[name=staging].kubernetesVersion", "v1.34.2"), "clusters[name=staging].kubernetesVersion", "anchor or a tag"),
    ],
)
def test_values_shared_through_anchors_are_refused(edit, path, why):
    with pytest.raises(SpecError) as info:
        edited(ANCHORED, edit)
    (problem,) = info.value.problems
    assert problem.path == path
    assert why in problem.message and "edit the file by hand" in problem.message


def test_a_merged_value_is_overridden_in_its_own_mapping_only():
    # dev's version comes from a `<<` merge: the edit adds dev's own key, the merged mapping stays.
    after = edited(ANCHORED, Edit("clusters[name=dev].kubernetesVersion", "v1.34.2"))
    data = yaml.safe_load(after)
    assert data["clusters"][2]["kubernetesVersion"] == "v1.34.2"
    assert "      kubernetesVersion: v1.33.4\n" in after  # the anchored mapping is untouched
    assert [c["kubernetesVersion"] for c in data["clusters"][:2]] == ["v1.33.4", "v1.33.4"]


def test_a_missing_path_names_it():
    with pytest.raises(SpecError) as info:
        edited(MIXED, Edit("clusters[name=nope].kubernetesVersion", "v1.34.2"))
    assert [str(p) for p in info.value.problems] == ["clusters[name=nope]: not found in the file"]


def test_a_refused_value_fails_with_the_specs_message_and_leaves_the_file_byte_identical(tmp_path):
    path = write(tmp_path, MIXED)
    path.chmod(0o640)
    before = path.read_bytes()
    with pytest.raises(SpecError) as info:
        spec_edit.prepare(path, [Edit("clusters[name=prod].pools[name=general].max", 0)])
    assert str(info.value) == f"{path}: clusters[0].pools[0].max: must be greater than or equal to 1 (got 0)"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.yaml"]  # no temporary file left


def test_write_is_atomic_and_keeps_the_mode(tmp_path):
    path = write(tmp_path, MIXED)
    path.chmod(0o600)
    change = spec_edit.prepare(path, [Edit("clusters[name=prod].kubernetesVersion", "v1.34.2")])
    assert path.read_text() == MIXED  # prepared, not written
    assert change.diff().splitlines()[2:] == [
        "@@ -9,7 +9,7 @@",
        " ",
        " clusters:",
        " - name: prod",
        '-  kubernetesVersion: "v1.33.4"    # bump with upgrade apply',
        '+  kubernetesVersion: "v1.34.2"    # bump with upgrade apply',
        "   pools:",
        " ",
        " ",
    ]
    spec_edit.write(change)
    assert path.read_text() == change.text
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert change.spec.cluster("prod").kubernetes_version == "v1.34.2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.yaml"]


def test_a_symlinked_file_is_edited_where_it_lives(tmp_path):
    real = write(tmp_path, MIXED, "real.yaml")
    link = tmp_path / "platform.yaml"
    link.symlink_to(real)
    spec_edit.write(spec_edit.prepare(link, [Edit("clusters[name=prod].kubernetesVersion", "v1.34.2")]))
    assert link.is_symlink()
    assert 'kubernetesVersion: "v1.34.2"' in real.read_text()


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path):
    path = write(tmp_path, MIXED)
    change = spec_edit.prepare(path, [Edit("clusters[name=prod].kubernetesVersion", "v1.34.2")])
    path.write_text(MIXED + "# edited by someone else\n")
    with pytest.raises(SpecError) as info:
        spec_edit.write(change)
    assert "changed while it was being edited; nothing was written" in str(info.value)
    assert path.read_text().endswith("# edited by someone else\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.yaml"]


def test_an_invalid_file_is_reported_before_any_edit(tmp_path):
    path = write(tmp_path, MIXED.replace("serverType: cpx22", "serverType: nope"))
    with pytest.raises(SpecError) as info:
        spec_edit.prepare(path, [Edit("clusters[name=prod].kubernetesVersion", "v1.34.2")])
    assert "clusters[1].pools[0].serverType: unknown Hetzner server type 'nope'" in str(info.value)


@pytest.mark.parametrize(
    "written, expected",
    [
        ("kubernetesVersion: v1.33.4", "kubernetesVersion: v1.34.2"),
        ('kubernetesVersion: "v1.33.4"', 'kubernetesVersion: "v1.34.2"'),
        ("kubernetesVersion: 'v1.33.4'", "kubernetesVersion: 'v1.34.2'"),
        ("kubernetesVersion:", "kubernetesVersion: v1.34.2"),  # no value yet (the spec refuses null)
    ],
)
def test_the_value_keeps_its_quoting_style(written, expected):
    text = f"hetzner: {{location: fsn1, sshKeys: [ops]}}\nclusters:\n  - name: a\n    {written}\n    pools: [{{name: p, serverType: cpx22, max: 2}}]\n"
    after = edited(text, Edit("clusters[name=a].kubernetesVersion", "v1.34.2"))
    assert after == text.replace(written, expected)
