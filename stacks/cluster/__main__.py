"""Pulumi program: one workload cluster in the management cluster.

Thin on purpose: config -> spec, two StackReferences, the WorkloadCluster
component, outputs. Bad config fails `pulumi preview` with the spec's message.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py import stack_config
from clusterctl_py.components.workload import WorkloadCluster, WorkloadClusterArgs
from clusterctl_py.errors import Problem, SpecError

STACK_KEYS = ["cluster", "managementStack", "capiStack"]

spec, settings = stack_config.load(stack_keys=STACK_KEYS, base_dir=Path(__file__).parent)
missing = [k for k in STACK_KEYS if not settings.get(k)]
if missing:
    raise SpecError([Problem(f"clusterctl:{k}", "required for the cluster stack but not set") for k in missing])
cluster_name = str(settings["cluster"])
try:
    spec.cluster(cluster_name)
except SpecError as err:
    raise SpecError([Problem("clusterctl:cluster", p.message) for p in err.problems], "Pulumi config") from None

management = pulumi.StackReference(str(settings["managementStack"]))
capi = pulumi.StackReference(str(settings["capiStack"]))

# The provider only gets a kubeconfig once the capi stack has exported its
# `installed` marker: nothing goes into the management cluster before CAPI.
kubeconfig = pulumi.Output.all(management.require_output("kubeconfig"), capi.require_output("installed")).apply(
    lambda values: values[0]
)
provider = k8s.Provider(
    "management",
    kubeconfig=pulumi.Output.secret(kubeconfig),
    # Stable identity: a rotated kubeconfig must not replace every resource.
    cluster_identifier=spec.management.name,
)

workload = WorkloadCluster(
    cluster_name,
    WorkloadClusterArgs(
        spec=spec,
        cluster_name=cluster_name,
        provider=provider,
        hcloud_token=pulumi.Config("hcloud").require_secret("token"),
        depends_on=[capi],
    ),
)

pulumi.export("kubeconfig", workload.kubeconfig)
pulumi.export("clusterName", workload.cluster_name)
pulumi.export("namespace", workload.namespace)
