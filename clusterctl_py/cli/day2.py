"""Day-2 operations against the live APIs: what a platform team runs on clusters that exist.

Commands here talk to the management cluster and to Hetzner through
`clusterctl_py.clients` only; they never hold an SDK object.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from clusterctl_py.cli import PlatformFile, load_spec
from clusterctl_py.cli.cluster import Org
from clusterctl_py.errors import ClusterctlError, Problem, SpecError

app = typer.Typer()
describe_app = typer.Typer(help="Show what the objects of a cluster are doing.", no_args_is_help=True)
app.add_typer(describe_app, name="describe")


# --- scale ---------------------------------------------------------------------

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the change to the file; write and apply nothing.")]


@app.command()
def scale(
    name: Annotated[str, typer.Argument(help="Workload cluster, as in the spec's clusters[].name.")],
    pool: Annotated[str, typer.Argument(help="Pool, as in the cluster's pools[].name.")],
    min_: Annotated[Optional[int], typer.Option("--min", help="New lower bound of the autoscaler.", show_default=False)] = None,
    max_: Annotated[Optional[int], typer.Option("--max", help="New upper bound of the autoscaler.", show_default=False)] = None,
    file: PlatformFile = Path("platform.yaml"),
    dry_run: DryRun = False,
    org: Org = None,
) -> None:
    """Change a pool's autoscaler bounds in platform.yaml, then apply that one cluster's stack.

    Only min/max change in the file (comments and layout stay); the cluster-autoscaler keeps
    owning the replica count. Bounds the spec refuses are refused before anything is written.
    """
    from clusterctl_py import spec_edit
    from clusterctl_py.cli.cluster import run_stacks, stack_engine
    from clusterctl_py.ops import scale as scale_ops

    change = scale_ops.prepare(file, name, pool, min_, max_)
    if dry_run:
        typer.echo(change.edited.diff() or f"{file}: already {change.summary()}; nothing to write")
        return
    # Token, pulumi and organisation are checked before the file is touched.
    engine, organization = stack_engine("up", change.edited.spec, file, name, org)
    if change.changed:
        spec_edit.write(change.edited)
        typer.echo(f"{file}: {change.summary()}")
    else:
        typer.echo(f"{file}: already {change.summary()}; applying the cluster's stack")
    run_stacks("up", change.edited.spec, file, name, engine, organization, parallel=1, with_platforms=False)


# --- upgrade -------------------------------------------------------------------

upgrade_app = typer.Typer(
    help="Kubernetes upgrades of the workload clusters, one minor at a time: plan, then apply.", no_args_is_help=True
)
app.add_typer(upgrade_app, name="upgrade")

Kubeconfig = Annotated[
    Optional[Path],
    typer.Option("--kubeconfig", help="The management cluster's kubeconfig. Default: KUBECONFIG, else the management stack's output."),
]


@upgrade_app.command("plan")
def upgrade_plan(file: PlatformFile = Path("platform.yaml"), kubeconfig: Kubeconfig = None, org: Org = None) -> None:
    """What each workload cluster runs and may move to next; the management cluster against the pins.

    Per workload cluster: the version in platform.yaml, what the control plane and the machines
    run, and the next version (one minor at a time). Then the Cluster API providers (clusterctl's
    inventory), cert-manager and k3s of the management cluster against the pinned versions.
    """
    from clusterctl_py.ops import upgrade as upgrade_ops

    spec = load_spec(file)
    with _management_api(kubeconfig, file, org) as api:
        reader = upgrade_ops.default_reader(spec, api)
        clusters = [upgrade_ops.plan_cluster(c, reader.cluster(c.name, c.ns)) for c in spec.clusters]
        management = upgrade_ops.plan_management(spec, reader.management())
    for line in upgrade_ops.render_plan(clusters, management):
        typer.echo(line)


@upgrade_app.command("apply")
def upgrade_apply(
    file: PlatformFile = Path("platform.yaml"),
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="Only this workload cluster. Default: each, one after the other.")] = None,
    management: Annotated[
        bool, typer.Option("--management", help="The management cluster's k3s instead (through system-upgrade-controller).")
    ] = False,
    to: Annotated[
        Optional[str],
        typer.Option("--to", help="Target version, e.g. v1.34.2 (with --management a k3s release, e.g. v1.34.1+k3s1). "
                     "Default: the plan's next version.", show_default=False),
    ] = None,
    org: Org = None,
    kubeconfig: Kubeconfig = None,
    poll: Annotated[float, typer.Option("--poll", min=0, help="Seconds between looks at the rollout.")] = 20.0,
    timeout: Annotated[float, typer.Option("--timeout", min=0, help="Minutes to follow one cluster's rollout.")] = 180.0,
) -> None:
    """Move workload clusters to their next version and follow the rollout to the last machine.

    Writes the version into platform.yaml, applies the cluster's stack, then follows the rollout
    (control plane first, then each pool). Run it again after an interruption: a rollout under way
    is followed, never bumped a second time. With --management, the same for the management
    cluster's k3s: management.k3sVersion, the capi stack (its upgrade Plan), then each server.
    """
    from clusterctl_py.cli.cluster import run_stacks, stack_engine
    from clusterctl_py.errors import Problem, SpecError
    from clusterctl_py.ops import upgrade as upgrade_ops

    class Stacks:
        def prepare(self, spec, cluster_name):
            self.engine, self.organization = stack_engine("up", spec, file, cluster_name, org)

        def up(self, spec, cluster_name):
            run_stacks("up", spec, file, cluster_name, self.engine, self.organization, parallel=1, with_platforms=False)

        def up_capi(self, spec):
            run_stacks("up", spec, file, None, self.engine, self.organization, parallel=1, capi_only=True)

    if management and cluster:
        raise SpecError([Problem("--management", "cannot be combined with --cluster: the management cluster's k3s and a workload"
                                 " cluster are upgraded one at a time")])
    spec = load_spec(file)
    names = [spec.cluster(cluster).name] if cluster else [c.name for c in spec.clusters]
    options = dict(poll=poll, timeout=timeout * 60)
    with _management_api(kubeconfig, file, org) as api:
        reader, note = upgrade_ops.default_reader(spec, api), lambda line: typer.echo(line, err=True)
        if management:
            upgrade_ops.apply_k3s(file, spec, to, reader, Stacks(), typer.echo, note, **options)
        else:
            upgrade_ops.apply(file, spec, names, to, reader, Stacks(), typer.echo, note, **options)


# --- kubeconfig, describe: reads of the management cluster ----------------------

Namespace = Annotated[
    Optional[str],
    typer.Option("--namespace", "-n", help="Namespace of the Cluster. Default: the one namespace holding a Cluster of that name."),
]
ClusterName = Annotated[str, typer.Argument(help="Name of the workload cluster (its Cluster object).")]


def _management_api(kubeconfig: Path | None, file: Path, org: str | None):
    """The management cluster's API client; notes about retries go to stderr."""
    from clusterctl_py.clients import kube
    from clusterctl_py.ops import engine as engine_mod
    from clusterctl_py.ops.access import management_kubeconfig

    config = management_kubeconfig(
        flag=kubeconfig, environ=os.environ, platform_file=file, org=org, engine=lambda: engine_mod.default_engine("")
    )
    return kube.default_client(config, on_retry=lambda message: typer.echo(f"note: {message}", err=True))


