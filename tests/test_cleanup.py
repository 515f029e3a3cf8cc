"""`clusterctl-py cleanup`, against the local Hetzner API fake through the real hcloud client.

The project holds cluster `prod`'s leftovers as their makers label them
(spelled out here as upstream spells them: CAPH's `caph-cluster-<name>:
owned`, the CCM's `hcloud-ccm/service-uid`, the CSI driver's
`managed-by: csi-driver`, and our `clusterctl-py.dev/cluster` /
`clusterctl-py.dev/management`), next to neighbours that must survive:
clusters `prod2` and `prod-old`, and unlabelled objects named like prod's.
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py import providers
from clusterctl_py.cli import app
from clusterctl_py.clients import hetzner
from clusterctl_py.ops import cleanup as ops
from tests.conftest import platform_data
from tests.support.fake_hcloud import READ_ONLY_TOKEN, TOKEN

PROD = {"caph-cluster-prod": "owned"}


def fast_api(token, endpoint=None):
    """The real client with hcloud's own retry policy, minus the waits between attempts and polls."""
    return hetzner.HetznerClient(token, endpoint or hetzner.endpoint_from_env(), poll_interval=0, backoff=lambda n: 0)


@pytest.fixture
def project(hcloud_project, monkeypatch):
    monkeypatch.setattr(hetzner, "default_api", fast_api)
    return hcloud_project


def add_prod(fake, workers: int = 2) -> dict[str, list[int]]:
    """What cluster prod left: its CAPH objects, a Service's load balancer, a PVC's volume. Ids by kind."""
    net = fake.add_network("prod", PROD)
    cps = [fake.add_server(f"prod-control-plane-{c}", {**PROD, "machine.caph-name": f"prod-control-plane-{c}",
                                                       "machine_type": "control_plane"}, server_type="cpx22", location="nbg1")
           for c in "abc"]
    workers_ = [fake.add_server(f"prod-general-{i}", {**PROD, "machine_type": "worker"}, server_type="cpx32", location="nbg1")
                for i in range(workers)]
    groups = [
        fake.add_placement_group("prod-control-plane", PROD, servers=[s["id"] for s in cps]),
        fake.add_placement_group("prod-general", PROD, servers=[s["id"] for s in workers_][:10]),
    ]
    lbs = [
        fake.add_load_balancer("prod-kube-apiserver-x1y2z", PROD, location="nbg1", networks=[net["id"]]),
        # The CCM names a Service's load balancer "a" + its UID and labels it with the UID only.
        fake.add_load_balancer("a5f3c2e1b0d94e7c8a6b5d4c3e2f1a0b", {"hcloud-ccm/service-uid": "5f3c2e1b-0d94-4e7c-8a6b-5d4c3e2f1a0b"},
                               location="nbg1", networks=[net["id"]]),
    ]
    volume = fake.add_volume("pvc-8d3b", {"managed-by": "csi-driver", "pvc-name": "data-db-0", "clusterctl-py.dev/cluster": "prod"},
                             location="nbg1", server=workers_[0]["id"] if workers_ else None)
    return {
        "server": [s["id"] for s in cps + workers_], "load_balancer": [lb["id"] for lb in lbs],
        "volume": [volume["id"]], "placement_group": [g["id"] for g in groups], "network": [net["id"]],
    }


def add_neighbours(fake) -> None:
    """Clusters prod2 and prod-old, and unlabelled objects whose names start like prod's."""
    for other in ("prod2", "prod-old"):
        owned = {f"caph-cluster-{other}": "owned"}
        net = fake.add_network(other, owned)
        fake.add_server(f"{other}-control-plane-a", owned)
        fake.add_placement_group(f"{other}-control-plane", owned)
        fake.add_load_balancer(f"{other}-kube-apiserver-q9w8e", owned, networks=[net["id"]])
        fake.add_load_balancer(f"a{other}", {"hcloud-ccm/service-uid": other}, networks=[net["id"]])
        fake.add_volume(f"pvc-{other}", {"managed-by": "csi-driver", "clusterctl-py.dev/cluster": other})
    fake.add_server("prod-general-manual", {"machine_type": "worker"})
    fake.add_network("prod-x", {})
    fake.add_volume("prod-data", {"managed-by": "csi-driver"})
    fake.add_placement_group("prod-general-2", {"caph-cluster": "prod"})
    fake.add_load_balancer("prod-kube-apiserver-zzzzz", {"caph-cluster-prod": "shared"})


