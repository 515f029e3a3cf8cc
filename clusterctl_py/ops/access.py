"""Where the management cluster's API is, and with which credentials.

In order: `--kubeconfig FILE`, else `KUBECONFIG` (one or more paths, as
kubectl and clusterctl read it), else the `kubeconfig` output of the
management stack named by the platform spec, as `up` left it. The stack is
only read (`StackEngine.outputs` selects, never creates), and needs no
Hetzner token. The kubeconfig text stays in memory: the client writes the
certificates it needs to a private directory of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

from clusterctl_py.clients.errors import NotFound
from clusterctl_py.clients.kube import Cluster, Kubeconfig, KubernetesApi
from clusterctl_py.errors import ClusterctlError, Problem, SpecError
from clusterctl_py.ops.engine import StackEngine, StackMissing


class NoManagementApi(ClusterctlError):
    """No management API to reach yet: its stack does not exist, or has no kubeconfig output (before the first `up`)."""


def management_kubeconfig(
    *,
    flag: Path | None,
    environ: Mapping[str, str],
    platform_file: Path,
    org: str | None,
    engine: Callable[[], StackEngine],
    resolved: bool = False,
) -> Kubeconfig:
    """The management API's kubeconfig; SpecError (exit 2) when none can be found, before any request.

    `resolved`: `org` is the organisation the engine already resolved (`up` has), not to be asked again.
    """
    given = given_kubeconfig(flag, environ)
    if given is not None:
        return given
    return _from_stack(platform_file, org, engine, resolved)


def given_kubeconfig(flag: Path | None, environ: Mapping[str, str]) -> Kubeconfig | None:
    """`--kubeconfig FILE`, else `KUBECONFIG`, as kubectl reads them; None when neither is given.

    SpecError (exit 2) for a file that is not there, before any request.
    """
    if flag is not None:
        if not flag.is_file():
            raise SpecError([Problem("--kubeconfig", f"{flag}: no such file")])
        return Kubeconfig(f"--kubeconfig {flag}", path=str(flag))
    listed = environ.get("KUBECONFIG", "")
    if listed:
        paths = [p for p in listed.split(os.pathsep) if p]
        if not any(Path(p).is_file() for p in paths):
            raise SpecError([Problem("KUBECONFIG", f"none of the files it lists exists: {listed}")])
        return Kubeconfig("KUBECONFIG", path=listed)
    return None


def _from_stack(platform_file: Path, org: str | None, engine: Callable[[], StackEngine], resolved: bool = False) -> Kubeconfig:
    from clusterctl_py import spec as spec_mod
    from clusterctl_py.ops.plan import management_stack

    if not platform_file.is_file():
        raise SpecError([Problem(
            "--kubeconfig",
            f"not given, KUBECONFIG is not set, and there is no platform file {platform_file} (-f) naming the "
            "management stack whose kubeconfig output would be used; pass one of them",
        )])
    spec = spec_mod.load(platform_file)
    stacks = engine()
    run = management_stack(spec, platform_file, org=org if resolved and org else stacks.organization(org))
    try:
        outputs = stacks.outputs(run)
    except StackMissing:
        raise NoManagementApi(
            f"there is no management stack {run.name} to read the kubeconfig from: run `clusterctl-py up -f {platform_file}` "
            "first, or pass --kubeconfig"
        ) from None
    text = outputs.get("kubeconfig")
    if not isinstance(text, str) or not text.strip():
        raise NoManagementApi(f"the management stack {run.name} has no kubeconfig output yet: has `clusterctl-py up` finished?")
    return Kubeconfig(f"stack {run.name} output kubeconfig", text=text)


def locate_cluster(api: KubernetesApi, name: str, namespace: str | None) -> Cluster:
    """The Cluster `name`: in `namespace` if given, else in whichever namespace holds it (one request)."""
    if namespace:
        return api.get_cluster(namespace, name)
    found = api.clusters_named(name)
    if not found:
        raise NotFound(f"no Cluster named {name} in any namespace", api=f"Kubernetes API {api.endpoint}")
    if len(found) > 1:
        namespaces = ", ".join(sorted(c.namespace for c in found))
        raise SpecError([Problem("--namespace", f"Clusters named {name} exist in namespaces {namespaces}; pass one of them")])
    return found[0]