@app.command("kubeconfig")
def kubeconfig_command(
    name: ClusterName,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o",
            help="File to write it to (mode 0600; a new directory is made 0700), or - for stdout. "
            "Default: $XDG_CONFIG_HOME/clusterctl-py/NAME.kubeconfig (~/.config/clusterctl-py/NAME.kubeconfig).",
            show_default=False,
        ),
    ] = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """Get a workload cluster's admin kubeconfig from the management cluster (Secret NAME-kubeconfig).

    It is written to a file only you can read; it reaches stdout only with -o -.
    """
    from clusterctl_py.ops import kubeconfig as kubeconfig_ops
    from clusterctl_py.ops.access import locate_cluster

    with _management_api(kubeconfig, file, org) as api:
        cluster = locate_cluster(api, name, namespace)
        text = kubeconfig_ops.read(api, cluster)
    if output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    target = Path(output) if output else kubeconfig_ops.default_path(cluster.name, os.environ)
    try:
        kubeconfig_ops.write_private(target, text, private_parent=output is None)
    except OSError as exc:
        raise ClusterctlError(f"cannot write {target}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {target} (mode 0600); use it with: export KUBECONFIG={target}", err=True)



class Format(str, Enum):
    text = "text"
    json = "json"


PROBLEMS_SHOWN = 10


