"""Cluster lifecycle: validate, cost, generate (offline), and up, preview, destroy (through Pulumi)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from clusterctl_py import __version__
from clusterctl_py.cli import PlatformFile, fail, load_spec

app = typer.Typer()
generate_app = typer.Typer(
    help="Render manifests offline, without a token or a cluster.", no_args_is_help=True
)
app.add_typer(generate_app, name="generate")


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
def cost(
    file: PlatformFile = Path("platform.yaml"),
    live: Annotated[
        bool, typer.Option("--live", help="Prices from the Hetzner API (needs HCLOUD_TOKEN), net and gross, instead of the offline catalog.")
    ] = False,
) -> None:
    """Estimate the monthly cost at minimum and at maximum scale (offline list prices, or the API's with --live)."""
    from clusterctl_py.cost import monthly_estimate

    spec = load_spec(file)
    gross = found = None
    if live:
        from clusterctl_py.clients.hetzner import default_api
        from clusterctl_py.ops.plan import check_token
        from clusterctl_py.ops.prices import live_prices

        found = live_prices(spec, default_api(check_token(os.environ.get("HCLOUD_TOKEN"))))
        estimate, gross = monthly_estimate(spec, found.net), monthly_estimate(spec, found.gross)
    else:
        estimate = monthly_estimate(spec)
    prices = estimate.prices
    cur = prices.currency
    width = max(len(line.item) for line in estimate.lines)
    typer.echo(f"{'item':<{width}}  {'count':>7}  {cur + '/unit':>8}  {'min ' + cur:>8}  {'max ' + cur:>8}")
    for line in estimate.lines:
        count = f"{line.count_min}" if line.count_min == line.count_max else f"{line.count_min}-{line.count_max}"
        typer.echo(f"{line.item:<{width}}  {count:>7}  {line.unit_eur:>8.2f}  {line.min_eur:>8.2f}  {line.max_eur:>8.2f}")
    if gross is None:
        typer.echo(f"{'total per month':<{width}}  {'':>7}  {'':>8}  {estimate.min_eur:>8.2f}  {estimate.max_eur:>8.2f}")
    else:
        typer.echo(f"{'total per month, net':<{width}}  {'':>7}  {'':>8}  {estimate.min_eur:>8.2f}  {estimate.max_eur:>8.2f}")
        typer.echo(f"{'total per month, gross':<{width}}  {'':>7}  {'':>8}  {gross.min_eur:>8.2f}  {gross.max_eur:>8.2f}")
    vat = f"{prices.vat_note}, gross totals with the VAT rate the API gives ({found.vat_rate}%)" if found else prices.vat_note
    typer.echo(f"{cur}, {vat}, from the {prices.source}; traffic, volumes and load balancers of your own Services extra.")
    for machine_type, location, now, catalog in found.differences if found else ():
        typer.echo(f"note: {machine_type} in {location} costs {now:.2f} net per month, the offline catalog says {catalog:.2f}")


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
    from clusterctl_py.render import dump_all, render_cluster

    spec = load_spec(file)
    cluster = spec.cluster(name)
    header = (
        f"Cluster {cluster.name}, rendered by clusterctl-py {__version__} from {file.name}.\n"
        f"Needs the secret '{spec.provider.credentials_secret}' (key '{spec.provider.credentials_key}': "
        f"a Hetzner API token) in namespace '{cluster.ns}'."
    )
    from clusterctl_py.render.cluster_autoscaler import render_cluster_autoscaler

    # The autoscaler runs in the management cluster beside the cluster's objects.
    text = dump_all([*render_cluster(spec, cluster), *render_cluster_autoscaler(spec, cluster)], header=header)
    _emit(text, output, f"{cluster.name}.yaml")


@generate_app.command("platform")
def generate_platform(
    name: Annotated[str, typer.Argument(help="Cluster name, as in the spec's clusters[].name; it needs a platform section.")],
    file: PlatformFile = Path("platform.yaml"),
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="Directory to write <name>-platform.yaml into, instead of stdout."),
    ] = None,
) -> None:
    """Render the platform objects of one workload cluster (Knative, issuers, options) as YAML.

    Upstream bundles the platform stack also installs (cert-manager, the
    Knative operator, ...) are named in the header, not rendered.
    """
    from clusterctl_py.render import dump_all
    from clusterctl_py.render.platform import render_platform, upstream_bundles

    spec = load_spec(file)
    cluster = spec.cluster(name)
    objs = render_platform(spec, cluster)
    header = "\n".join(
        [f"Platform of cluster {cluster.name}, rendered by clusterctl-py {__version__} from {file.name}.", "Installed before or beside these:"]
        + [f"  {bundle}" for bundle in upstream_bundles(spec, cluster)]
    )
    _emit(dump_all(objs, header=header), output, f"{cluster.name}-platform.yaml")


