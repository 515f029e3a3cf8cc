"""up / preview / destroy through the real Automation API engine, against a stand-in `pulumi`.

The stand-in (tests/support/fake_pulumi.py) answers what the Automation API
sends and records every call: its argv, and digests of what its environment
held. So these tests see exactly what a local user would see in `ps`, what
lands on disk, and what reaches the Pulumi process.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.cli import app
from tests.conftest import platform_data

REPO = Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "support" / "fake_pulumi.py"
TOKEN = "Zq7" * 21 + "w"  # 64 alphanumerics, like a Hetzner token
KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {client-key-data: c2VjcmV0LWtleQ==}}]\n"


class FakePulumi:
    """The stand-in's scenario, records and stacks."""

    def __init__(self, root: Path):
        self.dir = root / "fake-pulumi"
        self.dir.mkdir()
        self.bin = root / "bin"
        self.bin.mkdir()
        exe = self.bin / "pulumi"
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        exe.chmod(0o755)
        self.scenario = {
            "version": "3.200.0",
            "backend": "https://api.pulumi.com",
            "user": "alice",
            "outputs": {
                "clusterctl-management": {"kubeconfig": KUBECONFIG, "apiEndpoint": "https://198.51.100.7:6443"},
                "clusterctl-capi": {"installed": {"cluster-api": "v1.13.5"}},
                "clusterctl-cluster": {"kubeconfig": KUBECONFIG, "clusterName": "x"},
            },
            "secret_outputs": ["kubeconfig"],
        }
        self.save()

    def save(self) -> None:
        (self.dir / "scenario.json").write_text(json.dumps(self.scenario))

    def set(self, **values) -> None:
        self.scenario.update(values)
        self.save()

    def calls(self) -> list[dict]:
        path = self.dir / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def commands(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]

    def stacks(self) -> dict:
        path = self.dir / "stacks.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def add_stack(self, name: str, outputs: dict | None = None) -> None:
        stacks = self.stacks()
        stacks[name] = {"outputs": outputs or {}, "resources": 1}
        (self.dir / "stacks.json").write_text(json.dumps(stacks))


def verb(argv: list[str]) -> str:
    """`up`, `preview`, `stack init`, ... of a recorded call."""
    plain = [a for a in argv if not a.startswith("-")]
    return " ".join(plain[:2]) if plain and plain[0] in ("stack", "config", "org") else (plain[0] if plain else "")


def stack_of(argv: list[str]) -> str | None:
    if "--stack" in argv:
        return argv[argv.index("--stack") + 1]
    if argv[:2] in (["stack", "init"], ["stack", "rm"]):
        return [a for a in argv[2:] if not a.startswith("-")][0]
    return None


