"""Pulumi program: the management cluster on Hetzner Cloud.

Config -> spec, the ManagementCluster component, outputs. The hcloud
provider takes its token from `hcloud:token` if set, else from the
HCLOUD_TOKEN environment variable (which is how `clusterctl-py up` hands it
over: never on a command line, never in a config file).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from clusterctl_py import stack_config
from clusterctl_py.components.management import ManagementCluster, ManagementClusterArgs


def main(base_dir: str | Path = ".") -> None:
    spec, _ = stack_config.load(base_dir=base_dir)
    management = ManagementCluster(spec.management.name, ManagementClusterArgs(spec=spec))

    pulumi.export("kubeconfig", management.kubeconfig)
    pulumi.export("apiEndpoint", management.api_endpoint)
    pulumi.export("serverIps", management.server_ips)


if __name__ == "__main__":
    main()
