"""`clusterctl-py preflight` and the preflight `up` runs first, against the local Hetzner API fake.

Each check has its own message, asserted here as a user reads it; the fake
holds the project (server types per location, images, SSH keys, what
exists already). Upstream names (labels, error codes) are spelled out.
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from tests.conftest import platform_data
from tests.support.fake_engine import use_fake_engine
from tests.support.fake_hcloud import READ_ONLY_TOKEN, TOKEN


@pytest.fixture
def project(hcloud_project):
    """A Hetzner project with the example's SSH key, reached through HCLOUD_ENDPOINT."""
    hcloud_project.add_ssh_key("ops")
    return hcloud_project


@pytest.fixture
def write(tmp_path):
    def make(data=None, **top):
        path = tmp_path / "platform.yaml"
        path.write_text(yaml.safe_dump(data if data is not None else platform_data(**top)))
        return str(path)

    return make


def run(*args):
    return CliRunner().invoke(app, ["preflight", *args], catch_exceptions=False)


def errors(result) -> list[str]:
    assert "Traceback" not in result.output
    return [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_a_clean_project_passes(project, write):
    result = run("-f", write())
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"against {project.endpoint}:" in out
    assert "server types: cax21 in nbg1, cpx22 in nbg1, cpx32 in fsn1, cpx32 in nbg1: offered, available, not deprecated" in out
    assert "token: accepted and may write; SSH keys: ops" in out
    assert "image 'ubuntu-24.04' for x86: image " in out and "image 'ubuntu-24.04' for arm: image " in out
    # mgmt: network, firewall, placement group, server and primary IP; prod: network and 6 placement groups
    # (control-plane, general and general-2, arm, arm-2 and arm-3), and its platform's ingress load balancer.
    assert "names: 13 free, 0 already this platform's (from an earlier run)" in out
    assert "servers: the project runs 0 (0 of them this platform's); at maximum scale, rollouts included, the plan runs 40" in out
    assert "the API does not report the project's server limit: see Limits in the Hetzner Console" in out
    assert out.rstrip().endswith("ready: nothing found in the project stands in the way of `up`")


def test_nothing_is_created_or_changed(project, write):
    before = {k: {i: dict(o) for i, o in v.items()} for k, v in project.data.items() if k != "actions"}
    run("-f", write())
    after = {k: {i: dict(o) for i, o in v.items()} for k, v in project.data.items() if k != "actions"}
    assert after == before
    assert {r.method for r in project.requests} == {"GET", "PUT"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.data["server_types"].pop(f.server_type("cpx22")["id"]),
         "clusters[0].controlPlane.serverType: server type 'cpx22' does not exist at {endpoint}; allowed in nbg1: "),
        (lambda f: f.set_server_type_location("cpx22", "nbg1", remove=True),
         "clusters[0].controlPlane.serverType: server type 'cpx22' is not offered in nbg1; allowed in nbg1: "),
        (lambda f: f.set_server_type_location("cpx22", "nbg1", deprecated=True),
         "clusters[0].controlPlane.serverType: server type 'cpx22' is deprecated in nbg1, unavailable after 2026-01-01;"
         " allowed in nbg1: "),
        (lambda f: f.set_server_type_location("cpx22", "nbg1", available=False),
         "clusters[0].controlPlane.serverType: server type 'cpx22' is not available in nbg1 right now (sold out);"
         " allowed in nbg1: "),
    ],
    ids=["missing", "not-offered-there", "deprecated-there", "sold-out-there"],
)
def test_server_type_problems(project, write, change, message):
    change(project)
    result = run("-f", write())
    assert result.exit_code == 2
    (line,) = errors(result)
    assert line.startswith(message.format(endpoint=project.endpoint))
    assert "cpx32" in line.split("allowed in nbg1: ")[1]  # the list of what may be used instead
    assert "cpx22" not in line.split("allowed in nbg1: ")[1]


def test_only_the_per_location_deprecation_counts(project, write):
    # The top-level `deprecation` is being phased out: a type deprecated there but fine per location passes.
    cpx22 = project.server_type("cpx22")
    cpx22["deprecated"], cpx22["deprecation"] = True, {"announced": "2025-10-01T00:00:00+00:00", "unavailable_after": None}
    assert run("-f", write()).exit_code == 0
    # And the other way round: deprecated in nbg1 only, still fine elsewhere.
    project.set_server_type_location("cpx22", "nbg1", deprecated=True)
    cpx22["deprecated"], cpx22["deprecation"] = False, None
    data = platform_data()
    data["clusters"][0]["location"] = "hel1"
    assert run("-f", write(data)).exit_code == 0