@pytest.fixture
def fake(tmp_path, monkeypatch, fake_hcloud) -> FakePulumi:
    # `up` runs preflight first: against the local Hetzner API fake, where the spec's SSH key exists.
    fake_hcloud.tokens[TOKEN] = "read_write"
    fake_hcloud.add_ssh_key("ops")
    monkeypatch.setenv("HCLOUD_ENDPOINT", fake_hcloud.endpoint)
    fake = FakePulumi(tmp_path)
    monkeypatch.setenv("FAKE_PULUMI_DIR", str(fake.dir))
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("PULUMI_DEFAULT_ORGANIZATION", raising=False)
    monkeypatch.delenv("PULUMI_PYTHON_CMD", raising=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return fake


@pytest.fixture
def platform(tmp_path) -> Path:
    # Bare clusters: the platform stacks have their own tests (tests/test_platform_stacks.py).
    data = platform_data()
    data["clusters"][0].pop("platform")
    data["clusters"].append(dict(data["clusters"][0], name="staging"))
    path = tmp_path / "work" / "platform.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    return path


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def files_under(*roots: Path):
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield path


def test_token_reaches_pulumi_through_its_environment_only(fake, platform, tmp_path):
    before = sorted(p.name for p in (REPO / "stacks").rglob("Pulumi.*.yaml"))
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 0, result.output

    calls = fake.calls()
    assert calls, "the stand-in was never called"
    for call in calls:
        assert not any(TOKEN in arg for arg in call["argv"]), call["argv"]
    # Nor in any file written: state dir, temp dirs (event logs), home, the stand-in's records.
    for path in files_under(tmp_path):
        assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in result.output

    digest = "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()
    ups = {stack_of(c["argv"]): c["env"] for c in calls if verb(c["argv"]) == "up"}
    assert ups["alice/clusterctl-management/mgmt-management"]["HCLOUD_TOKEN"] == digest
    assert ups["alice/clusterctl-cluster/mgmt-cluster-prod"]["HCLOUD_TOKEN"] == digest
    # The capi stack needs no token and gets none.
    capi = [c["env"]["HCLOUD_TOKEN"] for c in calls if (stack_of(c["argv"]) or "").endswith("/mgmt-capi")]
    assert capi and set(capi) == {""}
    # Nor do the calls that only ask who is logged in and where.
    lookups = [c["env"]["HCLOUD_TOKEN"] for c in calls if verb(c["argv"]) in ("whoami", "org get-default")]
    assert lookups and set(lookups) == {""}
    # Stack config files stay out of the checkout.
    assert sorted(p.name for p in (REPO / "stacks").rglob("Pulumi.*.yaml")) == before


def test_programs_come_from_the_package_and_run_with_this_interpreter(fake, platform, tmp_path):
    # The stand-in loads each program module with PULUMI_PYTHON_CMD, as Pulumi's Python host would.
    fake.set(import_programs=True)
    data = yaml.safe_load(platform.read_text())
    data["clusters"] = data["clusters"][1:]
    platform.write_text(yaml.safe_dump(data))
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 0, result.output
    import clusterctl_py

    package = Path(clusterctl_py.__file__).resolve().parent
    mains = {name: {r["main"] for r in s["ran"]} for name, s in fake.stacks().items()}
    assert mains["alice/clusterctl-management/mgmt-management"] == {str(package / "programs" / "management.py")}
    assert mains["alice/clusterctl-capi/mgmt-capi"] == {str(package / "programs" / "capi.py")}
    assert mains["alice/clusterctl-cluster/mgmt-cluster-staging"] == {str(package / "programs" / "cluster.py")}
    for call in fake.calls():
        if verb(call["argv"]) == "up":
            assert call["env"]["PULUMI_PYTHON_CMD"] == sys.executable
            # Pulumi runs in the per-user state directory, which only the user can enter.
            assert Path(call["cwd"]).is_relative_to(tmp_path / "state" / "clusterctl-py")
    state = tmp_path / "state" / "clusterctl-py"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    written = yaml.safe_load((state / "stacks" / "alice" / "clusterctl-capi" / "mgmt-capi" / "Pulumi.mgmt-capi.yaml").read_text())
    assert written["config"]["clusterctl:managementStack"] == "alice/clusterctl-management/mgmt-management"
    # The project file Pulumi reads: the Python runtime without a virtualenv option, so
    # PULUMI_PYTHON_CMD decides the interpreter; it says it is ours to rewrite.
    project = yaml.safe_load((state / "stacks" / "alice" / "clusterctl-capi" / "mgmt-capi" / "Pulumi.yaml").read_text())
    assert project["runtime"] in ("python", {"name": "python"})
    assert "edits are overwritten" in project["description"]


@pytest.mark.parametrize(
    "xdg, under_home",
    [(None, True), ("", True), ("relative/state", True), ("/srv/state", False)],
    ids=["unset", "empty", "relative", "absolute"],
)
def test_state_lives_where_the_xdg_spec_puts_it(tmp_path, monkeypatch, xdg, under_home):
    # XDG Base Directory spec: $XDG_STATE_HOME, else ~/.local/state; a relative
    # path is invalid and ignored.
    from clusterctl_py.ops.engine import state_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg.replace("/srv", str(tmp_path / "srv")))
    expected = tmp_path / "home" / ".local" / "state" / "clusterctl-py" if under_home else tmp_path / "srv" / "state" / "clusterctl-py"
    assert state_dir() == expected
    assert stat.S_IMODE(expected.stat().st_mode) == 0o700


