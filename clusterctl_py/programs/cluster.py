"""Pulumi program: one workload cluster in the management cluster.

Config -> spec, two StackReferences, the WorkloadCluster component,
outputs. Bad config fails `pulumi preview` with the spec's message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py import stack_config
from clusterctl_py.components.workload import WorkloadCluster, WorkloadClusterArgs
from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.programs import qualified_stack

STACK_KEYS = ["cluster", "managementStack", "capiStack"]


def hcloud_token() -> pulumi.Output[str]:
    """`hcloud:token` if the stack sets it, else HCLOUD_TOKEN from the environment.

    `clusterctl-py up` uses the environment so the token never sits on a
    command line or in a stack config file; either way it stays secret.
    """
    configured = pulumi.Config("hcloud").get_secret("token")
    if configured is not None:
        return configured
    token = os.environ.get("HCLOUD_TOKEN")
    if not token:
        raise SpecError([Problem("hcloud:token", "not set: export HCLOUD_TOKEN, or set it with `pulumi config set --secret hcloud:token`")])
    return pulumi.Output.secret(token)


def require_installed(installed: Any, capi_stack: str) -> Any:
    """The capi stack's `installed` output, or a clear stop when it has none."""
    if not installed:
        raise pulumi.RunError(
            f"clusterctl:capiStack: stack {capi_stack} has no `installed` output, so Cluster API is not "
            "(completely) installed in the management cluster; run `up` for that stack first"
        )
    return installed


def main(base_dir: str | Path = ".") -> None:
    spec, settings, cluster = stack_config.load_cluster("cluster", STACK_KEYS, base_dir)
    token = hcloud_token()

    org = pulumi.get_organization()
    management = pulumi.StackReference(qualified_stack(str(settings["managementStack"]), "management", org))
    capi_name = qualified_stack(str(settings["capiStack"]), "capi", org)
    capi = pulumi.StackReference(capi_name)

    # The provider only gets a kubeconfig once the capi stack has exported its
    # `installed` marker: nothing goes into the management cluster before CAPI.
    installed = capi.get_output("installed").apply(lambda value: require_installed(value, capi_name))
    kubeconfig = pulumi.Output.all(management.require_output("kubeconfig"), installed).apply(lambda values: values[0])
    provider = k8s.Provider(
        "management",
        kubeconfig=pulumi.Output.secret(kubeconfig),
        # Stable identity: a rotated kubeconfig must not replace every resource.
        cluster_identifier=spec.management.name,
    )

    workload = WorkloadCluster(
        cluster.name,
        WorkloadClusterArgs(
            spec=spec,
            cluster_name=cluster.name,
            provider=provider,
            hcloud_token=token,
            depends_on=[capi],
        ),
    )

    pulumi.export("kubeconfig", workload.kubeconfig)
    pulumi.export("clusterName", workload.cluster_name)
    pulumi.export("namespace", workload.namespace)


if __name__ == "__main__":
    main()
