"""`clusterctl-py app ...`: run a container on a workload cluster as a Knative Service, with a database if asked.

Named apps.py, not app.py: a submodule `clusterctl_py.cli.app` would be bound
as an attribute of the package on import, over the root Typer `app` there.

Which cluster, in order: `--kubeconfig FILE`; else `--cluster NAME`, whose
admin kubeconfig is read from the management cluster (Secret
NAME-kubeconfig, as `clusterctl-py kubeconfig` reads it) and kept in memory;
else KUBECONFIG, else ~/.kube/config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from clusterctl_py.cli import PlatformFile
from clusterctl_py.cli.cluster import Org
from clusterctl_py.errors import ClusterctlError, Problem, SpecError

app = typer.Typer(
    name="app",
    help="Run containers on a workload cluster: HTTPS, scale to zero, a Postgres database if asked. "
    "See docs/django.md for a walk-through.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="The app: 1-57 lowercase letters, digits and '-', starting with a letter.", show_default=False)]
Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the app in the workload cluster; deploy needs it to exist "
                                                             "(kubectl create namespace NS).")]
Kubeconfig = Annotated[
    Optional[Path],
    typer.Option("--kubeconfig", help="The workload cluster's kubeconfig. Default: --cluster, else KUBECONFIG, else ~/.kube/config.",
                 show_default=False),
]
Cluster = Annotated[
    Optional[str],
    typer.Option("--cluster", "-c", help="Workload cluster (its name in the spec): its kubeconfig is read from the management "
                 "cluster and kept in memory.", show_default=False),
]
Poll = Annotated[float, typer.Option("--poll", min=0, help="Seconds between looks at the revision.")]
Timeout = Annotated[float, typer.Option("--timeout", min=0, help="Seconds to wait for the revision to be Ready.")]


def _note(line: str) -> None:
    typer.echo(line, err=True)


def _client(kubeconfig: Path | None, cluster: str | None, file: Path, org: str | None):
    """The workload cluster's API client, found as the module docstring says; notes about retries go to stderr."""
    from clusterctl_py.clients import kube

    from clusterctl_py.ops.access import given_kubeconfig

    retry = {"on_retry": lambda message: _note(f"note: {message}")}
    if kubeconfig is not None and cluster:
        raise SpecError([Problem("--cluster", "give --kubeconfig or --cluster, not both")])
    if cluster:
        from clusterctl_py.ops import engine as engine_mod
        from clusterctl_py.ops import kubeconfig as kubeconfig_ops
        from clusterctl_py.ops.access import locate_cluster, management_kubeconfig

        management = management_kubeconfig(
            flag=None, environ=os.environ, platform_file=file, org=org, engine=lambda: engine_mod.default_engine("")
        )
        with kube.default_client(management, **retry) as api:
            found = locate_cluster(api, cluster, None)
            text = kubeconfig_ops.read(api, found)
        origin = f"Secret {found.namespace}/{kubeconfig_ops.secret_name(found.name)}"
        return kube.object_client(kube.Kubeconfig(origin, text=text), **retry)
    given = given_kubeconfig(kubeconfig, os.environ)
    if given is not None:
        return kube.object_client(given, **retry)
    default = Path.home() / ".kube" / "config"
    if not default.is_file():
        raise SpecError([Problem("--kubeconfig", "not given, no --cluster, KUBECONFIG is not set and there is no ~/.kube/config: "
                                                 "pass --cluster NAME (with -f platform.yaml) or --kubeconfig FILE")])
    return kube.object_client(kube.Kubeconfig("~/.kube/config", path=str(default)), **retry)


def _namespace(namespace: str) -> str:
    from clusterctl_py.render.app import namespace_problem

    problem = namespace_problem(namespace)
    if problem:
        raise SpecError([problem])
    return namespace


