"""The import contracts in .importlinter hold, and they can fail.

import-linter walks the package on disk, and `clusterctl_py.providers` exists
only as a mapping (pyproject's package-dir) that an editable install resolves
at import time. So the tests lay out the package as a wheel installs it (links
into the checkout, the mapped folders placed where the mapping says) and run
import-linter on that, in a subprocess so that the clusterctl_py this pytest
process imported is not the one analysed.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"

pytest.importorskip("importlinter", reason="import-linter is part of the test extra: pip install -e '.[test]'")


def _installed_layout(target: Path, replace: dict[str, str] | None = None) -> Path:
    """`target/clusterctl_py` as installed; `replace` maps a module file (relative to the package) to new text."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    package = target / "clusterctl_py"
    package.mkdir()
    replace = replace or {}
    mapped = {name.split(".", 1)[1]: ROOT / folder for name, folder in mapping.items()}
    for entry in [*(ROOT / "clusterctl_py").iterdir(), *mapped.values()]:
        name = next((k for k, v in mapped.items() if v == entry), entry.name)
        if name == "__pycache__":
            continue
        if any(key.split("/")[0] == name for key in replace):
            _copy_tree(entry, package / name, replace, prefix=name)
        else:
            (package / name).symlink_to(entry)
    return target


def _copy_tree(source: Path, dest: Path, replace: dict[str, str], prefix: str) -> None:
    if source.is_file():
        dest.write_text(replace.get(prefix, source.read_text()))
        return
    dest.mkdir()
    for child in source.iterdir():
        if child.name != "__pycache__":
            _copy_tree(child, dest / child.name, replace, f"{prefix}/{child.name}")


def lint(tree: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        f"sys.exit(lint_imports(config_filename={str(CONFIG)!r}, no_cache=True, no_logo=True))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)


def contract_names() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return [parser[s]["name"] for s in parser.sections() if s.startswith("importlinter:contract:")]


def with_line(module: str, line: str) -> dict[str, str]:
    path = ROOT / "clusterctl_py" / module
    return {module: path.read_text() + f"\n{line}\n"}


def test_every_contract_is_kept(tmp_path):
    result = lint(_installed_layout(tmp_path))
    out = " ".join(result.stdout.split())  # import-linter wraps long names
    assert result.returncode == 0, result.stdout + result.stderr
    for name in contract_names():
        assert f"{name} KEPT" in out
    assert f"Contracts: {len(contract_names())} kept, 0 broken." in out


def test_the_layout_has_the_provider_inside_our_package(tmp_path):
    # Without the mapping, every contract about clusterctl_py.providers would hold vacuously.
    tree = _installed_layout(tmp_path)
    assert (tree / "clusterctl_py" / "providers" / "hetzner" / "__init__.py").is_file()


@pytest.mark.parametrize(
    "module, line, contract, chain",
    [
        (
            "cost.py",
            "import clusterctl_py.providers.hetzner",
            "The core reaches the Hetzner provider only through the provider interface",
            "clusterctl_py.cost -> clusterctl_py.providers.hetzner",
        ),
        (
            "spec.py",
            "import hcloud",
            "Only the Hetzner client imports the hcloud SDK",
            "clusterctl_py.spec -> hcloud",
        ),
        (
            "render/meta.py",
            "import kubernetes",
            "Only the Kubernetes client imports the kubernetes SDK",
            "clusterctl_py.render.meta -> kubernetes",
        ),
        (
            "errors.py",
            "import clusterctl_py.ops",
            "Data flows one way: CLI, operations, programs, components, I/O edges, pricing, render, spec, base facts",
            "clusterctl_py.errors -> clusterctl_py.ops",
        ),
        (
            "providers/base.py",
            "import clusterctl_py.spec",
            "The provider interface depends on nothing of ours at run time",
            "clusterctl_py.providers.base -> clusterctl_py.spec",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract, chain):
    if module.startswith("providers/"):
        source = ROOT / module
        replace = {module: source.read_text() + f"\n{line}\n"}
    else:
        replace = with_line(module, line)
    result = lint(_installed_layout(tmp_path, replace))
    out = " ".join(result.stdout.split())
    assert result.returncode == 1, out
    assert f"{contract} BROKEN" in out
    assert chain in out


def test_pyproject_lists_every_package_that_exists():
    # A mapped folder is invisible to packages.find, so the list is explicit: a new
    # package missing from it would be left out of the wheel without a word.
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = {folder: name for name, folder in setuptools["package-dir"].items()}
    found = set()
    for top in ["clusterctl_py", *mapping]:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            head = next((f for f in mapping if rel == f or rel.startswith(f + "/")), None)
            name = mapping[head] + rel[len(head):].replace("/", ".") if head else rel.replace("/", ".")
            found.add(name)
    assert set(setuptools["packages"]) == found
    assert not any(p == "providers" or p.startswith("providers.") for p in setuptools["packages"])
