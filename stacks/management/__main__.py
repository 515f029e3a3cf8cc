"""Pulumi program: the management cluster on Hetzner Cloud.

Thin on purpose: config -> spec, the ManagementCluster component, outputs.
The Hetzner token is the hcloud provider's own `hcloud:token` (secret).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from clusterctl_py import stack_config
from clusterctl_py.components.management import ManagementCluster, ManagementClusterArgs

spec, _ = stack_config.load(base_dir=Path(__file__).parent)
management = ManagementCluster(spec.management.name, ManagementClusterArgs(spec=spec))

pulumi.export("kubeconfig", management.kubeconfig)
pulumi.export("apiEndpoint", management.api_endpoint)
pulumi.export("serverIps", management.server_ips)