@app.command()
def deploy(
    name: Name,
    image: Annotated[str, typer.Option("--image", "-i", help="Container image, e.g. ghcr.io/acme/shop:1.4.2 (a tag or @sha256 digest).",
                                       show_default=False)],
    env: Annotated[Optional[List[str]], typer.Option("--env", "-e", help="NAME=VALUE for the container; repeat for more.",
                                                     show_default=False)] = None,
    secret_env: Annotated[Optional[List[str]], typer.Option(
        "--secret-env", "-s", show_default=False,
        help="NAME=VALUE kept in Secret NAME-env and read from there; a bare NAME takes the value of your environment "
        "variable NAME (keeps it out of your shell history). Repeat for more.")] = None,
    env_from_secret: Annotated[Optional[List[str]], typer.Option(
        "--env-from-secret", show_default=False,
        help="Every key of this Secret (which you keep in the app's namespace) becomes an env var; repeat for more. "
        "The way to give a --gitops app its secrets.")] = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port the container listens on (it also gets it as $PORT).")] = 8080,
    min_scale: Annotated[int, typer.Option("--min-scale", help="Pods kept when idle; 0 scales to zero (a cold start on the next request).")] = 0,
    max_scale: Annotated[Optional[int], typer.Option("--max-scale", help="Most pods under load. Default: no limit.", show_default=False)] = None,
    database: Annotated[bool, typer.Option("--database", help="A PostgreSQL database (CloudNativePG, 10 GiB) for the app, as "
                                           "DATABASE_URL. Needs platform.postgres: true.")] = False,
    namespace: Namespace = "default",
    gitops: Annotated[Optional[Path], typer.Option("--gitops", help="Write the manifests into this Flux-watched checkout "
                                                   "(DIR/NAMESPACE/NAME/) instead of applying them.", show_default=False)] = None,
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
    poll: Poll = 2.0,
    timeout: Timeout = 300.0,
) -> None:
    """Create or update an app and wait until it serves; prints its URL.

    Each deploy states the whole app: env vars, secrets and scale bounds not given are removed.
    Running it again with the same flags changes nothing.

    Examples:

      clusterctl-py app deploy shop --image ghcr.io/acme/shop:1.4.2 --cluster prod

      SECRET_KEY=... clusterctl-py app deploy shop -i ghcr.io/acme/shop:1.4.3 --secret-env SECRET_KEY --database --min-scale 1

      clusterctl-py app deploy shop -i ghcr.io/acme/shop:1.4.3 --database --gitops ../fleet/apps
    """
    from clusterctl_py.render.app import app_request

    if gitops is not None:
        from clusterctl_py.apps import gitops as gitops_ops

        gitops_ops.refuse_secrets(secret_env or [])
    req = app_request(
        name, image, namespace=namespace, env=env or [], secret_env=secret_env or [], port=port,
        min_scale=min_scale, max_scale=max_scale, database=database, environ=os.environ,
        env_from_secrets=env_from_secret or [],
    )
    if gitops is not None:
        written = gitops_ops.write(gitops, req)
        where = gitops_ops.folder(gitops, req.namespace, req.name)
        if not written:
            typer.echo(f"{where}: already up to date; nothing written")
        for path in written:
            typer.echo(f"{'wrote' if path.exists() else 'removed'} {path}")
        if written:
            typer.echo(f"commit and push {gitops} for Flux to apply it")
        return
    from clusterctl_py.apps.deploy import deploy as run

    with _client(kubeconfig, cluster, file, org) as api:
        done = run(api, req, say=_note, poll=poll, timeout=timeout)
    if done.url.startswith("http://"):
        _note("note: the URL is plain HTTP: TLS is off for this cluster (platform.tls)")
    typer.echo(done.url)


