"""Pulumi program: the app platform in one workload cluster.

Config -> spec, the cluster stack's workload kubeconfig (a StackReference,
secret end to end), the Platform component, outputs. Runs after the
cluster stack and is destroyed before it, so the load balancer and volumes
the platform made are deleted by the cluster's own controllers.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from clusterctl_py import stack_config
from clusterctl_py.components.platform import Platform, PlatformArgs
from clusterctl_py.programs import qualified_stack
from clusterctl_py.programs.cluster import hcloud_token
from clusterctl_py.render.platform import settings_of

STACK_KEYS = ["cluster", "clusterStack"]


def main(base_dir: str | Path = ".") -> None:
    spec, settings, cluster = stack_config.load_cluster("platform", STACK_KEYS, base_dir)
    platform = settings_of(spec, cluster)  # SpecError naming clusters[i].platform
    # Only DNS-01 needs the token (Hetzner DNS zones are in the Cloud API);
    # the spec allows dns01 only with TLS on.
    token = hcloud_token() if platform.challenge == "dns01" else None

    cluster_stack = pulumi.StackReference(qualified_stack(str(settings["clusterStack"]), "cluster", pulumi.get_organization()))
    component = Platform(
        cluster.name,
        PlatformArgs(
            spec=spec,
            cluster_name=cluster.name,
            kubeconfig=pulumi.Output.secret(cluster_stack.require_output("kubeconfig")),
            dns_token=token,
        ),
    )

    pulumi.export("ingressNamespace", component.ingress_namespace)
    pulumi.export("ingressService", component.ingress_service)
    pulumi.export("loadBalancer", component.load_balancer)
    pulumi.export("domain", component.domain)
    pulumi.export("clusterIssuer", component.cluster_issuer)


if __name__ == "__main__":
    main()
