"""Day-2 operations against the live APIs: what a platform team runs on clusters that exist.

Commands here talk to the management cluster and to Hetzner through
`clusterctl_py.clients` only; they never hold an SDK object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from clusterctl_py.cli import PlatformFile
from clusterctl_py.cli.cluster import Org

app = typer.Typer()


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
    run_stacks("up", change.edited.spec, file, name, engine, organization, parallel=1)