def test_image_missing_for_one_architecture(project, write):
    for image in [i for i in project.data["images"].values() if i["name"] == "ubuntu-24.04" and i["architecture"] == "arm"]:
        del project.data["images"][image["id"]]
    result = run("-f", write())
    assert result.exit_code == 2
    assert errors(result) == [
        "hetzner.image: image 'ubuntu-24.04' for arm (needed by clusters[0].pools[1].serverType) does not exist"
        " (no image named so or labelled caph-image-name=ubuntu-24.04); system images for arm: debian-12, ubuntu-22.04"
    ]


def test_a_snapshot_labelled_for_caph_serves_the_clusters_but_not_the_management_servers(project, write):
    for arch in ("x86", "arm"):
        project.add_image(None, arch, type="snapshot", labels={"caph-image-name": "golden-1"}, description="golden")
    data = platform_data()
    data["hetzner"]["image"] = "golden-1"
    result = run("-f", write(data))
    assert result.exit_code == 2
    # CAPH finds images by name or by that label; the management servers (hcloud Terraform provider) by name only.
    assert errors(result) == [
        "hetzner.image: image 'golden-1' for x86 (needed by management.serverType) does not exist (no image named so);"
        " system images for x86: debian-12, ubuntu-22.04, ubuntu-24.04"
    ]


def test_a_deprecated_image(project, write):
    data = platform_data()
    data["hetzner"]["image"] = "ubuntu-20.04"
    data["clusters"][0]["pools"] = [data["clusters"][0]["pools"][0]]  # x86 only: ubuntu-20.04 has no arm image
    result = run("-f", write(data))
    assert result.exit_code == 2
    (line,) = errors(result)
    assert line.startswith(
        "hetzner.image: image 'ubuntu-20.04' for x86 (needed by management.serverType, clusters[0].controlPlane.serverType,"
        " clusters[0].pools[0].serverType) is deprecated since 2025-05-01; system images for x86: "
    )


def test_an_ambiguous_image_for_caph(project, write):
    snapshot = project.add_image(None, "arm", type="snapshot", labels={"caph-image-name": "ubuntu-24.04"})
    result = run("-f", write())
    assert result.exit_code == 2
    (line,) = errors(result)
    assert line.startswith("hetzner.image: image 'ubuntu-24.04' for arm (needed by clusters[0].pools[1].serverType) is ambiguous: images ")
    assert f"{snapshot['id']} are named so or labelled caph-image-name=ubuntu-24.04, and CAPH needs exactly one" in line


def test_a_missing_ssh_key(project, write):
    data = platform_data()
    data["hetzner"]["sshKeys"] = ["ops", "alice"]
    result = run("-f", write(data))
    assert result.exit_code == 2
    assert errors(result) == ["hetzner.sshKeys[1]: SSH key 'alice' does not exist in the Hetzner project; existing keys: ops"]


