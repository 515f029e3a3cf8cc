"""The management cluster: k3s on Hetzner Cloud servers, reachable only from where you say."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_hcloud as hcloud
import pulumi_random as random
import pulumi_tls as tls

from clusterctl_py.render import cloudinit
from clusterctl_py.render.kubeconfig import kubeconfig
from clusterctl_py.render.meta import MANAGED_BY, MANAGED_BY_LABEL, MANAGEMENT_LABEL
from clusterctl_py.spec import PlatformSpec
from clusterctl_py.wait import wait_for_apiserver

TEN_YEARS = 87600


@dataclass
class ManagementClusterArgs:
    spec: PlatformSpec
    # Seconds to wait for the API once servers exist.
    api_timeout: float = 900.0


def firewall_rules(spec: PlatformSpec) -> list[hcloud.FirewallRuleArgs]:
    """Inbound rules only for configured CIDRs; no rule means closed (Hetzner drops the rest)."""
    m = spec.management
    rules = []
    for port, cidrs, what in (("22", m.ssh_allowed_cidrs, "SSH"), (str(m.api_port), m.api_allowed_cidrs, "Kubernetes API")):
        if cidrs:
            rules.append(hcloud.FirewallRuleArgs(direction="in", protocol="tcp", port=port, source_ips=list(cidrs), description=what))
    return rules


class ManagementCluster(pulumi.ComponentResource):
    kubeconfig: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    server_ips: pulumi.Output[list]
    network_id: pulumi.Output[int]

    def __init__(self, name: str, args: ManagementClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clusterctl-py:index:ManagementCluster", name, None, opts)
        spec, m = args.spec, args.spec.management
        location = m.location or spec.hetzner.location
        labels = {MANAGED_BY_LABEL: MANAGED_BY, MANAGEMENT_LABEL: m.name}
        child = pulumi.ResourceOptions(parent=self)

        network = hcloud.Network(f"{name}-network", name=m.name, ip_range=spec.hetzner.network_cidr, labels=labels, opts=child)
        subnet = hcloud.NetworkSubnet(
            f"{name}-subnet",
            network_id=network.id.apply(int),
            type="cloud",
            network_zone=spec.provider.network_zone(location),
            ip_range=spec.hetzner.subnet_cidr,
            opts=child,
        )
        firewall = hcloud.Firewall(f"{name}-firewall", name=m.name, rules=firewall_rules(spec), labels=labels, opts=child)
        group = hcloud.PlacementGroup(f"{name}-spread", name=m.name, type="spread", labels=labels, opts=child)
        token = random.RandomPassword(f"{name}-join-token", length=48, special=False, opts=child)

        cas = {ca: self._ca(f"{name}-{ca.replace('/', '-')}", f"k3s-{ca.replace('/', '-')}", child) for ca in cloudinit.CA_NAMES}
        service_key = tls.PrivateKey(f"{name}-service-key", algorithm="RSA", rsa_bits=2048, opts=child)
        admin_key = tls.PrivateKey(f"{name}-admin-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        admin_csr = tls.CertRequest(
            f"{name}-admin-csr",
            private_key_pem=admin_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name="clusterctl-py-admin", organization="system:masters"),
            opts=child,
        )
        client_ca_key, client_ca_cert = cas["client-ca"]
        admin_cert = tls.LocallySignedCert(
            f"{name}-admin-cert",
            cert_request_pem=admin_csr.cert_request_pem,
            ca_private_key_pem=client_ca_key.private_key_pem,
            ca_cert_pem=client_ca_cert.cert_pem,
            validity_period_hours=TEN_YEARS,
            allowed_uses=["client_auth", "digital_signature", "key_encipherment"],
            opts=child,
        )

        hosts = list(ipaddress.ip_network(spec.hetzner.subnet_cidr).hosts())
        private_ips = [str(hosts[i + 1]) for i in range(m.servers)]  # .1 is Hetzner's gateway
        ips = [
            hcloud.PrimaryIp(f"{name}-ip-{i}", name=f"{m.name}-{i}", type="ipv4", assignee_type="server", location=location,
                             auto_delete=False, labels=labels, opts=child)
            for i in range(m.servers)
        ]
        public_ips = pulumi.Output.all(*[ip.ip_address for ip in ips])
        ca_material = pulumi.Output.all(
            **{ca: pulumi.Output.all(cert.cert_pem, key.private_key_pem) for ca, (key, cert) in cas.items()},
            service=pulumi.Output.all(None, service_key.private_key_pem),
        )

        servers = []
        for i in range(m.servers):
            def render(values, i=i):
                addresses, secret, material = values
                return cloudinit.user_data(
                    cloudinit.K3sServer(
                        index=i, servers=m.servers, k3s_version=m.k3s_version, token=secret,
                        private_ip=private_ips[i], public_ip=addresses[i], init_private_ip=private_ips[0],
                        tls_sans=tuple(addresses), api_port=m.api_port,
                        cas={k: tuple(v) for k, v in material.items()} if i == 0 else {},
                    )
                )

            user_data = pulumi.Output.secret(pulumi.Output.all(public_ips, token.result, ca_material).apply(render))
            servers.append(
                hcloud.Server(
                    f"{name}-server-{i}",
                    name=f"{m.name}-{i}",
                    server_type=m.server_type,
                    location=location,
                    image=spec.hetzner.image,
                    ssh_keys=list(spec.hetzner.ssh_keys),
                    firewall_ids=[firewall.id.apply(int)],
                    placement_group_id=group.id.apply(int),
                    networks=[hcloud.ServerNetworkArgs(network_id=network.id.apply(int), ip=private_ips[i])],
                    public_nets=[hcloud.ServerPublicNetArgs(ipv4_enabled=True, ipv4=ips[i].id.apply(int), ipv6_enabled=True)],
                    user_data=user_data,
                    labels={**labels, "clusterctl-py.dev/server": str(i)},
                    # k3s upgrades go through k3s itself (system-upgrade-controller); a new
                    # version in the config must not silently rebuild the control plane.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[subnet], ignore_changes=["user_data"],
                                                additional_secret_outputs=["user_data"]),
                )
            )

        endpoint = public_ips.apply(lambda a: a[0])
        server_ca_key, server_ca_cert = cas["server-ca"]

        def ready(values) -> str:
            host, ca, cert, key, _ = values
            if not pulumi.runtime.is_dry_run():
                wait_for_apiserver(host, m.api_port, ca, cert, key, timeout=args.api_timeout)
            return kubeconfig(m.name, f"https://{host}:{m.api_port}", ca, cert, key)

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(endpoint, server_ca_cert.cert_pem, admin_cert.cert_pem, admin_key.private_key_pem,
                              pulumi.Output.all(*[s.id for s in servers])).apply(ready)
        )
        self.api_endpoint = endpoint.apply(lambda h: f"https://{h}:{m.api_port}")
        self.server_ips = public_ips
        self.network_id = network.id.apply(int)
        self.servers = servers
        self.firewall = firewall
        self.register_outputs(
            {"kubeconfig": self.kubeconfig, "apiEndpoint": self.api_endpoint, "serverIps": self.server_ips, "networkId": self.network_id}
        )

    @staticmethod
    def _ca(resource: str, common_name: str, opts: pulumi.ResourceOptions) -> tuple[tls.PrivateKey, tls.SelfSignedCert]:
        key = tls.PrivateKey(f"{resource}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        cert = tls.SelfSignedCert(
            f"{resource}-cert",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=TEN_YEARS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
            subject=tls.SelfSignedCertSubjectArgs(common_name=common_name),
            opts=opts,
        )
        return key, cert