def snapshot(fake) -> dict:
    return {k: sorted(v) for k, v in fake.data.items() if k not in ("actions",)}


def run(*args):
    return CliRunner().invoke(app, ["cleanup", *args], catch_exceptions=False)


def errors(result) -> list[str]:
    assert "Traceback" not in result.output
    return [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]


def rows(result) -> list[tuple[str, str]]:
    """(kind, name) of each table row."""
    out = []
    for line in result.stdout.splitlines():
        for kind in ("server", "load balancer", "volume", "placement group", "network", "primary IP", "firewall"):
            if line.startswith(f"  {kind} "):
                out.append((kind, line[len(kind) + 2:].split()[0]))
    return out


PROD_ROWS = [
    ("server", "prod-control-plane-a"), ("server", "prod-control-plane-b"), ("server", "prod-control-plane-c"),
    ("server", "prod-general-0"), ("server", "prod-general-1"),
    ("load balancer", "a5f3c2e1b0d94e7c8a6b5d4c3e2f1a0b"), ("load balancer", "prod-kube-apiserver-x1y2z"),
    ("volume", "pvc-8d3b"),
    ("placement group", "prod-control-plane"), ("placement group", "prod-general"),
    ("network", "prod"),
]


# ---- the dry run ----------------------------------------------------------------------------


def test_the_default_is_a_dry_run_that_lists_only_prods_objects(project):
    add_prod(project)
    add_neighbours(project)
    before = snapshot(project)
    result = run("prod")
    assert result.exit_code == 0, result.output
    assert rows(result) == PROD_ROWS
    out = result.stdout
    assert f"cluster prod left in {project.endpoint}:" in out
    assert "caph-cluster-prod=owned (CAPH)" in out
    assert "hcloud-ccm/service-uid, on network prod (the Hetzner CCM)" in out
    assert "clusterctl-py.dev/cluster=prod (the Hetzner CSI driver)" in out
    # Prices from the offline catalog: 3 cpx22 + 2 cpx32 + 2 lb11 in nbg1; volumes, groups and networks not priced.
    prices = providers.get("hetzner").price_list().at("nbg1")
    total = 3 * prices.machine["cpx22"] + 2 * prices.machine["cpx32"] + 2 * prices.load_balancer["lb11"]
    assert f"11 objects; {total:.2f} EUR a month for the 7 priced (catalog of " in out
    assert out.rstrip().endswith("dry run: nothing was deleted; run again with --yes to delete these 11 objects")
    assert snapshot(project) == before
    assert all(r.method == "GET" for r in project.requests)
    assert ("warning: CAPH recreates the servers of a Cluster still defined in the management cluster: if prod is, run"
            " `clusterctl-py destroy --cluster prod` first, or this cleanup is undone") in result.stderr


def test_a_ccm_load_balancer_on_no_network_of_the_cluster_is_only_mentioned(project):
    add_prod(project)
    add_neighbours(project)
    project.add_load_balancer("a0c0ffee", {"hcloud-ccm/service-uid": "0c0ffee"})
    result = run("prod")
    assert "a0c0ffee" not in result.stdout
    # prod2's and prod-old's CCM load balancers, and the one on no network at all.
    assert ("note: 3 load balancers labelled hcloud-ccm/service-uid (the Hetzner CCM) on no network of cluster prod:"
            " another cluster's, or left after its network was deleted; not listed (check them in the Console)") in result.stderr


def test_nothing_left(project):
    add_neighbours(project)
    result = run("prod")
    assert result.exit_code == 0
    assert result.stdout == (
        f"nothing of cluster prod in {project.endpoint}; looked for servers, load balancers, placement groups, networks"
        " labelled caph-cluster-prod=owned (CAPH); load balancers labelled hcloud-ccm/service-uid on one of its networks"
        " (the Hetzner CCM); volumes labelled clusterctl-py.dev/cluster=prod (the Hetzner CSI driver)\n"
    )


