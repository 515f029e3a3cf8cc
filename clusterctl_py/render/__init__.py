"""Pure rendering: validated spec in, Kubernetes objects (plain dicts) out.

No I/O and no Pulumi here, so the output can be tested directly, diffed and
validated against the upstream CRDs.
"""

from __future__ import annotations

from clusterctl_py.render.cluster import render_cluster
from clusterctl_py.render.yaml import dump_all

__all__ = ["dump_all", "render_cluster"]
