"""Hetzner Cloud limits the rendering and the checks both respect."""

from __future__ import annotations

# One private network holds at most 100 attached servers.
NETWORK_SERVER_LIMIT = 100
# Hetzner refuses an 11th server in a spread placement group.
SPREAD_GROUP_LIMIT = 10
# A rolling update creates a machine before it deletes one: CAPI's default
# maxSurge of 1 for MachineDeployments and the KubeadmControlPlane
# (kubernetes-sigs/cluster-api core/config/crd/bases/cluster.x-k8s.io_machinedeployments.yaml and
# controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml:
# rollout.strategy.rollingUpdate.maxSurge "Defaults to 1").
ROLLOUT_SURGE = 1
# So a node group may hold 9 servers: with its surge machine it still fits.
# maxSurge 0 / maxUnavailable 1 would allow 10, but every rollout would then
# take a node away first, and a one-node pool would go down.
GROUP_MAX = SPREAD_GROUP_LIMIT - ROLLOUT_SURGE
