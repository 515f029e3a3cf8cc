"""Add-on HelmChartProxies and the cluster-autoscaler, rendered purely."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
import yaml
from kubernetes.utils.quantity import parse_quantity

from clusterctl_py import spec as spec_mod
from clusterctl_py import versions
from clusterctl_py.render import addons
from clusterctl_py.render import cluster_autoscaler as ca
from clusterctl_py.render.cluster import render_cluster
from clusterctl_py.providers.hetzner.catalog import SERVER_TYPES
from tests.support.crds import CrdCatalog
from tests.support.go import GO_BOOLS, go_duration


def crd_catalog(releases: list[str]):
    try:
        from tests.support import crds as crds_support
    except ModuleNotFoundError:  # tests/ on sys.path instead of the repo root
        from support import crds as crds_support
    root = crds_support.require_reference()
    return crds_support.CrdCatalog.load(root / "crds" if (root / "crds").is_dir() else root, releases)


PLATFORM = {
    "hetzner": {"location": "nbg1", "sshKeys": ["ops"]},
    "clusters": [
        {
            "name": "shop",
            "namespace": "team-shop",
            "kubernetesVersion": "v1.34.2",
            "controlPlane": {"replicas": 1, "serverType": "cpx22"},
            "pools": [{"name": "web", "serverType": "cpx32", "min": 0, "max": 14}],
            "podCidr": "10.200.0.0/16",
        },
        {
            "name": "ops",
            "kubernetesVersion": "v1.34.2",
            "pools": [{"name": "w", "serverType": "cpx22", "min": 1, "max": 2}],
        },
    ],
}


@pytest.fixture(scope="module")
def platform() -> spec_mod.PlatformSpec:
    return spec_mod.parse(PLATFORM)


@pytest.fixture(scope="module")
def shop(platform):
    return platform.cluster("shop")


@pytest.fixture(scope="module")
def catalog():
    return crd_catalog([f"caaph/{versions.CAAPH}"])


def _proxies(platform, cluster) -> dict[str, dict]:
    return {p["spec"]["chartName"]: p for p in addons.render_addons(platform, cluster)}


def _values(proxy: dict) -> dict:
    return yaml.safe_load(proxy["spec"]["valuesTemplate"])


def _matches(selector: dict, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items()) and not selector.get("matchExpressions")


def test_proxies_validate_against_caaph_crd(platform, shop, catalog):
    catalog.assert_valid(addons.render_addons(platform, shop))


def test_proxies_select_their_own_cluster_and_no_other(platform, shop):
    rendered = render_cluster(platform, shop)
    cluster = next(o for o in rendered if o["kind"] == "Cluster")
    other = next(o for o in render_cluster(platform, platform.cluster("ops")) if o["kind"] == "Cluster")
    proxies = [o for o in rendered if o["kind"] == "HelmChartProxy"]
    assert {p["spec"]["chartName"] for p in proxies} == {"cilium", "hcloud-cloud-controller-manager", "hcloud-csi"}
    for proxy in proxies:
        # CAAPH selects Clusters in the proxy's own namespace only.
        assert proxy["metadata"]["namespace"] == cluster["metadata"]["namespace"] == "team-shop"
        assert _matches(proxy["spec"]["clusterSelector"], cluster["metadata"]["labels"])
        assert not _matches(proxy["spec"]["clusterSelector"], other["metadata"]["labels"])
        # Without the add-on labels on the Cluster nothing would be installed.
        labels_without = {k: v for k, v in cluster["metadata"]["labels"].items() if k not in addons.cluster_labels(shop)}
        assert not _matches(proxy["spec"]["clusterSelector"], labels_without)


def test_charts_are_pinned(platform, shop):
    proxies = _proxies(platform, shop)
    assert proxies["cilium"]["spec"]["version"] == versions.CILIUM
    assert proxies["cilium"]["spec"]["repoURL"] == "https://helm.cilium.io/"
    ccm = proxies["hcloud-cloud-controller-manager"]["spec"]
    csi = proxies["hcloud-csi"]["spec"]
    assert ccm["repoURL"] == csi["repoURL"] == "https://charts.hetzner.cloud"
    assert ccm["version"] == versions.HCLOUD_CCM.removeprefix("v")
    assert csi["version"] == versions.HCLOUD_CSI.removeprefix("v")
    assert all(p["spec"]["namespace"] == "kube-system" for p in proxies.values())
    # No Go template actions: the values rendered here are the values installed.
    assert all("{{" not in p["spec"]["valuesTemplate"] for p in proxies.values())


def test_network_ranges_agree_with_the_cluster(platform, shop):
    proxies = _proxies(platform, shop)
    cilium = _values(proxies["cilium"])
    ccm = _values(proxies["hcloud-cloud-controller-manager"])
    # Cilium takes per-node ranges carved from podCidr; the CCM must know the same range.
    assert cilium["ipam"]["mode"] == "kubernetes"
    # and waits for the node's range instead of starting without one (cilium/cilium
    # install/kubernetes/cilium/values.yaml, k8s.requireIPv4PodCIDR).
    assert cilium["k8s"] == {"requireIPv4PodCIDR": True}
    assert ccm["networking"] == {
        "enabled": True,
        "clusterCIDR": "10.200.0.0/16",
        "network": {"valueFrom": {"secretKeyRef": {"name": "hcloud", "key": "network"}}},
    }
    cluster = next(o for o in render_cluster(platform, shop) if o["kind"] == "Cluster")
    assert cluster["spec"]["clusterNetwork"]["pods"]["cidrBlocks"] == [ccm["networking"]["clusterCIDR"]]
    # Pods must never overlap the Hetzner private network the nodes sit on.
    assert not ipaddress.ip_network(shop.pod_cidr).overlaps(ipaddress.ip_network(platform.hetzner.network_cidr))
    assert cilium["kubeProxyReplacement"] is False
    assert cilium["operator"]["replicas"] == 1  # single control-plane node


def test_pods_reach_each_other_over_a_vxlan_overlay_that_fits_the_hetzner_network(platform, shop):
    cilium = _values(_proxies(platform, shop)["cilium"])
    # Hetzner routes in a private network must point into the network's own range;
    # pod ranges lie outside it, so pods cross nodes through a tunnel.
    assert (cilium["routingMode"], cilium["tunnelProtocol"]) == ("tunnel", "vxlan")
    # Hetzner Cloud private networks carry 1450-byte packets (docs.hetzner.com,
    # Networks FAQ); Cilium takes the tunnel header off this device MTU itself.
    assert cilium["MTU"] == 1450


def test_cilium_operator_has_a_spare_only_where_it_can_be_scheduled(platform):
    # Two operator replicas keep each other off the same node (chart anti-affinity):
    # with one control-plane node and no workers yet, the second stays Pending.
    replicas = {c.name: (c.control_plane.replicas, _values(_proxies(platform, c)["cilium"])["operator"]["replicas"]) for c in platform.clusters}
    assert replicas == {"shop": (1, 1), "ops": (3, 2)}


def test_ccm_and_csi_read_the_token_caph_copies(platform, shop):
    proxies = _proxies(platform, shop)
    ccm = _values(proxies["hcloud-cloud-controller-manager"])
    csi = _values(proxies["hcloud-csi"])
    ref = {"name": "hcloud", "key": "hcloud"}
    assert ccm["env"]["HCLOUD_TOKEN"] == {"valueFrom": {"secretKeyRef": ref}}
    assert csi["controller"]["hcloudToken"] == {"existingSecret": ref}
    # Load balancers are only created with a location; it follows the cluster's.
    assert ccm["env"]["HCLOUD_LOAD_BALANCERS_LOCATION"] == {"value": "nbg1"}
    assert csi["controller"]["hcloudVolumeDefaultLocation"] == "nbg1"


def test_ccm_adds_no_routes_and_balances_over_the_private_network(platform, shop):
    env = _values(_proxies(platform, shop)["hcloud-cloud-controller-manager"])["env"]
    # hetznercloud/hcloud-cloud-controller-manager docs/reference/environment_variables.md;
    # booleans as Go's strconv.ParseBool reads them.
    # Routes for pod ranges would have to lie inside the private network; Cilium tunnels instead.
    assert GO_BOOLS[env["HCLOUD_NETWORK_ROUTES_ENABLED"]["value"]] is False
    # Load balancers reach the nodes on their private addresses, not over the internet.
    assert GO_BOOLS[env["HCLOUD_LOAD_BALANCERS_USE_PRIVATE_IP"]["value"]] is True



def _chart_extra_labels_env(controller_values: dict) -> str | None:
    """HCLOUD_VOLUME_EXTRA_LABELS as the hcloud-csi chart renders it from controller.volumeExtraLabels.

    hetznercloud/csi-driver v2.22.1 chart/templates/controller/deployment.yaml: for each
    key/value (Go templates range over a map in key order) `printf "%s=%s"`, joined by ",";
    no env var at all when the map is empty.
    """
    labels = controller_values.get("volumeExtraLabels") or {}
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels)) or None


def _driver_labels(env: str) -> dict[str, str]:
    """How the driver reads the env var (internal/utils/labels.go ConvertLabelsToMap)."""
    out = {}
    for pair in filter(None, env.split(",")):
        key, _, value = pair.partition("=")
        out[key.strip()] = value.strip()
    return out


def test_csi_labels_every_volume_with_its_cluster(platform):
    # The driver labels volumes managed-by=csi-driver plus PVC names only: nothing names
    # the cluster, so `cleanup` could not find a deleted cluster's volumes without this.
    for cluster in platform.clusters:
        controller = _values(_proxies(platform, cluster)["hcloud-csi"])["controller"]
        assert controller["volumeExtraLabels"] == {"clusterctl-py.dev/cluster": cluster.name}
        env = _chart_extra_labels_env(controller)
        assert env == f"clusterctl-py.dev/cluster={cluster.name}"
        assert _driver_labels(env) == {"clusterctl-py.dev/cluster": cluster.name}


# --- cluster-autoscaler ------------------------------------------------------


def _autoscaler(cluster) -> dict[str, dict]:
    spec = spec_mod.parse({"hetzner": {"sshKeys": ["ops"]}, "clusters": [cluster.model_dump(by_alias=True)]})
    return {o["kind"]: o for o in ca.render_cluster_autoscaler(spec, cluster)}


# Flags as cluster-autoscaler documents them (kubernetes/autoscaler
# cluster-autoscaler/FAQ.md, "What are the parameters to CA?"). It parses them
# with pflag and exits on an unknown or misspelt one.
DOCUMENTED_FLAGS = {
    "address", "balance-similar-node-groups", "cloud-config", "cloud-provider",
    "clusterapi-cloud-config-authoritative", "enforce-node-group-min-size", "expander", "kubeconfig",
    "leader-elect", "max-node-provision-time", "node-group-auto-discovery", "scale-down-delay-after-add",
    "scale-down-enabled", "scale-down-unneeded-time", "scale-down-utilization-threshold",
    "skip-nodes-with-local-storage", "v",
}  # fmt: skip
def _container(objs: dict[str, dict]) -> dict:
    return objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def _flags(cluster) -> dict[str, str]:
    """`--name=value` as name -> value; a bare `--name` sets a boolean flag to true."""
    flags: dict[str, str] = {}
    for arg in _container(_autoscaler(cluster))["args"]:
        assert arg.startswith("--"), f"{arg!r} is not a flag"
        name, eq, value = arg[2:].partition("=")
        assert name not in flags, f"--{name} given twice"
        flags[name] = value if eq else "true"
    return flags


def test_autoscaler_flags_are_ones_it_knows(shop):
    flags = _flags(shop)
    assert set(flags) <= DOCUMENTED_FLAGS, sorted(set(flags) - DOCUMENTED_FLAGS)
    assert int(flags["v"]) >= 0


def test_autoscaler_discovers_only_its_cluster(shop):
    flags = _flags(shop)
    # kubernetes/autoscaler cluster-autoscaler/cloudprovider/clusterapi/README.md:
    # "Autoscaler running in management cluster using service account credentials,
    # with separate workload cluster" and the auto-discovery syntax.
    assert flags["cloud-provider"] == "clusterapi"
    assert flags["node-group-auto-discovery"] == "clusterapi:namespace=team-shop,clusterName=shop"
    assert GO_BOOLS[flags["clusterapi-cloud-config-authoritative"]] is True
    assert "cloud-config" not in flags  # the management side is the in-cluster service account


def test_autoscaler_balances_a_split_pool(platform, shop):
    # A pool over several placement groups is several MachineDeployments; the
    # autoscaler spreads new nodes over them only with --balance-similar-node-groups
    # and only if their nodes have the same capacity and labels
    # (cloudprovider/clusterapi/README.md, "Special note on balancing similar node groups").
    assert GO_BOOLS[_flags(shop)["balance-similar-node-groups"]] is True
    mds = [o for o in render_cluster(platform, shop) if o["kind"] == "MachineDeployment"]
    web = [md for md in mds if md["spec"]["template"]["metadata"]["labels"]["node.cluster.x-k8s.io/pool"] == "web"]
    assert len(web) == 2
    capacity = [
        {k: v for k, v in md["metadata"]["annotations"].items() if k.startswith("capacity.cluster-autoscaler.kubernetes.io/")}
        for md in web
    ]
    assert capacity[0] and capacity[0] == capacity[1]


def test_autoscaler_scale_up_choices(shop):
    flags = _flags(shop)
    # FAQ.md "What are Expanders?": least-waste picks the node group with the least idle CPU.
    assert flags["expander"] == "least-waste"
    # Raising a pool's min applies without waiting for load (FAQ.md, enforce-node-group-min-size).
    assert GO_BOOLS[flags["enforce-node-group-min-size"]] is True
    # A new Hetzner server installs containerd and kubeadm before it joins: give it
    # longer than the autoscaler's default of 15m before the node group counts as failing.
    assert go_duration(flags["max-node-provision-time"]) > timedelta(minutes=15)


def test_autoscaler_scales_down_idle_nodes(shop):
    flags = _flags(shop)
    assert GO_BOOLS[flags.get("scale-down-enabled", "true")] is True
    assert go_duration(flags["scale-down-delay-after-add"]) > timedelta(0)
    assert go_duration(flags["scale-down-unneeded-time"]) > timedelta(0)
    assert 0 < float(flags["scale-down-utilization-threshold"]) < 1
    # Upstream keeps nodes whose pods use emptyDir (FAQ.md, skip-nodes-with-local-storage
    # defaults to true); caches and scratch space must not pin a node forever.
    assert GO_BOOLS[flags["skip-nodes-with-local-storage"]] is False


def test_autoscaler_runs_the_binary_its_image_ships(shop):
    # kubernetes/autoscaler cluster-autoscaler/Dockerfile copies it to /cluster-autoscaler
    # (CMD, no ENTRYPOINT: args alone would be run as the command).
    assert _container(_autoscaler(shop))["command"] == ["/cluster-autoscaler"]


def test_autoscaler_liveness_probe_reaches_its_health_endpoint(shop):
    container = _container(_autoscaler(shop))
    probe = container["livenessProbe"]["httpGet"]
    # The kubelet resolves a named probe port among the container's declared ports.
    ports = {p["name"]: p for p in container["ports"] if "name" in p}
    if isinstance(probe["port"], str):
        assert probe["port"] in ports, f"probe port {probe['port']!r} is not declared; ports: {sorted(ports)}"
        port = ports[probe["port"]]
    else:
        port = {"containerPort": probe["port"]}
    # Served on --address, ":8085" unless set (FAQ.md), at /health-check (cluster-autoscaler/main.go).
    address = next((a.split("=", 1)[1] for a in container["args"] if a.startswith("--address=")), ":8085")
    assert port["containerPort"] == int(address.rsplit(":", 1)[1]) and port.get("protocol", "TCP") == "TCP"
    assert probe["path"] == "/health-check"


def test_autoscaler_requests_fit_on_the_management_server(platform, shop):
    resources = _container(_autoscaler(shop))["resources"]
    server = SERVER_TYPES[platform.management.server_type]
    requests = {name: parse_quantity(value) for name, value in resources["requests"].items()}
    # Requests make the scheduler keep room for it; they must fit on the server it runs on.
    assert 0 < requests["cpu"] < server.cores
    assert 0 < requests["memory"] < server.memory_gb * 2**30
    assert parse_quantity(resources["limits"]["memory"]) >= requests["memory"]


def test_autoscaler_objects_are_labelled(shop):
    objs = _autoscaler(shop)
    pod_labels = objs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for labels in [o["metadata"]["labels"] for o in objs.values()] + [pod_labels]:
        # The cluster's own labels, and Kubernetes' recommended ones (kubernetes/website
        # content/en/docs/concepts/overview/working-with-objects/common-labels.md): one
        # selector finds every cluster's autoscaler, another this cluster's.
        assert labels["cluster.x-k8s.io/cluster-name"] == "shop"
        assert labels["app.kubernetes.io/managed-by"] == "clusterctl-py"
        assert labels["app.kubernetes.io/name"] == "cluster-autoscaler"
        assert labels["app.kubernetes.io/instance"] == "shop"


# Upstream supports an autoscaler with the Kubernetes minor it was released
# for; each patch here reads v1beta2 `apiGroup` references (from 1.32.3, 1.33.1
# and 1.34.0) and is a tag cluster-autoscaler-<version> in kubernetes/autoscaler.
@pytest.mark.parametrize(
    "kubernetes, image",
    [
        ("v1.32.0", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.7"),
        ("v1.33.4", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6"),
        ("v1.34.2", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.5"),
        ("v1.35.1", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2"),
        ("v1.36.0", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1"),
    ],
)
def test_autoscaler_minor_follows_the_workload_cluster(shop, kubernetes, image):
    cluster = shop.model_copy(update={"kubernetes_version": kubernetes})
    container = _autoscaler(cluster)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image


def test_every_supported_minor_has_an_autoscaler():
    lo, hi = versions.KUBERNETES_MIN, versions.KUBERNETES_MAX
    assert set(versions.CLUSTER_AUTOSCALER) == {(lo[0], m) for m in range(lo[1], hi[1] + 1)}


def test_autoscaler_reads_the_workload_kubeconfig_secret(shop):
    objs = _autoscaler(shop)
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    kubeconfig_arg = next(a for a in container["args"] if a.startswith("--kubeconfig="))
    path = kubeconfig_arg.split("=", 1)[1]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "shop-kubeconfig"
    item = volume["secret"]["items"][0]
    assert item["key"] == "value" and path == f"{mount['mountPath']}/{item['path']}"
    assert mount["readOnly"] is True
    assert objs["Deployment"]["metadata"]["namespace"] == "team-shop"


def test_autoscaler_runs_unprivileged(shop):
    objs = _autoscaler(shop)
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # Pod Security Standards "restricted" (kubernetes/kubernetes staging/src/k8s.io/
    # pod-security-admission/policy/check_*), so it runs in a namespace enforcing it.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "memory" in container["resources"]["limits"]
    # Non-root must still be able to read its kubeconfig, and nobody else.
    volume = pod["volumes"][0]["secret"]
    assert volume["defaultMode"] & 0o040 and pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    assert volume["defaultMode"] & 0o007 == 0
    # It reads the Cluster API objects with its service account's token (in-cluster config).
    assert pod.get("automountServiceAccountToken", True) is True
    assert objs["ServiceAccount"].get("automountServiceAccountToken", True) is True


def _allows(rules: list[dict], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def test_autoscaler_rbac_covers_scaling_and_nothing_cluster_wide(shop):
    objs = _autoscaler(shop)
    rules = objs["Role"]["rules"]
    capi = "cluster.x-k8s.io"
    for resource in ("machinedeployments", "machinesets", "machines", "machinepools", "machinedeployments/scale"):
        for verb in ("get", "list", "watch"):
            assert _allows(rules, capi, resource, verb), (resource, verb)
    # cluster-autoscaler >= 1.33 resizes with a merge PATCH of /scale, 1.32 with an UPDATE
    # (kubernetes/autoscaler cluster-autoscaler/cloudprovider/clusterapi/clusterapi_unstructured.go).
    for resource in ("machinedeployments/scale", "machinepools/scale"):
        assert _allows(rules, capi, resource, "patch"), resource
        assert _allows(rules, capi, resource, "update"), resource
    assert _allows(rules, capi, "machines", "update")  # marks the machine to remove
    for verb in ("get", "list", "watch"):
        assert _allows(rules, "infrastructure.cluster.x-k8s.io", "hcloudmachinetemplates", verb)
    assert not _allows(rules, "infrastructure.cluster.x-k8s.io", "hcloudmachinetemplates", "update")
    assert all("*" not in r["verbs"] and "*" not in r["resources"] and "delete" not in r["verbs"] for r in rules)
    # Namespaced only: its informers watch just the discovery namespace.
    assert set(objs) == {"ServiceAccount", "Role", "RoleBinding", "Deployment"}
    binding = objs["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": objs["Role"]["metadata"]["name"]}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": objs["ServiceAccount"]["metadata"]["name"], "namespace": "team-shop"}
    ]
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == objs["ServiceAccount"]["metadata"]["name"]


def test_autoscaler_objects_are_valid_kubernetes(shop):
    CrdCatalog([]).assert_valid(_autoscaler(shop).values())  # built-in kinds only