def test_a_read_only_token(project, write, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", READ_ONLY_TOKEN)
    result = run("-f", write())
    assert result.exit_code == 2
    assert errors(result) == [
        "HCLOUD_TOKEN: the token is read-only: the API refused a no-op update of SSH key 'ops';"
        " allowed: a token with the permission Read & Write"
    ]
    (put,) = [r for r in project.requests if r.method == "PUT"]
    assert put.path.startswith("/ssh_keys/")


def test_a_token_without_the_permission_to_write(project, write):
    project.forbid(method="PUT")
    result = run("-f", write())
    assert result.exit_code == 2
    assert errors(result) == [
        "HCLOUD_TOKEN: the token may not write (forbidden): the API refused a no-op update of SSH key 'ops';"
        " allowed: a token with the permission Read & Write"
    ]


def test_names_taken_by_someone_else(project, write):
    network = project.add_network("prod", {})
    group = project.add_placement_group("prod-arm-2", {"caph-cluster-staging": "owned"})
    firewall = project.add_firewall("mgmt", {"team": "web"})
    result = run("-f", write())
    assert result.exit_code == 2
    assert errors(result) == [
        f"management.name: firewall 'mgmt', which the management stack creates, already exists in the project (id {firewall['id']})"
        " without the label clusterctl-py.dev/management=mgmt that marks it as this platform's; allowed: a name no firewall"
        " has yet (or delete that firewall)",
        f"clusters[0].name: network 'prod', which CAPH creates, already exists in the project (id {network['id']}) without the"
        " label caph-cluster-prod=owned that marks it as this platform's; allowed: a name no network has yet (or delete that network)",
        f"clusters[0].pools[1].name: placement group 'prod-arm-2', which CAPH creates, already exists in the project"
        f" (id {group['id']}) without the label caph-cluster-prod=owned that marks it as this platform's; allowed: a name no"
        " placement group has yet (or delete that placement group)",
    ]


def test_names_from_an_earlier_run_are_ours(project, write):
    project.add_network("mgmt", {"clusterctl-py.dev/management": "mgmt", "app.kubernetes.io/managed-by": "clusterctl-py"})
    project.add_server("mgmt-0", {"clusterctl-py.dev/management": "mgmt"}, server_type="cpx32")
    project.add_network("prod", {"caph-cluster-prod": "owned"})
    project.add_placement_group("prod-control-plane", {"caph-cluster-prod": "owned"})
    for i in range(3):
        project.add_server(f"prod-control-plane-{i}", {"caph-cluster-prod": "owned", "machine_type": "control_plane"})
    project.add_server("someone-else", {})
    result = run("-f", write())
    assert result.exit_code == 0, result.output
    assert "names: 9 free, 4 already this platform's (from an earlier run)" in result.stdout
    # 5 run, 4 of them part of this plan (which runs up to 40): 41 in all.
    assert "servers: the project runs 5 (4 of them this platform's); at maximum scale, rollouts included, the plan runs 40: 41 in all" in result.stdout


def test_a_load_balancer_named_as_the_ingress_one_is_someone_elses_before_the_cluster_exists(project, write):
    # The Hetzner CCM takes over a load balancer of the name it is given (hcloud/load_balancers.go
    # EnsureLoadBalancer, GetByName): up would hand someone's load balancer to prod's ingress.
    theirs = project.add_load_balancer("prod-ingress", {"team": "web"}, location="nbg1")
    result = run("-f", write())
    assert result.exit_code == 2
    assert errors(result) == [
        f"clusters[0].platform: load balancer 'prod-ingress', which the Hetzner CCM creates, already exists in the project"
        f" (id {theirs['id']}) without the label hcloud-ccm/service-uid and the attachment to network 'prod' that mark it as"
        " this platform's; the Hetzner CCM would take it over instead of making its own; allowed: delete or rename that"
        " load balancer"
    ]
    # Another cluster's ingress (the CCM's label, on a network that is not prod's) is not ours either.
    project.data["load_balancers"].clear()
    other = project.add_network("staging", {"caph-cluster-staging": "owned"})
    project.add_load_balancer("prod-ingress", {"hcloud-ccm/service-uid": "3f1c"}, location="nbg1", networks=[other["id"]])
    again = run("-f", write())
    assert again.exit_code == 2
    assert errors(again)[0].startswith("clusters[0].platform: load balancer 'prod-ingress', which the Hetzner CCM creates")


def test_the_ingress_load_balancer_of_the_running_cluster_is_ours(project, write):
    network = project.add_network("prod", {"caph-cluster-prod": "owned"})
    project.add_load_balancer("prod-ingress", {"hcloud-ccm/service-uid": "9b2e7c41-0d5a-4f7e-8c3b-2a6d1e9f0c55"}, location="nbg1",
                              networks=[network["id"]])
    result = run("-f", write())
    assert result.exit_code == 0, result.output
    assert "names: 11 free, 2 already this platform's (from an earlier run)" in result.stdout
    # Without the platform section no load balancer of that name is planned: it is not looked at.
    data = platform_data()
    del data["clusters"][0]["platform"]
    bare = run("-f", write(data))
    assert bare.exit_code == 0, bare.output
    assert "names: 11 free, 1 already this platform's (from an earlier run)" in bare.stdout


def test_names_the_plan_would_create_twice_are_refused_before_any_request(project, write):
    # The management network is named after management.name, a workload cluster's after the cluster (CAPH).
    data = platform_data()
    data["management"]["name"] = "prod"
    result = run("-f", write(data))
    assert result.exit_code == 2
    assert errors(result)[0].endswith(
        "clusters[0].name: network 'prod' would be created twice, by the management stack for management.name and by"
        " CAPH for clusters[0].name; Hetzner names are unique in a project, so rename one"
    )
    assert project.requests == []


def test_server_limit(project, write):
    for i in range(5):
        project.add_server(f"web-{i}")
    result = run("-f", write(), "--server-limit", "44")
    assert result.exit_code == 2
    assert errors(result) == [
        "--server-limit: at maximum scale the project would run 45 servers (5 others + 40 of this plan), more than 44;"
        " allowed: lower pools' max, or ask Hetzner to raise the limit"
    ]
    passed = run("-f", write(), "--server-limit", "45")
    assert passed.exit_code == 0 and "the limit given with --server-limit (45)" in passed.stdout


def test_one_cluster_only(project, write):
    project.add_firewall("mgmt", {})  # the management stack's: not part of one cluster's stack
    result = run("-f", write(), "--cluster", "prod")
    assert result.exit_code == 0, result.output
    assert "names: 8 free" in result.stdout
    assert "the plan runs 39" in result.stdout


def test_every_problem_at_once(project, write):
    project.set_server_type_location("cax21", "nbg1", available=False)
    project.add_network("prod", {})
    data = platform_data()
    data["hetzner"]["sshKeys"] = ["nobody"]
    result = run("-f", write(data))
    assert result.exit_code == 2
    assert [line.split(":")[0] for line in errors(result)] == [
        "clusters[0].pools[1].serverType", "hetzner.sshKeys[0]", "clusters[0].name",
    ]


def spec_with_pools(maximum: int) -> dict:
    """Clusters whose pools allow `maximum` machines in all, 50 at most per cluster (a private network holds 100)."""
    data = platform_data()
    template = data["clusters"][0]
    clusters = []
    remaining = maximum
    while remaining > 0:
        size = min(50, remaining)
        clusters.append({**template, "name": f"c{len(clusters)}", "pools": [{"name": "work", "serverType": "cpx32", "min": 0, "max": size}]})
        remaining -= size
    data["clusters"] = clusters
    return data


def test_request_count_does_not_grow_with_the_pools(project, write):
    for i in range(120):  # three pages of servers
        project.add_server(f"other-{i}")
    counts = {}
    for maximum in (3, 200):
        data = spec_with_pools(maximum)
        assert sum(p["max"] for c in data["clusters"] for p in c["pools"]) == maximum
        spec_mod.parse(data)  # a valid spec
        project.reset_log()
        result = run("-f", write(data))
        assert result.exit_code == 0, result.output
        counts[maximum] = [(r.method, r.path) for r in project.requests]
    assert counts[3] == counts[200]
    # One walk per collection: server types, SSH keys, the write check, images, networks, firewalls,
    # placement groups, primary IPs, load balancers (the platforms' ingress), and three pages of servers.
    assert len(counts[200]) == 12


def test_a_token_revoked_during_preflight_is_one_line(project, write):
    project.revoke(TOKEN, after=3)
    result = run("-f", write())
    assert result.exit_code == 1
    (line,) = errors(result)
    assert line.startswith(
        "Hetzner API: the token in HCLOUD_TOKEN was refused (unauthorized) while listing images: it is wrong, revoked or"
        " expired, or belongs to another API; create one in the Hetzner Console (Security > API tokens) (request id "
    )


def test_no_token_no_request(project, write, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = run("-f", write())
    assert result.exit_code == 2 and errors(result)[0].startswith("HCLOUD_TOKEN: not set")
    assert project.requests == []


# ---- up runs it first ------------------------------------------------------------------------


@pytest.fixture
def engine(monkeypatch, tmp_path):
    fake = use_fake_engine(monkeypatch, tmp_path)
    return fake


def test_up_stops_before_anything_when_preflight_finds_problems(project, write, engine):
    data = platform_data()
    data["hetzner"]["sshKeys"] = ["nobody"]
    result = CliRunner().invoke(app, ["up", "-f", write(data)], catch_exceptions=False)
    assert result.exit_code == 2
    assert errors(result) == [
        "hetzner.sshKeys[0]: SSH key 'nobody' does not exist in the Hetzner project; existing keys: ops",
        "preflight: nothing was created; fix the above, or run `up --skip-preflight` to try anyway",
    ]
    assert engine.runs == []  # no stack ran (only the organisation was looked up, a read)


def test_up_runs_preflight_then_the_stacks(project, write, engine):
    result = CliRunner().invoke(app, ["up", "-f", write()], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"preflight: passed against {project.endpoint}" in result.stderr
    assert project.count(path="/server_types") == 1
    assert [s for _, _, s, *_ in engine.runs][:1] == ["mgmt-management"]


def test_up_skip_preflight(project, write, engine):
    data = platform_data()
    data["hetzner"]["sshKeys"] = ["nobody"]
    result = CliRunner().invoke(app, ["up", "--skip-preflight", "-f", write(data)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert project.requests == [] and engine.runs


def test_up_checks_the_spec_before_preflight(project, write, engine):
    data = platform_data()
    data["management"]["apiAllowedCidrs"] = []
    result = CliRunner().invoke(app, ["up", "-f", write(data)], catch_exceptions=False)
    assert result.exit_code == 2 and project.requests == []


def test_preflight_help_imports_no_sdk():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from clusterctl_py.cli import app\n"
        "try:\n    app(['preflight', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in ('hcloud', 'kubernetes', 'pulumi', 'requests')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--server-limit" in out and "HEAVY []" in out
