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


@app.command()
def cost(file: PlatformFile = Path("platform.yaml")) -> None:
    """Estimate the monthly cost (EUR, list prices) at minimum and at maximum scale."""
    from clusterctl_py.cost import monthly_estimate

    estimate = monthly_estimate(load_spec(file))
    width = max(len(line.item) for line in estimate.lines)
    typer.echo(f"{'item':<{width}}  {'count':>7}  {'EUR/unit':>8}  {'min EUR':>8}  {'max EUR':>8}")
    for line in estimate.lines:
        count = f"{line.count_min}" if line.count_min == line.count_max else f"{line.count_min}-{line.count_max}"
        typer.echo(f"{line.item:<{width}}  {count:>7}  {line.unit_eur:>8.2f}  {line.min_eur:>8.2f}  {line.max_eur:>8.2f}")
    typer.echo(f"{'total per month':<{width}}  {'':>7}  {'':>8}  {estimate.min_eur:>8.2f}  {estimate.max_eur:>8.2f}")
    typer.echo(f"List prices without VAT as of {estimate.prices_taken_on}; traffic, volumes and app load balancers extra.")


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
    from clusterctl_py.render.cluster_autoscaler import render_cluster_autoscaler

    # The autoscaler runs in the management cluster beside the cluster's objects.
    text = dump_all([*render_cluster(spec, cluster), *render_cluster_autoscaler(spec, cluster)], header=header)
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


ClusterOpt = Annotated[Optional[str], typer.Option("--cluster", help="Only this workload cluster's stack.")]
Org = Annotated[
    Optional[str],
    typer.Option(
        "--org",
        help="Pulumi Cloud organisation of the stacks and their references. Default: PULUMI_DEFAULT_ORGANIZATION, "
        "else `pulumi org get-default`, else your user; self-managed backends always use 'organization'.",
        show_default=False,
    ),
]
Parallel = Annotated[
    int, typer.Option("--parallel", min=1, help="How many workload cluster stacks run at the same time.")
]

PULUMI_MISSING = (
    "the pulumi CLI is not installed or not on PATH; install it (https://www.pulumi.com/docs/install/), "
    "up/preview/destroy drive it through the Automation API"
)


def _run(action: str, file: Path, cluster: str | None, org: str | None, parallel: int, confirm=None) -> None:
    import shutil

    from clusterctl_py.errors import SpecError
    from clusterctl_py.ops import engine as engine_mod
    from clusterctl_py.ops.plan import check_api_reachable, check_token, plan
    from clusterctl_py.ops.runner import execute, summary

    spec = load_spec(file)
    # Every check before anything is touched.
    try:
        if action == "up":
            check_api_reachable(spec, str(file))
        if cluster is not None:
            spec.cluster(cluster)
        token = check_token(os.environ.get("HCLOUD_TOKEN"))
    except SpecError as err:
        fail(err.render().splitlines())
    if shutil.which("pulumi") is None:
        fail(PULUMI_MISSING)
    if confirm is not None:
        confirm()
    engine = engine_mod.default_engine(token)
    try:
        organization = engine.organization(org)
    except engine_mod.EngineError as exc:
        fail(str(exc))
    results = execute(action, plan(spec, action, file, org=organization, cluster=cluster), engine, parallel=parallel)
    typer.echo(f"{action} in {organization}:")
    for line in summary(action, results):
        typer.echo(line)
    if any(r.failed for r in results):
        fail([f"stack {r.run.stack} failed during {action}: {r.detail}" for r in results if r.status == "failed"], code=1)


@app.command()
def up(file: PlatformFile = Path("platform.yaml"), cluster: ClusterOpt = None, org: Org = None, parallel: Parallel = 4) -> None:
    """Create or update everything: management cluster, Cluster API, then the workload clusters side by side.

    Needs the pulumi CLI (logged in) and HCLOUD_TOKEN. Re-running with an unchanged spec changes nothing.
    """
    _run("up", file, cluster, org, parallel)


@app.command()
def preview(file: PlatformFile = Path("platform.yaml"), cluster: ClusterOpt = None, org: Org = None, parallel: Parallel = 4) -> None:
    """Show what `up` would change, stack by stack, without changing anything (and which stacks it would create)."""
    _run("preview", file, cluster, org, parallel)


@app.command()
def destroy(
    file: PlatformFile = Path("platform.yaml"),
    cluster: ClusterOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    org: Org = None,
    parallel: Parallel = 4,
) -> None:
    """Delete the workload clusters first (so their servers go), then Cluster API, then the management cluster.

    Only existing stacks are touched; a missing one is reported and skipped.
    """

    def confirm() -> None:
        if yes:
            return
        if not sys.stdin.isatty():
            fail("destroy deletes servers and data; pass --yes to confirm when not running interactively")
        what = f"cluster {cluster}" if cluster else "every cluster and the management cluster"
        if not typer.confirm(f"Destroy {what} defined in {file}?"):
            fail("destroy cancelled")

    _run("destroy", file, cluster, org, parallel, confirm=confirm)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