def test_listing_walks_each_collection_once_whatever_the_size(project):
    """One paginated walk per rule: more servers cost further pages of the same walk, never a request per object."""
    seen = {}
    for servers in (3, 200):
        project.data = {k: ({} if k in ("servers", "networks", "load_balancers", "placement_groups", "volumes") else v)
                        for k, v in project.data.items()}
        add_prod(project, workers=servers - 3)
        project.reset_log()
        assert run("prod").exit_code == 0
        seen[servers] = [(r.method, r.path, r.query.get("label_selector", [""])[0], r.query.get("page", ["1"])[0])
                         for r in project.requests]
    walks = [
        ("GET", "/servers", "caph-cluster-prod=owned"), ("GET", "/load_balancers", "caph-cluster-prod=owned"),
        ("GET", "/placement_groups", "caph-cluster-prod=owned"), ("GET", "/networks", "caph-cluster-prod=owned"),
        ("GET", "/volumes", "clusterctl-py.dev/cluster=prod"), ("GET", "/load_balancers", "hcloud-ccm/service-uid"),
    ]
    assert [r[:3] for r in seen[3]] == walks
    # The same walks; 200 servers take 4 pages of 50 (the API's largest page) instead of 1.
    assert [r[:3] for r in seen[200] if r[3] == "1"] == walks
    assert [r for r in seen[200] if r[3] != "1"] == [("GET", "/servers", "caph-cluster-prod=owned", p) for p in "234"]


# ---- deleting -------------------------------------------------------------------------------


def test_yes_deletes_in_an_order_the_api_accepts_and_touches_no_neighbour(project):
    ids = add_prod(project)
    add_neighbours(project)
    before = snapshot(project)
    result = run("prod", "--yes")
    assert result.exit_code == 0, result.output
    deleted = [line.split()[1:3] for line in result.stdout.splitlines() if line.startswith("  deleted ")]
    assert [tuple(d) for d in deleted][:5] == [("server", f"prod-{n}") for n in (
        "control-plane-a", "control-plane-b", "control-plane-c", "general-0", "general-1")]
    deletes = [r.path.split("/")[1] for r in project.requests if r.method == "DELETE"]
    # Servers before what they hold; load balancers before the network they are attached to.
    assert deletes == ["servers"] * 5 + ["load_balancers"] * 2 + ["volumes", "placement_groups", "placement_groups", "networks"]
    assert result.stdout.rstrip().endswith("done: all 11 deleted")
    after = snapshot(project)
    # Exactly prod's objects went; every neighbour is still there.
    assert {k: set(before[k]) - set(after[k]) for k in before if set(before[k]) - set(after[k])} == {
        f"{kind}s": set(kind_ids) for kind, kind_ids in ids.items()
    }
    assert all(set(after[k]) <= set(before[k]) for k in before)
    # Each action was waited on until done, once it was started.
    assert project.count("GET", "/actions/") >= 7


def test_an_api_that_ignores_the_selector_still_deletes_nothing_foreign(project):
    add_prod(project)
    add_neighbours(project)

    class IgnoresSelectors:
        """A Hetzner-compatible API that answers every list in full."""

        def __init__(self, api):
            self.api = api
            self.endpoint = api.endpoint

        def __getattr__(self, name):
            method = getattr(self.api, name)
            if name in ("servers", "networks", "load_balancers", "placement_groups", "volumes", "primary_ips", "firewalls"):
                return lambda label_selector=None: method()
            return method

    found = ops.find(IgnoresSelectors(fast_api(TOKEN)), providers.get("hetzner"), "prod")
    assert [(ops.KINDS[f.kind].word, f.obj.name) for f in found.objects] == PROD_ROWS


def test_a_rate_limit_mid_cleanup_stops_says_what_went_and_a_second_run_resumes(project):
    ids = add_prod(project)
    add_neighbours(project)
    # The project's budget runs out after the servers: hcloud retries 5 times, then gives up.
    project.rate_limit(10**6, method="DELETE", path="/load_balancers")
    result = run("prod", "--yes")
    assert result.exit_code == 1
    lines = errors(result)
    assert lines[0].startswith("Hetzner API: rate limit exceeded while deleting load balancer 'a5f3c2e1b0d94e7c8a6b5d4c3e2f1a0b'")
    assert "still after 5 retries; the project's request budget is full again at " in lines[0]
    assert lines[1] == "cleanup of cluster prod stopped: 5 of 11 deleted, 6 remain"
    assert lines[2].startswith("deleted: server prod-control-plane-a (id ")
    assert lines[3].startswith("remain: load balancer a5f3c2e1b0d94e7c8a6b5d4c3e2f1a0b (id ")
    assert "network prod (id " in lines[3] and "volume pvc-8d3b" in lines[3]
    assert lines[4] == ("run the same command again to delete what remains once the API answers again:"
                        " what is gone already is simply not found")
    assert "done" not in result.stdout
    assert not set(ids["server"]) & project.data["servers"].keys()
    assert set(ids["load_balancer"]) <= project.data["load_balancers"].keys()

    project.faults.clear()
    again = run("prod", "--yes")
    assert again.exit_code == 0, again.output
    assert rows(again) == PROD_ROWS[5:]
    assert again.stdout.rstrip().endswith("done: all 6 deleted")


