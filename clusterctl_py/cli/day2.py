"""Day-2 operations against the live APIs: what a platform team runs on clusters that exist.

Commands here talk to the management cluster and to Hetzner through
`clusterctl_py.clients` only; they never hold an SDK object.
"""

from __future__ import annotations

import typer

app = typer.Typer()
