"""The Pulumi programs behind `up`, `preview` and `destroy`, shipped in the package.

Each of `management`, `capi`, `cluster` and `platform` is one whole program: its
`main()` reads the stack config, builds the resources and exports the
outputs. The CLI points each project's `main` (Pulumi.yaml) at the module
file and has Pulumi run it with the CLI's own interpreter, so `pip install`
is all it takes; `stacks/<name>/__main__.py` call the same `main()` for
people who run `pulumi up` themselves.

This module stays free of pulumi imports: the CLI reads it before it knows
whether it will run anything.
"""

from __future__ import annotations

from pathlib import Path

# program -> Pulumi project name; StackReferences are <org>/<project>/<stack>.
PROJECTS = {
    "management": "clusterctl-management",
    "capi": "clusterctl-capi",
    "cluster": "clusterctl-cluster",
    "platform": "clusterctl-platform",
}


def program_file(program: str) -> Path:
    """The module Pulumi runs for `program` (a file as project `main` is allowed:
    pulumi/pulumi pkg/engine/project.go getPwdMain runs its folder with the file as entry point)."""
    if program not in PROJECTS:
        raise KeyError(program)
    return Path(__file__).resolve().with_name(f"{program}.py")


def qualified_stack(value: str, program: str, organization: str | None) -> str:
    """`<org>/<project>/<stack>` as given, or a bare stack name completed with
    this run's organisation and the program's project."""
    if "/" in value:
        return value
    return f"{organization or 'organization'}/{PROJECTS[program]}/{value}"