def test_a_read_only_token_is_one_line_and_deletes_nothing(project, monkeypatch):
    add_prod(project)
    monkeypatch.setenv("HCLOUD_TOKEN", READ_ONLY_TOKEN)
    before = snapshot(project)
    result = run("prod", "--yes")
    assert result.exit_code == 1
    (line,) = errors(result)
    assert line.startswith(
        "Hetzner API: the token in HCLOUD_TOKEN is read-only (token_readonly), so it may not delete server"
        " 'prod-control-plane-a' (id "
    )
    assert line.endswith("; nothing was deleted")
    assert snapshot(project) == before
    assert READ_ONLY_TOKEN not in result.output


def test_a_bad_token_is_one_line(project, monkeypatch):
    add_prod(project)
    monkeypatch.setenv("HCLOUD_TOKEN", "x" * 64)
    result = run("prod", "--yes")
    assert result.exit_code == 1
    (line,) = errors(result)
    assert line.startswith("Hetzner API: the token in HCLOUD_TOKEN was refused (unauthorized) while listing servers")
    assert result.stdout == ""


def test_the_api_down_is_one_line(project):
    endpoint = project.endpoint
    project.stop()
    result = run("prod", "--yes")
    assert result.exit_code == 1
    assert errors(result) == [f"Hetzner API: {endpoint} refused or dropped the connection while listing servers (3 attempts)"]


def test_the_api_going_away_mid_cleanup_is_never_done(project):
    add_prod(project)
    project.fail(503, "unavailable", 10**6, method="DELETE", path="/volumes")
    result = run("prod", "--yes")
    assert result.exit_code == 1
    lines = errors(result)
    assert lines[0].startswith("Hetzner API: delete volume 'pvc-8d3b' (id ")
    assert ") failed: the API answered 'unavailable'; try again later (request id " in lines[0]
    assert lines[1] == "cleanup of cluster prod stopped: 7 of 11 deleted, 4 remain"
    assert "done" not in result.stdout


def test_refusals_of_one_object_do_not_stop_the_rest(project):
    ids = add_prod(project)
    project.data["networks"][ids["network"][0]]["protection"]["delete"] = True
    foreign = project.add_server("db-1", {})
    elsewhere = project.add_volume("pvc-attached-elsewhere", {"clusterctl-py.dev/cluster": "prod"}, server=foreign["id"])
    result = run("prod", "--yes")
    assert result.exit_code == 1
    assert (f"  failed   network prod (id {ids['network'][0]}): refused (protected): deletion protection is on: turn it"
            f" off in the Console (or `hcloud network disable-protection {ids['network'][0]} delete`) and run again"
            ) in result.stdout
    assert (f"skipped  volume pvc-attached-elsewhere (id ") in result.stdout
    assert (f"attached to server {foreign['id']}, which is not among these leftovers: detach it first if it is to go"
            in result.stdout)
    lines = errors(result)
    assert lines[0] == "cleanup of cluster prod is incomplete: 10 of 12 deleted, 2 remain"
    assert lines[-1] == "run the same command again to delete what remains: what is gone already is simply not found"
    assert "done" not in result.stdout
    assert elsewhere["id"] in project.data["volumes"] and foreign["id"] in project.data["servers"]
    assert ids["network"][0] in project.data["networks"]


# ---- the management cluster -----------------------------------------------------------------


def add_management(fake, name: str) -> dict[str, int]:
    mine = {"app.kubernetes.io/managed-by": "clusterctl-py", "clusterctl-py.dev/management": name}
    server = fake.add_server(f"{name}-0", {**mine, "clusterctl-py.dev/server": "0"}, server_type="cpx32")
    ip = fake.add_primary_ip(f"{name}-0", mine, assignee_id=server["id"])
    firewall = fake.add_firewall(name, mine, servers=[server["id"]])
    group = fake.add_placement_group(name, mine, servers=[server["id"]])
    network = fake.add_network(name, mine)
    return {"server": server["id"], "primary_ip": ip["id"], "firewall": firewall["id"], "placement_group": group["id"],
            "network": network["id"]}