def _emit(text: str, output: Path | None, filename: str) -> None:
    """Rendered YAML to stdout, or atomically into `output`/`filename`."""
    if output is None:
        sys.stdout.write(text)
        return
    target = output / filename
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


ClusterOpt = Annotated[Optional[str], typer.Option("--cluster", help="Only this workload cluster's stack and its platform stack.")]
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
    int, typer.Option("--parallel", min=1, help="How many workload cluster (or platform) stacks run at the same time.")
]

PULUMI_MISSING = (
    "the pulumi CLI is not installed or not on PATH; install it (https://www.pulumi.com/docs/install/), "
    "up/preview/destroy drive it through the Automation API"
)


def _preflight(spec, token: str, cluster: str | None) -> None:
    """`preflight` before `up` touches anything; its problems stop `up` with exit 2."""
    from clusterctl_py.clients.hetzner import default_api
    from clusterctl_py.errors import Problem, SpecError
    from clusterctl_py.ops.preflight import preflight

    report = preflight(spec, default_api(token), cluster=cluster)
    if report.problems:
        hint = Problem("", "preflight: nothing was created; fix the above, or run `up --skip-preflight` to try anyway")
        raise SpecError([*report.problems, hint])
    typer.echo(f"preflight: passed against {report.endpoint}", err=True)


def stack_engine(action: str, spec, file: Path, cluster: str | None, org: str | None, confirm=None,
                 preflight: bool = False):
    """Every check before anything is touched; then the engine and the organisation the stacks live in."""
    import shutil

    from clusterctl_py.ops import engine as engine_mod
    from clusterctl_py.ops.plan import check_api_reachable, check_token

    if action == "up":
        check_api_reachable(spec, str(file))
    if cluster is not None:
        spec.cluster(cluster)
    token = check_token(os.environ.get("HCLOUD_TOKEN"))
    if shutil.which("pulumi") is None:
        fail(PULUMI_MISSING)
    if confirm is not None:
        confirm()
    engine = engine_mod.default_engine(token)
    try:
        organization = engine.organization(org)
    except engine_mod.EngineError as exc:
        fail(str(exc))  # nothing ran yet: the organisation given or found is not usable
    if preflight:
        # After the local prerequisites (pulumi CLI, login, organisation), before any stack runs.
        _preflight(spec, token, cluster)
    return engine, organization


def run_stacks(
    action: str, spec, file: Path, cluster: str | None, engine, organization: str, parallel: int, capi_only: bool = False,
    with_platforms: bool = True,
) -> None:
    """Run the plan's stacks, print one line per stack, exit 1 if one failed."""
    from clusterctl_py.ops.plan import plan
    from clusterctl_py.ops.runner import execute, summary

    phases = plan(spec, action, file, org=organization, cluster=cluster, capi_only=capi_only, with_platforms=with_platforms)
    results = execute(action, phases, engine, parallel=parallel)
    typer.echo(f"{action} in {organization}:")
    for line in summary(action, results):
        typer.echo(line)
    if any(r.failed for r in results):
        fail([f"stack {r.run.stack} failed during {action}: {r.detail}" for r in results if r.status == "failed"], code=1)


def _run(action: str, file: Path, cluster: str | None, org: str | None, parallel: int, confirm=None,
         preflight: bool = False) -> None:
    spec = load_spec(file)
    engine, organization = stack_engine(action, spec, file, cluster, org, confirm, preflight=preflight)
    if action == "preview":
        from clusterctl_py.ops.runner import left_platforms

        # What would stop `up`; the preview itself goes on.
        for problem in left_platforms(spec, file, engine, org=organization, cluster=cluster):
            typer.echo(f"note: `up` would refuse: {problem}", err=True)
    run_stacks(action, spec, file, cluster, engine, organization, parallel)


