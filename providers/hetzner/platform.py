"""Hetzner facts the app platform needs: the ingress load balancer, volumes, DNS-01.

Annotation names are the CCM's (hetznercloud/hcloud-cloud-controller-manager
v1.35.0 internal/annotation/load_balancer.go).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py import versions
from clusterctl_py.providers.base import Dns01Webhook

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec

LB_PREFIX = "load-balancer.hetzner.cloud/"
# The smallest type; the CCM's default too, written out so the price is visible.
INGRESS_LB_TYPE = "lb11"
# hetznercloud/csi-driver v2.22.1 internal/driver/driver.go PluginName.
VOLUME_PROVISIONER = "csi.hetzner.cloud"
# hetzner/cert-manager-webhook-hetzner v0.9.0: chart/values.yaml groupName and
# docs/reference/issuer-configuration.md (solverName, config.tokenSecretKeyRef).
DNS_WEBHOOK_GROUP = "acme.hetzner.com"
DNS_TOKEN_SECRET = "hetzner-dns"
DNS_TOKEN_KEY = "token"


def load_balancer_annotations(spec: PlatformSpec, cluster: ClusterSpec, name: str) -> dict[str, str]:
    return {
        # Without location or network-zone (mutually exclusive) and no CCM
        # default, the CCM makes no load balancer; the cluster's location
        # keeps it next to the nodes.
        LB_PREFIX + "location": spec.location_of(cluster),
        LB_PREFIX + "type": INGRESS_LB_TYPE,
        LB_PREFIX + "name": name,
        # The CCM runs with networking on (addons.py): targets are the nodes' private IPs.
        LB_PREFIX + "use-private-ip": "true",
        # Kourier's proxy-protocol support is alpha; the CCM >= 1.21 sets
        # ipMode Proxy, so in-cluster HTTP-01 self-checks reach the load balancer without it.
        LB_PREFIX + "uses-proxyprotocol": "false",
    }


def dns01_webhook() -> Dns01Webhook:
    return Dns01Webhook(
        repo="https://charts.hetzner.cloud",
        chart="cert-manager-webhook-hetzner",
        version=versions.CERT_MANAGER_WEBHOOK_HETZNER,
        values={"groupName": DNS_WEBHOOK_GROUP},
        webhook={
            "groupName": DNS_WEBHOOK_GROUP,
            "solverName": "hetzner",
            # Hetzner DNS zones live in the Cloud API, so the cluster's hcloud token reaches them.
            "config": {"tokenSecretKeyRef": {"name": DNS_TOKEN_SECRET, "key": DNS_TOKEN_KEY}},
        },
        token_secret=DNS_TOKEN_SECRET,
        token_key=DNS_TOKEN_KEY,
    )
