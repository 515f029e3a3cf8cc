"""The `clusterctl-py` command line.

Commands stay thin: parse flags, call the library, print. Heavy modules
(pulumi, kubernetes, hcloud) are imported inside the commands that need
them, so `--help` answers instantly.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from clusterctl_py import __version__

app = typer.Typer(
    name="clusterctl-py",
    help="Cluster API lifecycle manager for Hetzner Cloud: render, create and run Kubernetes clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
generate_app = typer.Typer(
    help="Render manifests offline, without a token or a cluster.", no_args_is_help=True
)
app.add_typer(generate_app, name="generate")

EXIT_BAD_INPUT = 2

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
    from clusterctl_py import spec
    from clusterctl_py.errors import SpecError

    try:
        return spec.load(path)
    except SpecError as err:
        fail(err.render().splitlines())


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


@app.command()
def validate(file: PlatformFile = Path("platform.yaml")) -> None:
    """Check a platform spec and print a summary; exit 2 with one line per problem."""
    spec = load_spec(file)
    typer.echo(f"{file}: valid ({len(spec.clusters)} cluster(s))")
    for cluster in spec.clusters:
        pools = ", ".join(f"{p.name} {p.server_type} {p.min}-{p.max}" for p in cluster.pools)
        typer.echo(
            f"  {cluster.name}: Kubernetes {cluster.kubernetes_version} in {spec.location_of(cluster)}, "
            f"control plane {cluster.control_plane.replicas}x {cluster.control_plane.server_type}; pools: {pools}"
        )


@generate_app.command("cluster")
def generate_cluster(
    name: Annotated[str, typer.Argument(help="Cluster name, as in the spec's clusters[].name.")],
    file: PlatformFile = Path("platform.yaml"),
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="Directory to write <name>.yaml into, instead of stdout."),
    ] = None,
) -> None:
    """Render one workload cluster's Cluster API objects as multi-document YAML.

    The output is what a management cluster needs (plus the `hcloud` token
    secret, which is never rendered). Same spec, byte-identical output.
    """
    from clusterctl_py.errors import SpecError
    from clusterctl_py.render import dump_all, render_cluster

    spec = load_spec(file)
    try:
        cluster = spec.cluster(name)
    except SpecError as err:
        fail(err.render().splitlines())
    header = (
        f"Cluster {cluster.name}, rendered by clusterctl-py {__version__} from {file.name}.\n"
        f"Needs the secret 'hcloud' (key 'hcloud': a Hetzner API token) in namespace '{cluster.ns}'."
    )
    text = dump_all(render_cluster(spec, cluster), header=header)
    if output is None:
        sys.stdout.write(text)
        return
    target = output / f"{cluster.name}.yaml"
    try:
        output.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, text)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}", code=1)
    typer.echo(f"wrote {target}", err=True)


def _write_atomic(path: Path, text: str) -> None:
    # A reader (kubectl apply, git) never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> None:
    app()


if __name__ == "__main__":
    main()