def test_management_from_the_spec(project, tmp_path):
    mine = add_management(project, "mgmt")
    other = add_management(project, "mgmt2")
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(platform_data()))
    dry = run("--management", "-f", str(path))
    assert dry.exit_code == 0, dry.output
    assert rows(dry) == [("server", "mgmt-0"), ("primary IP", "mgmt-0"), ("firewall", "mgmt"), ("placement group", "mgmt"),
                         ("network", "mgmt")]
    assert "clusterctl-py.dev/management=mgmt (the management stack)" in dry.stdout
    assert "CAPH recreates" not in dry.stderr
    result = run("--management", "-f", str(path), "--yes")
    assert result.exit_code == 0, result.output
    # The server goes first: its firewall is in use (resource_in_use) and its IP assigned until then.
    assert [r.path for r in project.requests if r.method == "DELETE"] == [
        f"/servers/{mine['server']}", f"/primary_ips/{mine['primary_ip']}", f"/firewalls/{mine['firewall']}",
        f"/placement_groups/{mine['placement_group']}", f"/networks/{mine['network']}",
    ]
    assert all(other[kind] in project.data[f"{kind}s"] for kind in other)
    assert result.stdout.rstrip().endswith("done: all 5 deleted")


def test_an_ip_the_api_deleted_with_its_server_counts_as_gone(project):
    server = project.add_server("mgmt-0", {"clusterctl-py.dev/management": "mgmt"})
    project.add_primary_ip("mgmt-0", {"clusterctl-py.dev/management": "mgmt"}, assignee_id=server["id"], auto_delete=True)
    result = run("mgmt", "--management", "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted  primary IP mgmt-0 (id " in result.stdout and "): already gone" in result.stdout


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod,!x", "Prod", "prod=owned", "a" * 25])
def test_a_name_that_is_no_cluster_name_is_refused_before_any_request(project, name):
    result = run(name, "--yes")
    assert result.exit_code == 2
    (line,) = errors(result)
    assert line.startswith(f"NAME: '{name}' is not a valid name: use 1-24 lowercase letters, digits and '-'")
    assert project.requests == []


def test_no_name_and_no_management(project):
    result = run("--yes")
    assert result.exit_code == 2
    assert errors(result) == ["NAME: missing: name the workload cluster to clean up, or pass --management"]
    assert project.requests == []


def test_no_token_no_request(project, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN")
    result = run("prod")
    assert result.exit_code == 2 and errors(result)[0].startswith("HCLOUD_TOKEN: not set")
    assert project.requests == []


def test_cleanup_help_imports_no_sdk():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from clusterctl_py.cli import app\n"
        "try:\n    app(['cleanup', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in ('hcloud', 'kubernetes', 'pulumi', 'requests')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--management" in out and "HEAVY []" in out


def test_a_deletion_whose_end_is_not_seen_is_unconfirmed_never_deleted(project):
    # The servers' DELETE is accepted (an action starts each), then the API stops answering
    # the polls of those actions: the servers may or may not be gone, and the run says so.
    ids = add_prod(project)
    project.rate_limit(10**6, method="GET", path="/actions")
    result = run("prod", "--yes")
    assert result.exit_code == 1
    servers = [
        f"server {name} (id {i})"
        for name, i in zip(["prod-control-plane-a", "prod-control-plane-b", "prod-control-plane-c",
                            "prod-general-0", "prod-general-1"], ids["server"])
    ]
    assert [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("unconfirmed")] == [
        f"unconfirmed {server}: deletion started, its end not seen" for server in servers
    ]
    lines = errors(result)
    assert lines[0].startswith("Hetzner API: rate limit exceeded while waiting for action ")
    assert lines[1] == "cleanup of cluster prod stopped: 0 of 11 deleted, 5 being deleted, 6 remain"
    assert lines[2] == "being deleted (the API took the request; its end was not seen): " + ", ".join(servers)
    assert lines[3].startswith("remain: load balancer ")
    assert "done" not in result.stdout
