"""The command line as a user meets it: exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "platform.yaml")


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_generate_prints_multi_document_yaml(run):
    result = run("generate", "cluster", "prod", "-f", EXAMPLE)
    assert result.exit_code == 0
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "Cluster", "HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "MachineHealthCheck", "HelmChartProxy"} <= kinds
    # cluster-autoscaler runs in the management cluster next to the cluster it scales.
    autoscaler = next(d for d in docs if d["kind"] == "Deployment")
    assert "--node-group-auto-discovery=clusterapi:namespace=prod,clusterName=prod" in autoscaler["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "needs the secret 'hcloud'" in result.stdout.lower()


def test_generate_to_a_directory(run, tmp_path):
    result = run("generate", "cluster", "prod", "-f", EXAMPLE, "-o", str(tmp_path / "out"))
    assert result.exit_code == 0 and result.stdout == ""
    written = (tmp_path / "out" / "prod.yaml").read_text()
    assert written == run("generate", "cluster", "prod", "-f", EXAMPLE).stdout


def test_validate_summarises(run):
    result = run("validate", "-f", EXAMPLE)
    assert result.exit_code == 0
    assert "valid (1 cluster(s))" in result.stdout and "arm cax21 0-20" in result.stdout


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and "Cluster API v1.13.5" in result.stdout


COMMANDS = [[], ["validate"], ["cost"], ["generate"], ["generate", "cluster"], ["up"], ["preview"], ["destroy"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "top")
def test_help_everywhere(run, args):
    result = run(*args, "--help")
    assert result.exit_code == 0 and "Usage: " in result.stdout
    assert result.stdout.count("--help") == 1


def test_no_arguments_shows_usage(run):
    result = run()
    assert "Usage: " in result.output and "generate" in result.output and "Traceback" not in result.output


BOMB = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 10)}]\n" for i in range(10)
)

# case: (field path, text in the example, replacement, what the line must say)
BAD = {
    "deprecated server type": ("clusters[0].pools[0].serverType", "{name: general, serverType: cpx32", "{name: general, serverType: cpx31", "use 'cpx32'"),
    "unknown server type": ("clusters[0].pools[0].serverType", "{name: general, serverType: cpx32", "{name: general, serverType: cpx33", "unknown Hetzner server type 'cpx33'"),
    "typo in a key": ("clusters[0].controlPlane.serverTyp", "{replicas: 3, serverType: cpx22}", "{replicas: 3, serverTyp: cpx22}", "did you mean 'serverType'?"),
    "even control plane": ("clusters[0].controlPlane.replicas", "{replicas: 3,", "{replicas: 4,", "must be 1, 3 or 5 (got 4)"),
    "old kubernetes": ("clusters[0].kubernetesVersion", "v1.34.11", "v1.29.0", "allowed: v1.32 to v1.36"),
    "bad location": ("clusters[0].location", "location: nbg1", "location: nowhere", "unknown Hetzner location 'nowhere'"),
    "bad default location": ("hetzner.location", "location: fsn1", "location: fra1", "unknown Hetzner location 'fra1'"),
    "zone without the location": ("hetzner.networkZone", "networkZone: eu-central", "networkZone: us-east", "does not contain location 'fsn1'"),
    "arm not sold there": ("clusters[0].pools[1].serverType", "location: nbg1", "location: ash", "'cax21' is not offered in ash"),
    "min above max": ("clusters[0].pools[0].max", "min: 1, max: 10", "min: 11, max: 10", "max (10) must be >= min (11)"),
    "bad taint effect": ("clusters[0].pools[1].taints[0].effect", "effect: NoSchedule", "effect: NoScheduel", "'NoScheduel'"),
    "bad name": ("clusters[0].name", "name: prod", "name: Prod", "DNS-1123"),
    "duplicate pool": ("clusters[0].pools[1].name", "name: arm", "name: general", "duplicate pool name 'general'"),
    "duplicate yaml key": ("duplicate key 'servers'", "  servers: 1", "  servers: 1\n  servers: 3", "line 11"),
    "malformed yaml": ("malformed YAML", "pools:", "pools: [", "line "),
    "empty ssh keys": ("hetzner.sshKeys", "sshKeys: [ops]", "sshKeys: []", "at least 1 item"),
    "bad cidr": ("management.apiAllowedCidrs[0]", "apiAllowedCidrs: [203.0.113.0/24]", "apiAllowedCidrs: [203.0.113.0/33]", "not a CIDR block"),
    # Issue 6: bad input refused fast, with the field named.
    "split pool name taken": (
        "clusters[0].pools[1].name",
        "- {name: general, serverType: cpx32, min: 1, max: 10}",
        "- {name: web, serverType: cpx32, min: 1, max: 25}\n      - {name: web-2, serverType: cpx32, max: 2}",
        "pool 'web-2' renders node group 'web-2', which pool 'web' (pools[0]) also renders",
    ),
    "pods on the server network": ("clusters[0].podCidr", "location: nbg1", "location: nbg1\n    podCidr: 10.0.0.0/16", "overlaps hetzner.networkCidr 10.0.0.0/16"),
    "services inside the pods": ("clusters[0].serviceCidr", "location: nbg1", "location: nbg1\n    serviceCidr: 10.244.0.0/20", "overlaps podCidr 10.244.0.0/16"),
    "ipv6 services": ("clusters[0].serviceCidr", "location: nbg1", "location: nbg1\n    serviceCidr: fd00::/108", "is an IPv6 range"),
    "public pods": ("clusters[0].podCidr", "location: nbg1", "location: nbg1\n    podCidr: 100.64.0.0/16", "not a private IPv4 range"),
    "kubelet-forbidden label": ("clusters[0].pools[1].labels.kubernetes.io/role", "labels: {tier: batch}", "labels: {kubernetes.io/role: batch}", "the kubelet refuses in --node-labels"),
    "control-plane role on workers": ("clusters[0].pools[1].labels.node-role.kubernetes.io/control-plane", "labels: {tier: batch}", "labels: {node-role.kubernetes.io/control-plane: ''}", "marks control-plane nodes"),
    "cluster api's label": ("clusters[0].pools[1].labels.node.cluster.x-k8s.io/pool", "labels: {tier: batch}", "labels: {node.cluster.x-k8s.io/pool: batch}", "Cluster API's domain"),
    "system namespace": ("clusters[0].namespace", "location: nbg1", "location: nbg1\n    namespace: kube-system", "namespace 'kube-system' is reserved"),
    "provider namespace": ("clusters[0].namespace", "location: nbg1", "location: nbg1\n    namespace: caph-system", "namespace 'caph-system' is reserved"),
    "cluster named default": ("clusters[0].name", "name: prod", "name: default", "its namespace would be 'default', which is reserved"),
    "max in quotes": ("clusters[0].pools[1].max", "max: 20", 'max: "20"', "must be a whole number"),
    "max true": ("clusters[0].pools[0].max", "max: 10}", "max: true}", "must be a whole number"),
    "min with a decimal point": ("clusters[0].pools[0].min", "min: 1,", "min: 1.0,", "must be a whole number"),
    "replicas in quotes": ("clusters[0].controlPlane.replicas", "{replicas: 3,", '{replicas: "3",', "must be a whole number"),
    "empty image": ("hetzner.image", "sshKeys: [ops]", 'sshKeys: [ops]\n  image: ""', "is not a Hetzner image name"),
    "ssh key not in a list": ("hetzner.sshKeys", "sshKeys: [ops]", "sshKeys: ops", "must be a list (got 'ops')"),
    "huge max": ("clusters[0].pools[1].max", "max: 20", "max: 1000000000", "max 1000000000 is above 100"),
    # The example's clusters move under another key; `clusters` takes the bomb.
    "alias bomb": ("malformed YAML", "clusters:", BOMB + "clusters: *l9\nexampleClusters:", "more than 20000 values"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line_naming_the_field(run, tmp_path, case):
    path, old, new, expect = BAD[case]
    text = Path(EXAMPLE).read_text()
    assert old in text
    bad = tmp_path / "platform.yaml"
    bad.write_text(text.replace(old, new, 1))
    for command in (["validate", "-f", str(bad)], ["generate", "cluster", "prod", "-f", str(bad)]):
        result = run(*command)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {bad}: ") and path in lines[0] and expect in lines[0], lines[0]
        assert "Traceback" not in result.output and result.stdout == ""


@pytest.mark.parametrize("text, expect", [
    ("", "hetzner: required but missing"),
    ("- hetzner\n", "expected a mapping at the top level, got list"),
])
def test_empty_or_non_mapping_file(run, tmp_path, text, expect):
    bad = tmp_path / "platform.yaml"
    bad.write_text(text)
    result = run("validate", "-f", str(bad))
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad}: {expect}\n"


def test_several_problems_give_one_line_each(run, tmp_path):
    bad = tmp_path / "platform.yaml"
    text = Path(EXAMPLE).read_text()
    bad.write_text(text.replace("replicas: 3", "replicas: 2").replace("v1.34.11", "v1.37.0").replace("cax21", "cx22"))
    result = run("validate", "-f", str(bad))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"error: {bad}: clusters[0].") for line in lines)
    assert {line.split(": ")[2] for line in lines} == {
        "clusters[0].controlPlane.replicas", "clusters[0].kubernetesVersion", "clusters[0].pools[1].serverType"
    }
    # Catalog problems show even where the structure is broken elsewhere.
    bad.write_text(text.replace("cax21", "cx22").replace("cpx32", "cpx31").replace("sshKeys: [ops]", "sshKeys: ops"))
    lines = run("validate", "-f", str(bad)).stderr.splitlines()
    assert {line.split(": ")[2] for line in lines} == {
        "hetzner.sshKeys", "management.serverType", "clusters[0].pools[0].serverType", "clusters[0].pools[1].serverType"
    }


def test_unknown_cluster_names_the_defined_ones(run):
    result = run("generate", "cluster", "staging", "-f", EXAMPLE)
    assert result.exit_code == 2 and "defined: prod" in result.stderr


def test_missing_file(run, tmp_path):
    result = run("validate", "-f", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "file not found" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["up", "--help"], ["generate", "cluster", "--help"], ["--version"],
                                  ["app", "--help"], ["app", "deploy", "--help"]])
def test_help_does_not_import_heavy_modules(args):
    code = (
        "import sys\n"
        "from clusterctl_py.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'kubernetes', 'hcloud', 'pulumi_kubernetes', 'pulumi_hcloud'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: " in out or "clusterctl-py" in out
    assert "HEAVY []" in out


def test_console_script_runs_without_traceback(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("hetzner: {sshKeys: [ops]\n")
    exe = Path(sys.executable).with_name("clusterctl-py")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "clusterctl_py.cli"]
    proc = subprocess.run([*cmd, "validate", "-f", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "malformed YAML" in proc.stderr and "Traceback" not in proc.stderr


def test_generated_yaml_has_no_trailing_whitespace(run):
    # Reviewers diff generated manifests; editors and linters flag trailing spaces, including in the header.
    result = run("generate", "cluster", "prod", "-f", EXAMPLE)
    assert result.exit_code == 0
    assert [line for line in result.stdout.splitlines() if line != line.rstrip()] == []
    assert result.stdout.startswith("# Cluster prod, rendered by clusterctl-py")


@pytest.mark.parametrize("error, code", [("failed", 1), ("bad input", 2)])
def test_our_errors_become_error_lines_and_their_exit_code(run, monkeypatch, error, code):
    # Any command: the root group is the one place that turns our errors into output.
    from clusterctl_py import spec
    from clusterctl_py.errors import ClusterctlError, Problem, SpecError

    if code == 1:
        raised = ClusterctlError("hetzner: the token was revoked\nnothing was deleted")
    else:
        raised = SpecError([Problem("clusters[0].name", "bad"), Problem("hetzner.location", "worse")])

    def load(path):
        raise raised

    monkeypatch.setattr(spec, "load", load)
    result = run("validate", "-f", EXAMPLE)
    assert result.exit_code == code
    assert result.stdout == ""
    expected = (
        ["error: hetzner: the token was revoked", "error: nothing was deleted"]
        if code == 1
        else ["error: clusters[0].name: bad", "error: hetzner.location: worse"]
    )
    assert result.stderr.splitlines() == expected


def test_every_error_of_ours_shares_the_root():
    from clusterctl_py.clients import errors as client_errors
    from clusterctl_py.errors import ClusterctlError, SpecError
    from clusterctl_py.fetch import FetchError
    from clusterctl_py.ops.engine import EngineError
    from clusterctl_py.wait import ApiNotReady

    for cls in (SpecError, FetchError, EngineError, ApiNotReady, client_errors.ClientError):
        assert issubclass(cls, ClusterctlError), cls
    assert SpecError.exit_code == 2 and ClusterctlError.exit_code == 1
