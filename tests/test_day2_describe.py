"""`clusterctl-py describe cluster NAME`: the real client against the emulator, through the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from clusterctl_py.clients import kube
from clusterctl_py.ops import describe
from tests.support import capi_objects as fx
from tests.support.kube_api import serve, without_retry_sleep


def machines(control_plane: int, workers: int):
    """A cluster of `control_plane + workers` machines over two pools."""
    half = workers // 2
    return fx.workload_cluster(
        "prod", control_plane=control_plane, pools=(fx.Pool("general", workers - half, min_size=1, max_size=200), fx.Pool("arm", half))
    )


@pytest.fixture
def connect(tmp_path, monkeypatch):
    """Start the emulator with some objects; returns (server, --kubeconfig args). No real sleeping between retries."""
    without_retry_sleep(monkeypatch)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    servers = []

    def start(objs):
        server = serve(objs)
        servers.append(server)
        running = server.__enter__()
        path = tmp_path / f"management-{len(servers)}.yaml"
        path.write_text(yaml.safe_dump(running.kubeconfig()))
        return running, ["--kubeconfig", str(path)]

    yield start
    for server in reversed(servers):  # kmock's resolver interceptors unwind last-in, first-out
        server.__exit__(None, None, None)


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_a_healthy_cluster_exits_0(connect):
    server, kubeconfig = connect(machines(3, 2))
    result = run("describe", "cluster", "prod", *kubeconfig)
    assert result.exit_code == 0, result.output
    width = result.stdout.index("REPLICAS")
    names = [line[:width].rstrip() for line in result.stdout.splitlines()]
    assert names == [
        "NAME",
        "Cluster/prod",
        "├─ClusterInfrastructure - HetznerCluster/prod",
        "├─ControlPlane - KubeadmControlPlane/prod-control-plane",
        "│ └─3 Machines...",
        "├─Workers",
        "│ ├─MachineDeployment/prod-arm",
        "│ │ └─Machine/prod-arm-zf85wqqtcm-rgffg",
        "│ └─MachineDeployment/prod-general",
        "│   └─Machine/prod-general-2ttz92zqn8-66xcq",
        "├─Add-ons",
        "│ ├─HelmReleaseProxy/cilium-prod-85xgz",
        "│ ├─HelmReleaseProxy/hcloud-cloud-controller-manager-prod-2lz58",
        "│ └─HelmReleaseProxy/hcloud-csi-prod-bntp5",
        "└─Autoscaler - Deployment/prod-cluster-autoscaler",
    ]
    assert result.stderr == ""


def test_an_unhealthy_cluster_exits_1_naming_each_problem(connect):
    server, kubeconfig = connect(fx.workload_cluster(pools=(fx.Pool("general", 3, not_ready=1),)))
    result = run("describe", "cluster", "prod", *kubeconfig)
    assert result.exit_code == 1
    assert "MachineDeployment/prod-general" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[0] == "error: cluster prod/prod is not healthy:"
    assert lines[2] == (
        "error:   MachineDeployment/prod-general: Available False (NotAvailable): 2 available replicas, at least 3 required "
        "(spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 3)"
    )
    assert len(lines) == 4


def test_many_problems_are_cut_short_on_the_terminal(connect):
    server, kubeconfig = connect(fx.workload_cluster(pools=(fx.Pool("general", 20, not_ready=20),)))
    result = run("describe", "cluster", "prod", *kubeconfig)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 12 and lines[-1] == "error:   ... and 12 more (-o json lists them all)"


def test_show_machines_lists_the_nodes(connect):
    server, kubeconfig = connect(machines(1, 4))
    result = run("describe", "cluster", "prod", "--show-machines", *kubeconfig)
    assert result.exit_code == 0, result.output
    machine_lines = [line for line in result.stdout.splitlines() if "─Machine/" in line]
    assert len(machine_lines) == 5
    assert all(line.split()[-1].startswith(("prod-general-", "prod-arm-", "prod-control-plane-")) for line in machine_lines)


def test_json_is_machine_readable(connect):
    server, kubeconfig = connect(machines(3, 197))
    result = run("describe", "cluster", "prod", "-o", "json", *kubeconfig)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["cluster"], out["healthy"], out["problems"]) == ("prod", True, [])

    def count(node):
        return (node["kind"] == "Machine") + sum(count(c) for c in node.get("children", ()))

    assert count(out["tree"]) == 200


def test_requests_do_not_grow_with_the_machines(connect):
    small, small_args = connect(machines(1, 2))
    large, large_args = connect(machines(3, 197))
    assert run("describe", "cluster", "prod", *small_args).exit_code == 0
    assert run("describe", "cluster", "prod", "--show-machines", *large_args).exit_code == 0
    expected = [
        ("list", "clusters", "fieldSelector", "metadata.name=prod"),
        ("discovery", None, None, None),
        ("discovery", None, None, None),
        ("get", "hetznerclusters", None, None),
        ("get", "kubeadmcontrolplanes", None, None),
        ("list", "helmreleaseproxies", "labelSelector", "cluster.x-k8s.io/cluster-name=prod"),
        ("list", "machinedeployments", "labelSelector", "cluster.x-k8s.io/cluster-name=prod"),
        ("list", "machinesets", "labelSelector", "cluster.x-k8s.io/cluster-name=prod"),
        ("list", "machines", "labelSelector", "cluster.x-k8s.io/cluster-name=prod"),
        ("list", "deployments", "labelSelector", "cluster.x-k8s.io/cluster-name=prod,app.kubernetes.io/name=cluster-autoscaler"),
    ]

    def requests(server):
        out = []
        for e in server.api.log:
            key = next(iter(e.params), None)
            out.append((e.verb, e.plural, key, e.params.get(key)))
        return out

    assert requests(small) == expected
    assert requests(large) == expected


def test_with_a_namespace_the_cluster_is_read_by_name(connect):
    server, kubeconfig = connect(fx.workload_cluster("prod", namespace="teams"))
    assert run("describe", "cluster", "prod", "-n", "teams", *kubeconfig).exit_code == 0
    assert server.api.log[0].path == "/apis/cluster.x-k8s.io/v1beta2/namespaces/teams/clusters/prod"
    result = run("describe", "cluster", "prod", "-n", "prod", *kubeconfig)
    assert result.exit_code == 1
    assert result.stderr.endswith('get Cluster prod/prod: 404 Not Found: clusters.cluster.x-k8s.io "prod" not found\n')


def test_the_api_going_down_during_describe_is_one_line(connect):
    server, kubeconfig = connect(machines(3, 10))
    server.api.down_after(5)  # gone after the control plane has been read
    result = run("describe", "cluster", "prod", *kubeconfig)
    assert result.exit_code == 1
    assert result.stdout == ""  # no half a tree
    errors = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert errors == [
        f"error: Kubernetes API {server.url}: list HelmReleaseProxies of prod/prod: "
        "connection refused or unreachable (gave up after 8 attempts)"
    ]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 7 and all("retrying in" in n for n in notes)
    assert "Traceback" not in result.output


def test_an_unknown_output_format_is_bad_input(connect):
    server, kubeconfig = connect([])
    result = run("describe", "cluster", "prod", "-o", "yaml", *kubeconfig)
    assert result.exit_code == 2
    assert "Invalid value for '--output' / '-o': Value error, 'yaml' is not one of" in result.stderr
    assert server.api.log == []


def test_no_cluster_of_that_name(connect):
    server, kubeconfig = connect(machines(1, 1))
    result = run("describe", "cluster", "nope", *kubeconfig)
    assert result.exit_code == 1
    assert result.stderr == f"error: Kubernetes API {server.url}: no Cluster named nope in any namespace\n"


@pytest.mark.parametrize("args", [["describe", "cluster", "--help"], ["kubeconfig", "--help"]])
def test_help_does_not_import_heavy_modules(args):
    code = (
        "import sys\n"
        "from clusterctl_py.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'kubernetes', 'hcloud', 'urllib3'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: " in out and "HEAVY []" in out


GUIDE = Path(__file__).resolve().parents[1] / "docs" / "day2.md"


def guide_blocks(heading: str) -> list[str]:
    """The fenced blocks of one section of docs/day2.md."""
    section = GUIDE.read_text().split(f"## `{heading}`", 1)[1].split("\n## ", 1)[0]
    return section.split("```")[1::2]


def test_the_day2_guide_shows_what_describe_prints(connect):
    command, tree, errors = guide_blocks("describe cluster")[:3]
    assert command.strip() == "bash\nclusterctl-py describe cluster prod"
    server, kubeconfig = connect(fx.workload_cluster(  # prod of examples/platform.yaml
        "prod", version="v1.34.11",
        pools=(fx.Pool("general", 3, not_ready=1, min_size=1, max_size=10), fx.Pool("arm", 2, min_size=0, max_size=20)),
    ))
    with kube.KubeClient(kube.Kubeconfig("guide", path=kubeconfig[1])) as api:
        state = describe.read_state(api, "prod", None)
    # The guide's ages are those of the fixture's clock; the command uses the real one.
    assert describe.render_text(describe.build_tree(state), fx.NOW) == tree.lstrip("\n")
    result = run("describe", "cluster", "prod", *kubeconfig)
    assert result.exit_code == 1
    assert result.stderr == errors.lstrip("\n")
    width = result.stdout.index("REPLICAS")
    assert [line[:width] for line in result.stdout.splitlines()] == [line[:width] for line in tree.strip("\n").splitlines()]


def test_the_day2_guide_uses_only_options_the_commands_have():
    runner = CliRunner()
    for heading, command in (("kubeconfig", ["kubeconfig"]), ("describe cluster", ["describe", "cluster"])):
        section = GUIDE.read_text().split(f"## `{heading}`", 1)[1].split("\n## ", 1)[0]
        help_text = runner.invoke(app, [*command, "--help"]).stdout
        used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", section))
        assert used, heading
        for option in used:
            assert re.search(rf"(?<![\w-]){option}\b", help_text), f"docs/day2.md: `{' '.join(command)}` has no {option}"