@pytest.mark.parametrize("version", ["3.200.0", "3.272.0"], ids=["event-log-file", "event-log-grpc"])
def test_errors_name_the_stack_and_the_resource(fake, platform, version):
    fake.set(version=version, fail={"mgmt-cluster-prod": {"resource": "prod-cp-0", "message": "creating server: server limit reached (resource_limit_exceeded)"}},
             resources={"clusterctl-cluster": [["hcloud:index/network:Network", "net"],
                                               ["clusterctl:index:ControlPlane$hcloud:index/server:Server", "prod-cp-0"]]})
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    # Pulumi's own diagnostic for the resource, live and in the summary; not "update failed".
    assert "mgmt-cluster-prod: error prod-cp-0: creating server: server limit reached (resource_limit_exceeded)" in result.stderr
    assert "mgmt-cluster-prod: failed: hcloud:index/server:Server prod-cp-0" in result.stderr
    summary = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     failed: hcloud:index/server:Server prod-cp-0: creating server: server limit reached (resource_limit_exceeded)" in summary
    # The other cluster finished.
    assert "  mgmt-cluster-staging  up done" in summary
    assert result.stderr.strip().splitlines()[-1] == (
        "error: stack mgmt-cluster-prod failed during up: hcloud:index/server:Server prod-cp-0: "
        "creating server: server limit reached (resource_limit_exceeded)"
    )
    assert "<{%" not in result.output


def test_program_errors_are_shown_as_pulumi_reports_them(fake, platform):
    message = "clusterctl:capiStack: stack alice/clusterctl-capi/mgmt-capi has no `installed` output"
    fake.set(fail={"mgmt-cluster-staging": {"message": message}})
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert f"  mgmt-cluster-staging  failed: {message}" in result.stdout.splitlines()


def test_a_program_exception_is_named_by_its_last_line(fake, platform):
    # What Pulumi's Python language host reports for an exception the program did not handle.
    message = ("Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
               '  File "/x/cluster.py", line 3, in main\n    raise ValueError("no such zone")\nValueError: no such zone\n')
    fake.set(fail={"mgmt-cluster-staging": {"message": message}})
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert "  mgmt-cluster-staging  failed: ValueError: no such zone" in result.stdout.splitlines()
    assert "mgmt-cluster-staging: error: Program failed with an unhandled exception:" in result.stderr


def test_secret_outputs_are_never_returned_in_plain(fake, tmp_path):
    from clusterctl_py.ops.engine import PulumiAutomationEngine
    from clusterctl_py.ops.plan import StackRun

    engine = PulumiAutomationEngine(TOKEN)
    run = StackRun("management", "mgmt-management", "alice", {"clusterctl:platformFile": "/p.yaml"})
    outputs = engine.up(run, lambda event: None)
    assert outputs == {"kubeconfig": "[secret]", "apiEndpoint": "https://198.51.100.7:6443"}


def test_preview_runs_no_update_and_leaves_no_stack_behind(fake, platform):
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 0, result.output
    verbs = [verb(argv) for argv in fake.commands()]
    assert "up" not in verbs and "destroy" not in verbs
    assert fake.stacks() == {}
    # The management stack was created only to be previewed, then removed.
    assert verbs.count("stack init") == verbs.count("stack rm") == 1
    lines = result.stdout.splitlines()
    assert "  mgmt-management       would be created: 1 to create (previewed in a temporary stack, removed again)" in lines
    assert "  mgmt-capi             would be created; cannot be previewed before mgmt-management exist(s): it reads their outputs; `up` creates them" in lines
    assert any(line.startswith("  mgmt-cluster-prod     would be created; cannot be previewed before mgmt-management and mgmt-capi") for line in lines)


