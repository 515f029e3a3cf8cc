"""The `clusterctl-py` command line: the root app, options shared by every group, and `main`.

Commands stay thin: parse flags, call the library, print. They live in one
module per group (cluster lifecycle, day-2), joined here with `add_typer`.
Heavy modules (pulumi, kubernetes, hcloud) are imported inside the commands
that need them, so `--help` answers instantly.

Every error of ours derives from `ClusterctlError`; the root group catches it
once and prints one `error:` line per problem, exiting with its code (2 for
bad input, 1 for a failure), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from typer.core import TyperGroup

from clusterctl_py import __version__
from clusterctl_py.errors import EXIT_BAD_INPUT, ClusterctlError

__all__ = ["app", "main", "fail", "load_spec", "PlatformFile", "EXIT_BAD_INPUT"]


class _Root(TyperGroup):
    """The one place our errors become messages and exit codes (CliRunner goes through it too)."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except ClusterctlError as err:
            for line in err.lines():
                typer.echo(f"error: {line}", err=True)
            ctx.exit(err.exit_code)


app = typer.Typer(
    name="clusterctl-py",
    cls=_Root,
    help="Cluster API lifecycle manager for Hetzner Cloud: render, create and run Kubernetes clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PlatformFile = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        help="Platform spec (YAML). See examples/platform.yaml.",
        envvar="CLUSTERCTL_PY_FILE",
        show_default=True,
    ),
]


def fail(lines: str | list[str], code: int = EXIT_BAD_INPUT) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def load_spec(path: Path):
    """The validated spec; a SpecError reaches the root group, which prints it and exits 2."""
    from clusterctl_py import spec

    return spec.load(path)


def _version(value: bool) -> None:
    if value:
        from clusterctl_py import versions

        typer.echo(f"clusterctl-py {__version__} (Cluster API {versions.CAPI}, CAPH {versions.CAPH})")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Cluster API lifecycle manager for Hetzner Cloud."""


def _register() -> None:
    # Imported here: the group modules import this one for the shared options.
    from clusterctl_py.cli import apps, cluster, day2

    # Without a name, a group's commands join the root (`clusterctl-py up`, not `clusterctl-py cluster up`).
    app.add_typer(cluster.app)
    app.add_typer(day2.app)
    app.add_typer(apps.app)  # `clusterctl-py app ...`


_register()


def main() -> None:
    app()
