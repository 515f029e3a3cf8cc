"""The guides' figures and commands are fixtures: they must match what the tool does."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from clusterctl_py.cli import app

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "getting-started.md"


def test_getting_started_cost_table_matches_the_cost_command():
    # The guide's table is what `clusterctl-py cost -f examples/platform.yaml` prints.
    out = CliRunner().invoke(app, ["cost", "-f", str(REPO / "examples" / "platform.yaml")]).stdout
    printed = re.search(r"total per month\s+([\d.]+)\s+([\d.]+)", out)
    documented = re.search(r"\| \*\*total\*\* \| \| \*\*([\d.]+)\*\* \| \*\*([\d.]+)\*\* \|", GUIDE.read_text())
    assert printed and documented
    assert documented.groups() == printed.groups()
    for item in ("prod: control plane cpx22", "prod: pool general cpx32", "prod: pool arm cax21"):
        line = re.search(rf"{re.escape(item)}\s+(\S+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)", out)
        assert f"| {item} | {line[1]} | {line[2]} | {line[3]} |" in GUIDE.read_text(), item


def _command_path(words: list[str]) -> list[str]:
    """The longest prefix of `words` that names a (sub)command of the CLI."""
    import typer

    command, path = typer.main.get_command(app), []
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, path = sub, [*path, word]
    return path


def test_guides_only_use_commands_and_options_the_cli_has():
    # Every `clusterctl-py <command> ... --option` in the docs and README must be accepted by --help of that command.
    docs = ["getting-started.md", "stacks.md", "platform.md", "django.md", "day2.md"]
    texts = [(REPO / "docs" / name).read_text() for name in docs] + [(REPO / "README.md").read_text()]
    used = set()
    for text in texts:
        for m in re.finditer(r"clusterctl-py ((?:[a-z]+ )*?[a-z]+)((?: [^\n`|]*)?)", text):
            used.add((m[1], m[2]))
    assert used
    runner = CliRunner()
    checked = set()
    for words, rest in sorted(used):
        command = _command_path(words.split() + rest.split())
        if not command:
            continue
        checked.add(" ".join(command))
        help_text = runner.invoke(app, [*command, "--help"], terminal_width=200).stdout
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
            assert option in help_text, f"`clusterctl-py {words}{rest}` uses {option}, which `{' '.join(command)} --help` does not list"
    # The walk reaches every group the docs show, the app commands included.
    assert {"up", "generate platform", "app deploy", "app delete", "kubeconfig"} <= checked