def test_preview_of_existing_stacks_previews_them(fake, platform):
    assert invoke("up", "-f", str(platform)).exit_code == 0
    stacks_before = fake.stacks()
    fake.set(ops={"mgmt-capi-net": "update", "mgmt-cluster-prod-net": "replace"})
    start = len(fake.calls())
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 0, result.output
    verbs = [verb(argv) for argv in fake.commands()[start:]]
    assert verbs.count("preview") == 4
    assert not {"up", "destroy", "stack init", "stack rm"} & set(verbs)
    assert {k: v["outputs"] for k, v in fake.stacks().items()} == {k: v["outputs"] for k, v in stacks_before.items()}
    lines = result.stdout.splitlines()
    # Resources that stay as they are (`same`) are no change worth a word.
    assert "  mgmt-management       previewed: no changes" in lines
    assert "  mgmt-capi             previewed: 1 to update" in lines
    assert "  mgmt-cluster-prod     previewed: 1 to replace" in lines


def test_destroy_never_creates_and_reports_missing_stacks(fake, platform):
    fake.add_stack("alice/clusterctl-management/mgmt-management")
    fake.add_stack("alice/clusterctl-capi/mgmt-capi")
    fake.add_stack("alice/clusterctl-cluster/mgmt-cluster-staging")
    result = invoke("destroy", "--yes", "-f", str(platform))
    assert result.exit_code == 0, result.output
    argvs = fake.commands()
    assert not any(verb(a) in ("stack init", "up") for a in argvs)
    destroyed = [stack_of(a) for a in argvs if verb(a) == "destroy"]
    assert destroyed == [
        "alice/clusterctl-cluster/mgmt-cluster-staging",
        "alice/clusterctl-capi/mgmt-capi",
        "alice/clusterctl-management/mgmt-management",
    ]
    assert "nothing to destroy for mgmt-cluster-prod" in result.stderr
    lines = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     nothing to destroy for mgmt-cluster-prod: there is no stack alice/clusterctl-cluster/mgmt-cluster-prod" in lines
    assert "  mgmt-cluster-staging  destroyed" in lines
    assert not any("mgmt-cluster-prod" in line and "destroyed" in line for line in lines)


def test_destroy_keeps_capi_while_a_cluster_failed(fake, platform):
    for name in ("clusterctl-management/mgmt-management", "clusterctl-capi/mgmt-capi", "clusterctl-cluster/mgmt-cluster-prod", "clusterctl-cluster/mgmt-cluster-staging"):
        fake.add_stack(f"alice/{name}")
    fake.set(fail={"mgmt-cluster-prod": {"on": "destroy", "resource": "mgmt-cluster-prod-net", "message": "network is still in use"}})
    result = invoke("destroy", "--yes", "-f", str(platform))
    assert result.exit_code == 1
    destroyed = [stack_of(a) for a in fake.commands() if verb(a) == "destroy"]
    assert sorted(destroyed) == ["alice/clusterctl-cluster/mgmt-cluster-prod", "alice/clusterctl-cluster/mgmt-cluster-staging"]
    lines = result.stdout.splitlines()
    assert "  mgmt-capi             not run because mgmt-cluster-prod failed (destroying it while clusters may still exist would orphan their servers)" in lines


# -- the organisation of stacks and references --------------------------------------------

def _org_of_stacks(fake: FakePulumi) -> set[str]:
    """The organisations of the stacks updated and of the stacks they reference."""
    orgs = {stack_of(a).split("/")[0] for a in fake.commands() if verb(a) == "up"}
    for argv in fake.commands():
        if verb(argv) == "config set-all":
            orgs |= {a.split("=", 1)[1].split("/")[0] for a in argv if a.startswith(("clusterctl:capiStack=", "clusterctl:managementStack="))}
    return orgs


# One cluster stack is enough to see where stacks and references go; the
# shared stacks it needs exist only in the expected organisation.
ONE = ("up", "--cluster", "prod")


def shared_stacks_in(fake: FakePulumi, org: str) -> None:
    fake.add_stack(f"{org}/clusterctl-management/mgmt-management")
    fake.add_stack(f"{org}/clusterctl-capi/mgmt-capi")