@describe_app.command("cluster")
def describe_cluster(
    name: ClusterName,
    output: Annotated[Format, typer.Option("--output", "-o", help="text (a tree) or json.")] = Format.text,
    show_machines: Annotated[
        bool, typer.Option("--show-machines", help="List every machine instead of grouping machines in the same state.")
    ] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """Show a workload cluster as a tree: Cluster, infrastructure, control plane, each pool, machines, add-ons, autoscaler.

    Exit code 0 when every object is Available/Ready, 1 when not (each problem on stderr).
    The number of API requests does not grow with the number of machines.
    """
    import json
    from datetime import datetime, timezone

    from clusterctl_py.ops import describe

    with _management_api(kubeconfig, file, org) as api:
        state = describe.read_state(api, name, namespace)
    tree = describe.build_tree(state, show_machines=show_machines)
    if output is Format.json:
        typer.echo(json.dumps(describe.to_json(tree, state.notes), indent=2))
    else:
        typer.echo(describe.render_text(tree, datetime.now(timezone.utc)), nl=False)
        for note in state.notes:
            typer.echo(f"note: {note}", err=True)
    found = describe.problems(tree)
    if found:
        shown = found[:PROBLEMS_SHOWN]
        if len(found) > len(shown):
            shown.append(f"... and {len(found) - len(shown)} more (-o json lists them all)")
        where = f"{state.cluster.namespace}/{state.cluster.name}"
        raise ClusterctlError("\n".join([f"cluster {where} is not healthy:", *(f"  {p}" for p in shown)]))


# --- preflight -----------------------------------------------------------------


@app.command()
def preflight(
    file: PlatformFile = Path("platform.yaml"),
    cluster: Annotated[
        Optional[str], typer.Option("--cluster", help="Only what this workload cluster's stack creates.")
    ] = None,
    server_limit: Annotated[
        Optional[int],
        typer.Option("--server-limit", min=1, help="Your project's server limit (Hetzner Console, Limits): the API does not report it."),
    ] = None,
) -> None:
    """Check the spec against your Hetzner project before anything is created; exit 2 with one line per problem.

    Needs HCLOUD_TOKEN (HCLOUD_ENDPOINT to target another Hetzner-compatible API).
    Checks that the token works and may write, that every server type exists, is
    not deprecated and is available in its location, that the image exists for
    every architecture, that the SSH keys exist, that the names the plan creates
    are free, and how many servers the plan adds to what the project runs.
    """
    import os

    from clusterctl_py.clients.hetzner import default_api
    from clusterctl_py.ops.plan import check_token
    from clusterctl_py.ops.preflight import preflight as check

    spec = load_spec(file)
    token = check_token(os.environ.get("HCLOUD_TOKEN"))
    report = check(spec, default_api(token), cluster=cluster, server_limit=server_limit)
    typer.echo(f"preflight of {file} against {report.endpoint}:")
    for note in report.notes:
        typer.echo(f"  {note}")
    if report.problems:
        raise SpecError(report.problems)
    typer.echo("ready: nothing found in the project stands in the way of `up`")


# --- cleanup -------------------------------------------------------------------


@app.command()
def cleanup(
    name: Annotated[
        Optional[str],
        typer.Argument(help="The workload cluster; with --management the management cluster (default: management.name of -f).",
                       show_default=False),
    ] = None,
    management: Annotated[
        bool, typer.Option("--management", help="Find the management cluster's servers, IPs, firewall, placement group and network.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete what is found. Without it nothing is deleted (a dry run).")] = False,
    file: PlatformFile = Path("platform.yaml"),
) -> None:
    """Find what a deleted or failed cluster left in your Hetzner project, and delete it with --yes.

    Finds the objects by the labels their makers put on them, never by a name prefix:
    CAPH's servers, control-plane load balancer, placement groups and network
    (caph-cluster-NAME=owned), the Hetzner CCM's load balancers on that network, the CSI
    driver's volumes (clusterctl-py.dev/cluster=NAME); with --management, what the
    management stack made (clusterctl-py.dev/management=NAME). Shows them with their
    monthly price; deletes only with --yes. Needs HCLOUD_TOKEN (HCLOUD_ENDPOINT to
    target another Hetzner-compatible API).
    """
    import os

    from clusterctl_py import providers
    from clusterctl_py.clients.hetzner import default_api
    from clusterctl_py.ops import cleanup as ops
    from clusterctl_py.ops.plan import check_token

    if name is None:
        if not management:
            raise SpecError([Problem("NAME", "missing: name the workload cluster to clean up, or pass --management")])
        spec = load_spec(file)
        name, provider = spec.management.name, spec.provider
    else:
        # The Hetzner client below: its provider knows the labels.
        name, provider = ops.check_name(name), providers.get("hetzner")
    api = default_api(check_token(os.environ.get("HCLOUD_TOKEN")))
    found = ops.find(api, provider, name, management=management)
    for note in found.notes:
        typer.echo(f"note: {note}", err=True)
    if not found.objects:
        typer.echo(f"nothing of {found.target} in {found.endpoint}; looked for {found.looked_for()}")
        return
    typer.echo(f"{found.target} left in {found.endpoint}:")
    for line in ops.table(found):
        typer.echo(f"  {line}")
    if not management:
        typer.echo(
            f"warning: CAPH recreates the servers of a Cluster still defined in the management cluster: if {name} is,"
            f" run `clusterctl-py destroy --cluster {name}` first, or this cleanup is undone",
            err=True,
        )
    if not yes:
        typer.echo(f"dry run: nothing was deleted; run again with --yes to delete these {len(found.objects)} objects")
        return
    typer.echo(f"deleting {len(found.objects)} objects:")
    ops.delete(api, found, lambda line: typer.echo(f"  {line}"))
    typer.echo(f"done: all {len(found.objects)} deleted")
