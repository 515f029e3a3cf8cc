"""cloud-init user data that turns a stock Ubuntu server into a k3s server.

Pure: every value (IPs, token, CA material) comes in resolved. Server 0
initialises the cluster; with three servers it starts embedded etcd and the
others join it over the private network.

The cluster CAs are created in Pulumi (so the kubeconfig is known without
logging in to a server) and placed where k3s looks for them before its first
start. Hetzner keeps user data with the server, readable by whoever holds the
project token: the same token that could delete the cluster, so this adds no
new holder of trust; nothing else reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

USER_DATA_LIMIT = 32 * 1024  # Hetzner refuses larger user data
TLS_DIR = "/var/lib/rancher/k3s/server/tls"
K3S_INSTALL = "https://get.k3s.io"
# CA material k3s would otherwise generate itself on first start.
CA_NAMES = ("server-ca", "client-ca", "request-header-ca", "etcd/peer-ca", "etcd/server-ca")


@dataclass(frozen=True)
class K3sServer:
    index: int
    servers: int
    k3s_version: str
    token: str
    private_ip: str
    public_ip: str
    init_private_ip: str  # server 0's private IP, which joiners dial
    tls_sans: tuple[str, ...]
    api_port: int = 6443
    # name (see CA_NAMES) -> (cert PEM, key PEM); plus "service" -> (None, key PEM). Server 0 only.
    cas: dict[str, tuple[str | None, str]] = field(default_factory=dict)


def k3s_config(server: K3sServer) -> dict:
    config: dict = {
        "token": server.token,
        "node-ip": server.private_ip,
        "node-external-ip": server.public_ip,
        "advertise-address": server.private_ip,
        "https-listen-port": server.api_port,
        "tls-san": list(server.tls_sans),
        # The management cluster runs controllers only: no ingress, no service LB.
        "disable": ["traefik", "servicelb"],
        "secrets-encryption": True,
        # Left at k3s's defaults: its admin kubeconfig is written 0600 (k3s-io/k3s
        # pkg/server/server.go writeKubeConfig), protect-kernel-defaults is off.
    }
    if server.servers > 1:
        if server.index == 0:
            config["cluster-init"] = True
        else:
            config["server"] = f"https://{server.init_private_ip}:{server.api_port}"
    return config


def _file(path: str, content: str, permissions: str) -> dict:
    # No owner: cloud-init writes as root:root by default (cloudinit/config/cc_write_files.py, Distro.default_owner).
    return {"path": path, "content": content, "permissions": permissions}


def user_data(server: K3sServer) -> str:
    files = [_file("/etc/rancher/k3s/config.yaml", yaml.safe_dump(k3s_config(server)), "0600")]
    for name, (cert, key) in sorted(server.cas.items()):
        if cert is not None:  # "service" is only a key
            files.append(_file(f"{TLS_DIR}/{name}.crt", cert, "0644"))
        files.append(_file(f"{TLS_DIR}/{name}.key", key, "0600"))
    doc = {
        # Installing packages refreshes the package lists first; no package_update needed
        # (cloudinit/config/cc_package_update_upgrade_install.py, distros/package_management/apt.py).
        "packages": ["curl", "ca-certificates"],
        "ssh_pwauth": False,
        "disable_root_opts": "",
        "write_files": files,
        "runcmd": [
            # The install script fetches the pinned release and checks its sha256.
            f"curl -sfL --retry 5 {K3S_INSTALL} | INSTALL_K3S_VERSION='{server.k3s_version}' sh -s - server",
        ],
    }
    text = "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=4096)
    if len(text.encode()) > USER_DATA_LIMIT:
        raise ValueError(f"user data for server {server.index} is {len(text.encode())} bytes; Hetzner allows {USER_DATA_LIMIT}")
    return text