def test_org_option_wins(fake, platform):
    fake.set(default_org="team")
    shared_stacks_in(fake, "acme")
    result = invoke(*ONE, "--org", "acme", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert _org_of_stacks(fake) == {"acme"}
    assert "org get-default" not in [verb(a) for a in fake.commands()]


def test_org_from_pulumi_default_organization(fake, platform, monkeypatch):
    fake.set(default_org="team")
    monkeypatch.setenv("PULUMI_DEFAULT_ORGANIZATION", "envorg")
    shared_stacks_in(fake, "envorg")
    assert invoke(*ONE, "-f", str(platform)).exit_code == 0
    assert _org_of_stacks(fake) == {"envorg"}


@pytest.mark.parametrize("sdk", ["current", "before org_get_default"])
def test_org_from_org_get_default(fake, platform, sdk, monkeypatch):
    if sdk != "current":  # the Automation API before 3.2xx has no org_get_default; the CLI command is the same
        from pulumi import automation

        monkeypatch.delattr(automation.LocalWorkspace, "org_get_default")
        monkeypatch.delattr(automation.Workspace, "org_get_default")
    fake.set(default_org="team")
    shared_stacks_in(fake, "team")
    result = invoke(*ONE, "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert _org_of_stacks(fake) == {"team"}
    assert "org get-default" in [verb(a) for a in fake.commands()]


@pytest.mark.parametrize("default", ["none set", "lookup refused"])
def test_org_falls_back_to_the_user(fake, platform, default):
    fake.set(default_org=None, user="bob")
    if default == "lookup refused":  # a backend error is no reason to stop: the user's own org still works
        fake.set(refuse={"org get-default": {"*": "[500] Internal Server Error"}})
    shared_stacks_in(fake, "bob")
    assert invoke(*ONE, "-f", str(platform)).exit_code == 0
    assert _org_of_stacks(fake) == {"bob"}


def test_diy_backend_always_uses_organization(fake, platform, monkeypatch):
    fake.set(backend="file:///var/lib/pulumi", default_org="team")
    monkeypatch.setenv("PULUMI_DEFAULT_ORGANIZATION", "envorg")
    shared_stacks_in(fake, "organization")
    result = invoke(*ONE, "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert _org_of_stacks(fake) == {"organization"}


def test_diy_backend_refuses_another_org(fake, platform):
    fake.set(backend="s3://bucket/state")
    result = invoke("up", "--org", "acme", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --org: 'acme' is not possible with the self-managed backend s3://bucket/state, "
        "whose stacks all live in the organisation 'organization'; drop --org\n"
    )
    assert not [a for a in fake.commands() if verb(a) not in ("version", "whoami")]


def test_not_logged_in_stops_before_anything(fake, platform):
    fake.set(logged_in=False)
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: pulumi is not logged in to a backend (PULUMI_ACCESS_TOKEN must be set")
    assert result.stderr.rstrip().endswith("run `pulumi login` (Pulumi Cloud) or `pulumi login --local` (state on this machine)")
    assert fake.stacks() == {}


def test_one_cluster_needs_the_shared_stacks(fake, platform):
    fake.add_stack("alice/clusterctl-management/mgmt-management")
    result = invoke(*ONE, "-f", str(platform))
    assert result.exit_code == 1
    assert "error: stack mgmt-cluster-prod failed during up: needs mgmt-capi, which does not exist yet; run `up` without --cluster first" in result.stderr
    assert not [a for a in fake.commands() if verb(a) in ("stack init", "up")]


def test_too_old_pulumi_cli_is_one_line(fake, platform):
    fake.set(version="2.25.0")
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the pulumi CLI cannot be used: Minimum version requirement failed. The minimum CLI version "
        "requirement is 3.1.0, your current CLI version is 2.25.0. Please update the Pulumi CLI.\n"
    )


# -- the CLI failing without a diagnostic ------------------------------------------------

def test_a_cli_crash_is_named_with_its_exit_and_first_line(fake, platform):
    # Go's report of a panic outside the main goroutine (exit 2), the CLI's own panic
    # handler (pulumi/pulumi pkg/cmd/pulumi/main.go panicHandler, exit 1), a kill signal.
    fake.set(crash={"up": {"mgmt-cluster-prod": "panic", "mgmt-cluster-staging": "fatal"}})
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "  mgmt-cluster-prod     failed: pulumi exited with code 2: panic: runtime error: invalid memory address or nil pointer dereference" in lines
    assert "  mgmt-cluster-staging  failed: pulumi exited with code 1: The Pulumi CLI encountered a fatal error. This is a bug!" in lines


def test_a_killed_cli_is_named_with_its_signal(fake, platform):
    fake.set(crash={"destroy": {"*": "kill"}})
    fake.add_stack("alice/clusterctl-cluster/mgmt-cluster-prod")
    result = invoke("destroy", "--yes", "--cluster", "prod", "-f", str(platform))
    assert result.exit_code == 1
    assert "  mgmt-cluster-prod  failed: pulumi was killed by SIGKILL" in result.stdout.splitlines()


def test_a_refusing_backend_is_reported_with_its_error_line(fake, platform):
    fake.set(refuse={"stack init": {"mgmt-management": "[403] Forbidden: this organization has reached its stack limit"}})
    result = invoke("up", "-f", str(platform))
    assert result.exit_code == 1
    assert "  mgmt-management       failed: [403] Forbidden: this organization has reached its stack limit" in result.stdout.splitlines()
    assert "  mgmt-capi             not run because mgmt-management failed" in result.stdout.splitlines()


def test_a_preview_stack_that_cannot_be_removed_is_reported(fake, platform):
    fake.set(refuse={"stack rm": {"mgmt-management": "[409] Conflict: another update is in progress"}})
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 1
    assert ("  mgmt-management       failed: could not remove the stack alice/clusterctl-management/mgmt-management "
            "created for the preview: [409] Conflict: another update is in progress") in result.stdout.splitlines()
    # It was previewed, and it is still there for the user to remove.
    assert "preview" in [verb(a) for a in fake.commands()]
    assert list(fake.stacks()) == ["alice/clusterctl-management/mgmt-management"]


def test_preview_shows_progress_and_names_the_failing_resource(fake, platform):
    assert invoke("up", "-f", str(platform)).exit_code == 0
    fake.set(ops={"mgmt-capi-net": "update"},
             fail={"mgmt-capi": {"on": "preview", "resource": "mgmt-capi-net", "message": "network in use"}})
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 1
    assert "[1/4] mgmt-management: preview done: 1/1 resources in 00:00" in result.stderr.splitlines()
    assert "[2/4] mgmt-capi: error mgmt-capi-net: network in use" in result.stderr.splitlines()
    assert "  mgmt-capi             failed: hcloud:index/network:Network mgmt-capi-net: network in use" in result.stdout.splitlines()


def test_preview_in_a_temporary_stack_names_the_failing_resource_and_removes_it(fake, platform):
    fake.set(fail={"mgmt-management": {"on": "preview", "resource": "mgmt-management-net", "message": "invalid location"}})
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 1
    assert "[1/4] mgmt-management: error mgmt-management-net: invalid location" in result.stderr.splitlines()
    assert "  mgmt-management       failed: hcloud:index/network:Network mgmt-management-net: invalid location" in result.stdout.splitlines()
    assert fake.stacks() == {}


def test_destroy_shows_progress(fake, platform):
    fake.add_stack("alice/clusterctl-cluster/mgmt-cluster-prod")
    result = invoke("destroy", "--yes", "--cluster", "prod", "-f", str(platform))
    assert result.exit_code == 0, result.output
    assert "[1/1] mgmt-cluster-prod: 1/1 resources, delete hcloud:index/network:Network mgmt-cluster-prod-net, 00:00 elapsed" in result.stderr.splitlines()


def test_a_stack_that_cannot_be_looked_up_fails_with_the_backend_error(fake, platform):
    fake.set(refuse={"stack select": {"mgmt-capi": "[401] Unauthorized: token expired"}})
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 1
    assert "  mgmt-capi             failed: [401] Unauthorized: token expired" in result.stdout.splitlines()


def test_a_preview_killed_half_way_still_removes_its_temporary_stack(fake, platform):
    fake.set(crash={"preview": {"mgmt-management": "kill"}})
    result = invoke("preview", "-f", str(platform))
    assert result.exit_code == 1
    assert "  mgmt-management       failed: pulumi was killed by SIGKILL" in result.stdout.splitlines()
    assert [verb(a) for a in fake.commands()].count("stack rm") == 1
    assert fake.stacks() == {}


# ----------------------------------------------------------------------------- pieces of the engine's reporting


SERVER_URN = "urn:pulumi:prod::clusterctl-cluster::clusterctl:index:Cluster$hcloud:index/server:Server::prod-cp-0"


@pytest.mark.parametrize(
    "urn, resource",
    [
        # pulumi/pulumi sdk/go/common/resource/urn.go: the type is the last `$` part, the name is everything after it.
        (SERVER_URN, "hcloud:index/server:Server prod-cp-0"),
        ("urn:pulumi:prod::p::a:b:C$d:e:F$g:h:I::x::y", "g:h:I x::y"),
        ("urn:pulumi:prod::p::pulumi:pulumi:Stack::p-prod", ""),
        ("not a urn", ""),
        (None, ""),
    ],
)
def test_a_diagnostic_names_the_resource_of_its_urn(urn, resource):
    from clusterctl_py.ops.engine import Diagnostic

    assert Diagnostic(urn, "boom").resource == resource


@pytest.mark.parametrize(
    "url, diy",
    [
        ("https://api.pulumi.com", False),
        ("http://pulumi.internal:8080", False),  # a self-hosted Pulumi service on plain http
        ("file:///home/me/.pulumi-state", True),
        ("s3://bucket/state", True),
        ("", False),
        (None, False),
    ],
)
def test_self_managed_backends_are_told_from_pulumi_services(url, diy):
    from clusterctl_py.ops.engine import is_diy_backend

    assert is_diy_backend(url) is diy


def test_an_error_diagnostic_with_nothing_to_say_is_not_kept():
    from pulumi.automation import events

    from clusterctl_py.ops.engine import error_diagnostic

    def event(message: str, severity: str = "error"):
        diag = events.DiagnosticEvent(message=message, color="never", severity=severity, urn=SERVER_URN, ephemeral=False)
        return events.EngineEvent(sequence=1, timestamp=0, diagnostic_event=diag)

    # Colour markup and blank lines only: no error line to print, nothing to blame.
    assert error_diagnostic(event("<{%reset%}>\n  \n")) is None
    assert error_diagnostic(event("quota exceeded", severity="warning")) is None
    assert str(error_diagnostic(event("<{%fg 1%}>quota exceeded<{%reset%}>\n"))) == "hcloud:index/server:Server prod-cp-0: quota exceeded"


def test_a_platform_stack_gets_the_token_only_for_dns01(fake, tmp_path):
    data = platform_data()
    data["clusters"][0].update(kubernetesVersion="v1.34.11", platform={"domain": "apps.example.com"})
    data["clusters"].append(copy.deepcopy(dict(data["clusters"][0], name="staging",
                                               platform={"domain": "staging.example.com", "challenge": "dns01"})))
    path = tmp_path / "work" / "platform.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    result = invoke("up", "-f", str(path))
    assert result.exit_code == 0, result.output
    ups = {stack_of(c["argv"]): c["env"] for c in fake.calls() if verb(c["argv"]) == "up"}
    # HTTP-01 is answered in the cluster: that platform's Pulumi process has the variable emptied.
    assert ups["alice/clusterctl-platform/mgmt-platform-prod"]["HCLOUD_TOKEN"] == ""
    digest = "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()
    assert ups["alice/clusterctl-platform/mgmt-platform-staging"]["HCLOUD_TOKEN"] == digest