SkipPreflight = Annotated[
    bool, typer.Option("--skip-preflight", help="Do not check the spec against the Hetzner project first (see `preflight`).")
]
Poll = Annotated[float, typer.Option("--poll", min=0, help="Seconds between looks at a Kubernetes version rollout `up` waits for.")]


@app.command()
def up(
    file: PlatformFile = Path("platform.yaml"),
    cluster: ClusterOpt = None,
    org: Org = None,
    parallel: Parallel = 4,
    skip_preflight: SkipPreflight = False,
    poll: Poll = 20.0,
) -> None:
    """Create or update everything: management cluster, Cluster API, the workload clusters side by side, then
    the app platform of each cluster that has a `platform` section (one platform stack per cluster).

    Needs the pulumi CLI (logged in) and HCLOUD_TOKEN. Runs `preflight` first. Re-running with an unchanged
    spec changes nothing. A cluster whose Kubernetes version changes is followed until every machine runs it;
    a version change during a rollout is refused before anything runs. With --cluster: that cluster's stack,
    then its platform stack. A platform stack whose section was removed from the spec stops `up` (it never
    deletes a platform).
    """
    from clusterctl_py.clients import kube
    from clusterctl_py.errors import SpecError
    from clusterctl_py.ops import upgrade
    from clusterctl_py.ops.runner import left_platforms

    spec = load_spec(file)
    engine, organization = stack_engine("up", spec, file, cluster, org, preflight=not skip_preflight)
    left = left_platforms(spec, file, engine, org=organization, cluster=cluster)
    if left:
        raise SpecError(left, str(file))

    def note(line: str) -> None:
        typer.echo(line if line.startswith(tuple(f"{c.name}: " for c in spec.clusters)) else f"note: {line}", err=True)

    with upgrade.watching_up(
        spec, [spec.cluster(cluster).name] if cluster else [c.name for c in spec.clusters],
        kubeconfig=lambda: upgrade.up_kubeconfig(spec, file, organization, engine),
        connect=lambda config: kube.default_client(config, on_retry=lambda message: typer.echo(f"note: {message}", err=True)),
        note=note,
        source=str(file),
        k3s=cluster is None,
    ) as watch:
        run_stacks("up", spec, file, cluster, engine, organization, parallel)
        upgrade.wait_after_up(spec, watch, typer.echo, note, poll=poll)


@app.command()
def preview(file: PlatformFile = Path("platform.yaml"), cluster: ClusterOpt = None, org: Org = None, parallel: Parallel = 4) -> None:
    """Show what `up` would change, stack by stack (platform stacks included), without changing anything.

    Says which stacks it would create; a platform stack whose cluster does not exist yet cannot be
    previewed until `up` creates the cluster.
    """
    _run("preview", file, cluster, org, parallel)


@app.command()
def destroy(
    file: PlatformFile = Path("platform.yaml"),
    cluster: ClusterOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    org: Org = None,
    parallel: Parallel = 4,
) -> None:
    """Delete the platform stacks first (their load balancer and volumes go while the clusters run), then the
    workload clusters (so their servers go), then Cluster API, then the management cluster.

    Only existing stacks are touched; a missing one is reported and skipped. A platform stack left by a cluster
    whose `platform` section was removed is found and destroyed too. With --cluster: that cluster's platform
    stack, then its cluster stack. Apps made with `clusterctl-py app deploy` are not in any stack.
    """
    spec = load_spec(file)
    if any(c.platform is not None for c in spec.clusters if cluster is None or c.name == cluster):
        # `app deploy` objects are in no stack, and the CSI driver deletes a volume only while its cluster runs.
        typer.echo("note: apps (`clusterctl-py app deploy`) are not part of the platform stack, and their databases' volumes"
                   " are deleted by the CSI driver only while the cluster runs:", err=True)
        typer.echo("note: run `clusterctl-py app delete NAME --cluster CLUSTER --yes` (or delete their namespaces) first;"
                   " `clusterctl-py cleanup CLUSTER` finds volumes left behind", err=True)

    def confirm() -> None:
        if yes:
            return
        if not sys.stdin.isatty():
            fail("destroy deletes servers and data; pass --yes to confirm when not running interactively")
        what = f"cluster {cluster}" if cluster else "every cluster and the management cluster"
        if not typer.confirm(f"Destroy {what} defined in {file}?"):
            fail("destroy cancelled")

    _run("destroy", file, cluster, org, parallel, confirm=confirm)


