"""docs/day2.md, `cleanup`: the commands run as shown against the Hetzner API fake and print what the guide shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clusterctl_py.cli import app
from clusterctl_py.clients import hetzner
from tests.support.fake_hcloud import READ_ONLY_TOKEN
from tests.test_cleanup import add_prod, fast_api

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "day2.md").read_text()
SECTION = DOC[DOC.index("## `cleanup`"):]
ENDPOINT = "https://api.hetzner.cloud/v1"


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", SECTION, flags=re.S)


def after(command: str) -> str:
    found = blocks()
    index = next(i for i, (lang, text) in enumerate(found) if lang == "bash" and text.strip() == command)
    return found[index + 1][1]


@pytest.fixture
def project(hcloud_project, monkeypatch):
    monkeypatch.setattr(hetzner, "default_api", fast_api)
    add_prod(hcloud_project)
    hcloud_project.reset_log()
    return hcloud_project


def invoke(command: str):
    args = command.split()
    assert args[0] == "clusterctl-py"
    return CliRunner().invoke(app, args[1:], catch_exceptions=False)


def test_the_dry_run_as_the_guide_shows_it(project):
    command = "clusterctl-py cleanup prod"
    result = invoke(command)
    assert result.exit_code == 0
    assert result.output.replace(project.endpoint, ENDPOINT) == after(command)
    assert project.count() == 6 and "6 requests for a cluster of up to 50" in SECTION


def test_yes_as_the_guide_shows_it(project):
    command = "clusterctl-py cleanup prod --yes"
    result = invoke(command)
    assert result.exit_code == 0
    shown = after(command)
    assert result.output.endswith(shown)
    assert result.output.replace(project.endpoint, ENDPOINT)[: -len(shown)] == after("clusterctl-py cleanup prod").replace(
        "dry run: nothing was deleted; run again with --yes to delete these 11 objects\n", ""
    )
    assert project.count() == 24 and "24 requests for the 11 objects above" in SECTION


def test_the_stop_as_the_guide_shows_it(project):
    project.rate_limit(10**6, method="DELETE", path="/load_balancers")
    result = invoke("clusterctl-py cleanup prod --yes")
    assert result.exit_code == 1
    documented = next(text for lang, text in blocks() if lang == "text" and text.startswith("error: "))
    # The reset time and the request id are the API's of the moment.
    normal = re.sub(r"full again at \d\d:\d\d:\d\d UTC", "full again at 14:02:11 UTC", result.stderr)
    normal = re.sub(r"request id [0-9a-f]+", "request id 5e0c8f1a2b3d4c6e", normal)
    assert normal.endswith(documented)


def test_a_read_only_token_as_the_guide_says(project, monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", READ_ONLY_TOKEN)
    result = invoke("clusterctl-py cleanup prod --yes")
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert "token_readonly" in line and line.endswith("nothing was deleted")


def test_the_guide_uses_only_options_cleanup_has():
    help_text = CliRunner().invoke(app, ["cleanup", "--help"]).stdout
    used = re.findall(r"clusterctl-py cleanup[^`\n]*", SECTION)
    assert len(used) >= 4
    for line in used:
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line.removeprefix("clusterctl-py cleanup")):
            assert option in help_text, f"{line!r}: {option} is not an option of cleanup"
