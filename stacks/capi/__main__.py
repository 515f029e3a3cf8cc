"""Pulumi program: Cluster API in the management cluster.

Thin on purpose: config -> spec, the management stack's kubeconfig, the
ClusterApi component, outputs.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from clusterctl_py import stack_config
from clusterctl_py.components.capi import ClusterApi, ClusterApiArgs
from clusterctl_py.errors import Problem, SpecError

spec, settings = stack_config.load(stack_keys=["managementStack", "componentsBaseUrl"], base_dir=Path(__file__).parent)
if not settings.get("managementStack"):
    raise SpecError([Problem("clusterctl:managementStack", "required: the management stack, as <org>/<project>/<stack>")])

management = pulumi.StackReference(str(settings["managementStack"]))
capi = ClusterApi(
    "capi",
    ClusterApiArgs(
        kubeconfig=management.require_output("kubeconfig"),
        cluster_identifier=spec.management.name,
        components_base_url=settings.get("componentsBaseUrl") or None,
    ),
)

pulumi.export("installed", capi.installed)
