"""Node bootstrap for stock Ubuntu images: files and install commands.

The Kubernetes version is written into the commands literally. CAPI sets
`spec.version` on machines, but on a stock image it is these commands that
install kubelet and kubeadm; if they kept the old version an upgrade would
roll machines that still run the old kubelet (CAPH #591).
"""

from __future__ import annotations

from clusterctl_py import versions

_MODULES = "overlay\nbr_netfilter\n"

_SYSCTL = (
    "net.bridge.bridge-nf-call-iptables = 1\n"
    "net.bridge.bridge-nf-call-ip6tables = 1\n"
    "net.ipv4.ip_forward = 1\n"
    # Cilium's veth interfaces must not drop asymmetric return traffic.
    "net.ipv4.conf.lxc*.rp_filter = 0\n"
    "vm.overcommit_memory = 1\n"
    "kernel.panic = 10\n"
    "kernel.panic_on_oops = 1\n"
)

_CONTAINERD_UNIT = """[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""


def _file(path: str, content: str, permissions: str = "0644") -> dict:
    return {"path": path, "owner": "root:root", "permissions": permissions, "content": content}


def files() -> list[dict]:
    return [
        _file("/etc/modules-load.d/kubernetes.conf", _MODULES),
        _file("/etc/sysctl.d/90-kubernetes.conf", _SYSCTL),
        _file("/etc/systemd/system/containerd.service", _CONTAINERD_UNIT),
    ]


def install_commands(kubernetes_version: str) -> list[str]:
    """Commands that install containerd, runc and kubeadm/kubelet at exactly this version."""
    k8s = kubernetes_version.lstrip("v")
    minor = ".".join(k8s.split(".")[:2])
    containerd, runc = versions.CONTAINERD, versions.RUNC
    gh = "https://github.com"
    fetch = "curl -fsSL --retry 5 --retry-delay 5 -O"
    return [
        "set -eux",
        'ARCH="$(dpkg --print-architecture)"',
        "swapoff -a",
        r"sed -i '/\sswap\s/d' /etc/fstab",
        "modprobe overlay",
        "modprobe br_netfilter",
        "sysctl --system",
        "apt-get update -y",
        "apt-get install -y apt-transport-https ca-certificates curl gpg socat conntrack jq",
        # containerd and runc from their releases, checked against the published sums.
        "cd /tmp",
        f"{fetch} {gh}/opencontainers/runc/releases/download/v{runc}/runc.$ARCH",
        f"{fetch} {gh}/opencontainers/runc/releases/download/v{runc}/runc.sha256sum",
        "sha256sum --check --ignore-missing runc.sha256sum",
        "install -m 0755 runc.$ARCH /usr/local/sbin/runc",
        f"{fetch} {gh}/containerd/containerd/releases/download/v{containerd}/containerd-{containerd}-linux-$ARCH.tar.gz",
        f"{fetch} {gh}/containerd/containerd/releases/download/v{containerd}/containerd-{containerd}-linux-$ARCH.tar.gz.sha256sum",
        f"sha256sum --check containerd-{containerd}-linux-$ARCH.tar.gz.sha256sum",
        f"tar -xzf containerd-{containerd}-linux-$ARCH.tar.gz -C /usr/local",
        "mkdir -p /etc/containerd",
        "containerd config default > /etc/containerd/config.toml",
        "sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml",
        "systemctl daemon-reload",
        "systemctl enable --now containerd",
        # kubelet, kubeadm and kubectl from the version's own package repository.
        "mkdir -p -m 0755 /etc/apt/keyrings",
        f"curl -fsSL --retry 5 https://pkgs.k8s.io/core:/stable:/v{minor}/deb/Release.key"
        " | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg",
        "echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg]"
        f" https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /' > /etc/apt/sources.list.d/kubernetes.list",
        "apt-get update -y",
        f"apt-get install -y kubelet={k8s}-* kubeadm={k8s}-* kubectl={k8s}-*",
        "apt-mark hold kubelet kubeadm kubectl",
        "systemctl enable kubelet",
        f"kubeadm config images pull --kubernetes-version v{k8s}",
    ]


def args(**pairs: str) -> list[dict]:
    """kubeadm v1beta2 extraArgs: a list of {name, value}, kept in the order given."""
    return [{"name": k.replace("_", "-"), "value": v} for k, v in pairs.items()]
