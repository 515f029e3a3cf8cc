"""A workload cluster's kubeconfig, from the Secret Cluster API keeps it in, to a file only its owner can read.

CAPI writes it to Secret `<cluster>-kubeconfig`, key `value`, in the
Cluster's namespace (kubernetes-sigs/cluster-api util/secret/consts.go
KubeconfigDataName, util/secret/secret.go Name). It holds a client
certificate and key for the cluster's admin, so it is written 0600 in one
step (a reader never sees half a file or a moment of wider permissions),
into a directory created 0700, and is printed only when asked for with `-o -`.

The default place is the per-user config directory (XDG), not the working
directory: a kubeconfig dropped into a checkout is one `git add .` from
being published.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

from clusterctl_py.clients.errors import NotFound
from clusterctl_py.clients.kube import Cluster, KubernetesApi
from clusterctl_py.errors import ClusterctlError
from clusterctl_py.render.cluster_autoscaler import KUBECONFIG_KEY, kubeconfig_secret_name

# The same Secret the cluster-autoscaler mounts: one place names it.
SECRET_KEY = KUBECONFIG_KEY
secret_name = kubeconfig_secret_name


def config_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/clusterctl-py (default ~/.config/clusterctl-py); an XDG path must be absolute."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path(environ.get("HOME") or Path.home()) / ".config"
    return root / "clusterctl-py"


def default_path(cluster: str, environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / f"{cluster}.kubeconfig"


def read(api: KubernetesApi, cluster: Cluster) -> str:
    try:
        return api.secret_value(cluster.namespace, secret_name(cluster.name), SECRET_KEY)
    except NotFound as exc:
        raise ClusterctlError(f"{exc}; Cluster API writes it once the control plane is initialized") from None


def write_private(path: Path, text: str, *, private_parent: bool = False) -> None:
    """Write `text` to `path` as mode 0600, atomically; a missing directory is created 0700.

    `private_parent` also makes an existing parent 0700 (our own config directory;
    a directory the user named is theirs to keep as it is).
    """
    parent = path.parent
    if not parent.is_dir():
        parent.mkdir(mode=0o700, parents=True)
        parent.chmod(0o700)  # mkdir's mode is cut by the umask
    elif private_parent:
        parent.chmod(0o700)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.")  # created 0600, whatever the umask
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
