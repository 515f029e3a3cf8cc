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


def test_guides_only_use_commands_and_options_the_cli_has():
    # Every `clusterctl-py <command> ... --option` in the docs and README must be accepted by --help of that command.
    texts = [GUIDE.read_text(), (REPO / "docs" / "stacks.md").read_text(), (REPO / "README.md").read_text()]
    used = set()
    for text in texts:
        for m in re.finditer(r"clusterctl-py ((?:[a-z]+ )*?[a-z]+)((?: [^\n`|]*)?)", text):
            used.add((m[1], m[2]))
    assert used
    runner = CliRunner()
    for words, rest in sorted(used):
        command = [w for w in words.split() if w in {"validate", "cost", "up", "preview", "destroy", "generate", "cluster"}]
        if not command:
            continue
        help_text = runner.invoke(app, [*command, "--help"]).stdout
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
            assert option in help_text, f"`clusterctl-py {words}{rest}` uses {option}, which `{' '.join(command)} --help` does not list"
