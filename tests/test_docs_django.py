"""docs/django.md cannot rot: its manifests are what the code renders, its commands parse.

The manifests shown under a file name (`../fleet/apps/default/shop/service.yaml`:)
are rendered again from the guide's own `--gitops` command and compared byte
for byte. Every `clusterctl-py` line of the guide goes through the CLI's parser
(typer's click command), and every `app deploy` line's flags through the
validation `app deploy` runs before it touches anything.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clusterctl_py.cli import app
from clusterctl_py.errors import SpecError
from clusterctl_py.render.app import app_request

DOC = Path(__file__).resolve().parents[1] / "docs" / "django.md"
TEXT = DOC.read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def commands() -> list[list[str]]:
    out = []
    for lang, body in FENCE.findall(TEXT):
        if lang == "sh":
            out += [shlex.split(line) for line in body.splitlines() if line.startswith("clusterctl-py ")]
    return out


def parse(args: list[str]):
    """The click context of the (sub)command `args` names, flags parsed, nothing run."""
    root = typer.main.get_command(app)
    ctx = root.make_context("clusterctl-py", list(args), resilient_parsing=False)
    while hasattr(ctx.command, "resolve_command") and (rest := [*ctx._protected_args, *ctx.args]):
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx


def test_the_guide_shows_every_app_command():
    shown = {c[1] if c[1] != "app" else f"app {c[2]}" for c in commands()}
    assert {"kubeconfig", "app deploy", "app status", "app logs", "app list", "app rollback", "app delete"} <= shown
    assert any("--gitops" in c and c[2] == "deploy" for c in commands())
    assert any("--database" in c for c in commands())
    assert "(platform.md)" in TEXT


@pytest.mark.parametrize("args", commands(), ids=lambda a: " ".join(a[1:4]))
def test_every_command_of_the_guide_parses(args):
    ctx = parse(args[1:])
    if ctx.info_name == "deploy":
        p = ctx.params
        # The secret's value comes from the environment, as the guide exports it first.
        app_request(p["name"], p["image"], namespace=p["namespace"], env=p["env"] or [], secret_env=p["secret_env"] or [],
                    port=p["port"], min_scale=p["min_scale"], max_scale=p["max_scale"], database=p["database"],
                    environ={"DJANGO_SECRET_KEY": "x"}, env_from_secrets=p["env_from_secret"] or [])


def test_a_wrong_flag_in_a_guide_command_would_be_caught():
    deploy = next(c for c in commands() if c[1:3] == ["app", "deploy"])
    with pytest.raises(Exception) as err:
        parse([*deploy[1:], "--max-scales", "5"])
    assert "No such option: --max-scales" in str(err.value)
    bad = parse([*deploy[1:3], deploy[3], "--image", "ghcr.io/Acme/shop:1"]).params
    with pytest.raises(SpecError, match="--image: 'ghcr.io/Acme/shop:1' is not an image reference"):
        app_request(bad["name"], bad["image"])


def test_the_manifests_shown_are_what_the_gitops_command_writes(tmp_path, monkeypatch):
    """The guide's `--gitops` command, run as written from a checkout beside the fleet repository."""
    command = next(c for c in commands() if c[1:3] == ["app", "deploy"] and "--gitops" in c)
    target = Path(command[command.index("--gitops") + 1])
    work = tmp_path / "shop"
    work.mkdir()
    (work / target).resolve().mkdir(parents=True)
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, command[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = dict(re.findall(r"^`([^`]+\.yaml)`:\n\n```yaml\n(.*?)```", TEXT, re.S | re.M))
    written = {os.path.relpath(path, work): path.read_text() for path in sorted((work / target).resolve().rglob("*.yaml"))}
    assert shown and shown == written