@app.command("list")
def list_command(
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Only this namespace. Default: default.",
                                                     show_default=False)] = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Apps of every namespace.")] = False,
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """List the apps clusterctl-py deployed: URL, readiness, latest revision and where traffic goes.

    Example: clusterctl-py app list -A --cluster prod
    """
    from clusterctl_py.apps import manage

    if all_namespaces and namespace:
        raise SpecError([Problem("--all-namespaces", "give --namespace or --all-namespaces, not both")])
    where = None if all_namespaces else _namespace(namespace or "default")
    with _client(kubeconfig, cluster, file, org) as api:
        found = manage.list_apps(api, where)
    if not found:
        typer.echo(f"no apps in {'any namespace' if where is None else f'namespace {where}'}")
        return
    rows = [("NAMESPACE", "NAME", "URL", "READY", "LATEST", "TRAFFIC")]
    for a in found:
        ready = a.ready.status if a.ready is not None else "Unknown"
        rows.append((a.namespace, a.name, a.url or "-", ready, a.latest_ready or a.latest_created or "-", a.traffic_text()))
    if where is not None:
        rows = [r[1:] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@app.command()
def status(
    name: Name,
    namespace: Namespace = "default",
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """Show an app: URL, conditions, traffic and its revisions. Exit code 1 when it is not Ready.

    Example: clusterctl-py app status shop --cluster prod
    """
    from clusterctl_py.apps import manage
    from clusterctl_py.apps.knative import condition_text
    from clusterctl_py.render.app import check_name

    check_name(name, namespace)
    with _client(kubeconfig, cluster, file, org) as api:
        state = manage.status(api, name, namespace)
    a = state.app
    typer.echo(f"app {a.namespace}/{a.name}")
    typer.echo(f"  url: {a.url or '(none yet)'}")
    typer.echo(f"  traffic: {', '.join(str(t) for t in a.traffic) or '(none yet)'}")
    typer.echo("  conditions:")
    for c in a.conditions:
        typer.echo(f"    {c.type}: {condition_text(c)}")
    typer.echo("  revisions (newest first):")
    serving = {t.revision: t.percent for t in a.traffic}
    for r in reversed(state.revisions):
        ready = r.ready.status if r.ready is not None else "Unknown"
        created = r.created.strftime("%Y-%m-%d %H:%M:%SZ") if r.created else "-"
        share = f"  {serving[r.name]}%" if r.name in serving else ""
        typer.echo(f"    {r.name}  ready={ready}  created={created}  image={r.image}{share}")
    if not a.is_ready:
        raise ClusterctlError(f"app {a.namespace}/{a.name} is not ready: {condition_text(a.ready)}")


@app.command()
def logs(
    name: Name,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (of the newest pod).")] = False,
    revision: Annotated[Optional[str], typer.Option("--revision", "-r", help="Only pods of this revision.", show_default=False)] = None,
    namespace: Namespace = "default",
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: Annotated[Path, typer.Option("--file", help="Platform spec (YAML), for --cluster.", envvar="CLUSTERCTL_PY_FILE")] = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """Print the app's container log (container user-container of each of its pods).

    An app scaled to zero has no pods, so no log: that is said instead.

    Example: clusterctl-py app logs shop --follow --cluster prod
    """
    from clusterctl_py.apps import manage
    from clusterctl_py.render.app import check_name

    check_name(name, namespace)
    with _client(kubeconfig, cluster, file, org) as api:
        for line in manage.logs(api, name, namespace, revision=revision, follow=follow, say=_note):
            typer.echo(line)


@app.command()
def rollback(
    name: Name,
    revision: Annotated[Optional[str], typer.Argument(help="The revision to send all traffic to. Default: the newest Ready one "
                                                      "older than the one serving now.", show_default=False)] = None,
    namespace: Namespace = "default",
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
    poll: Poll = 2.0,
    timeout: Timeout = 300.0,
) -> None:
    """Send all traffic back to an earlier revision, in one step; no new revision is made.

    The next `app deploy` sends traffic to the latest revision again.

    Examples:

      clusterctl-py app rollback shop --cluster prod

      clusterctl-py app rollback shop shop-00003 --cluster prod
    """
    from clusterctl_py.apps import manage
    from clusterctl_py.render.app import check_name

    check_name(name, namespace)
    with _client(kubeconfig, cluster, file, org) as api:
        target = manage.rollback(api, name, namespace, revision, say=_note, poll=poll, timeout=timeout)
    typer.echo(f"app {namespace}/{name}: all traffic on {target}")


@app.command()
def delete(
    name: Name,
    keep_database: Annotated[bool, typer.Option("--keep-database", help="Keep the app's database (and its secret).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete. Without it nothing is deleted (a dry run).")] = False,
    namespace: Namespace = "default",
    gitops: Annotated[Optional[Path], typer.Option("--gitops", help="Remove the app's files from this checkout instead.",
                                                   show_default=False)] = None,
    kubeconfig: Kubeconfig = None,
    cluster: Cluster = None,
    file: PlatformFile = Path("platform.yaml"),
    org: Org = None,
) -> None:
    """Delete an app: its Knative Service, its Secret NAME-env, and its database unless --keep-database.

    Only objects labelled as made by clusterctl-py for this app are deleted. Without --yes, shows what would go.

    Example: clusterctl-py app delete shop --keep-database --yes --cluster prod
    """
    from clusterctl_py.render.app import check_name

    check_name(name, namespace)
    if gitops is not None:
        from clusterctl_py.apps import gitops as gitops_ops

        if not yes:
            typer.echo(f"dry run: would remove the files of {gitops_ops.folder(gitops, namespace, name)}"
                       f"{' but the database' if keep_database else ''}; run again with --yes")
            return
        removed = gitops_ops.remove(gitops, namespace, name, keep_database=keep_database)
        for path in removed:
            typer.echo(f"removed {path}")
        if not removed:
            typer.echo(f"nothing of app {name} in {gitops_ops.folder(gitops, namespace, name)}")
        return
    from clusterctl_py.apps import manage

    with _client(kubeconfig, cluster, file, org) as api:
        doomed, notes = manage.plan_delete(api, name, namespace, keep_database=keep_database)
        for note in notes:
            _note(f"note: {note}")
        if not doomed:
            typer.echo(f"nothing of app {name} in namespace {namespace}; nothing deleted")
            return
        listing = ", ".join(f"{d.kind} {d.name}" for d in doomed)
        if not yes:
            typer.echo(f"dry run: would delete {listing} in namespace {namespace}; run again with --yes")
            return
        manage.delete(api, namespace, doomed, typer.echo)
