"""docs/day2.md: its commands run as shown against the local Hetzner API fake, and print what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clusterctl_py.cli import app

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "day2.md").read_text()
ENDPOINT = "https://api.hetzner.cloud/v1"  # what the guide shows; the fake listens elsewhere


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", DOC, flags=re.S)


def output_after(command: str) -> str:
    found = blocks()
    index = next(i for i, (lang, text) in enumerate(found) if lang == "bash" and text.strip() == command)
    return found[index + 1][1]


@pytest.fixture
def project(hcloud_project, monkeypatch):
    hcloud_project.add_ssh_key("ops")
    monkeypatch.chdir(REPO)  # the guide's paths are relative to the checkout
    return hcloud_project


def invoke(command: str):
    args = command.split()
    assert args[0] == "clusterctl-py"
    return CliRunner().invoke(app, args[1:], catch_exceptions=False)


def shown(result, fake) -> str:
    return result.output.replace(fake.endpoint, ENDPOINT)


def test_preflight_as_the_guide_shows_it(project):
    command = "clusterctl-py preflight -f examples/platform.yaml"
    result = invoke(command)
    assert result.exit_code == 0
    assert shown(result, project) == output_after(command)
    assert project.count() == 10 and "10 for the example in a project with up to 50 of everything" in DOC
    for i in range(51):
        project.add_server(f"web-{i}")
    project.reset_log()
    invoke(command)
    assert project.count() == 11  # "one more per further page"


def test_preflight_problems_as_the_guide_shows_them(project):
    project.set_server_type_location("cax21", "nbg1", available=False)
    project.add_network("prod", {})
    result = invoke("clusterctl-py preflight -f examples/platform.yaml")
    assert result.exit_code == 2
    documented = next(text for lang, text in blocks() if lang == "text" and text.startswith("error: "))
    assert result.stderr == documented


def test_cost_live_as_the_guide_shows_it(project):
    command = "clusterctl-py cost -f examples/platform.yaml --live"
    result = invoke(command)
    assert result.exit_code == 0
    assert shown(result, project) == output_after(command)
    assert project.count() == 2 and "two requests" in DOC


def test_the_guide_uses_only_options_the_commands_have():
    used = re.findall(r"(clusterctl-py (preflight|cost|up)\b[^`\n]*)", DOC)
    assert used
    for line, command in used:
        help_text = CliRunner().invoke(app, [command, "--help"]).stdout
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line):
            assert option in help_text, f"{line!r}: {option} is not an option of {command}"
    for option in ("--skip-preflight", "--server-limit", "--cluster"):
        assert option in DOC
