"""stacks/management run whole under Pulumi's mocks."""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py.errors import SpecError
from tests.support import pulumi_mocks as pm

# Hetzner Cloud accepts at most 32 KiB of user data (API docs, POST /servers user_data).
USER_DATA_LIMIT = 32 * 1024

CA = "-----BEGIN CERTIFICATE-----\nMIIBmock{name}\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHmock{name}\n-----END PRIVATE KEY-----\n"


def outputs_for(args):
    if args.typ == "tls:index/privateKey:PrivateKey":
        return {"privateKeyPem": KEY.format(name=args.name)}
    if args.typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
        return {"certPem": CA.format(name=args.name)}
    if args.typ == "tls:index/certRequest:CertRequest":
        return {"certRequestPem": "CSR"}
    if args.typ == "random:index/randomPassword:RandomPassword":
        return {"result": "jointoken" + args.name}
    if args.typ == "hcloud:index/primaryIp:PrimaryIp":
        return {"ipAddress": f"198.51.100.{10 + int(args.name.rsplit('-', 1)[1])}"}
    return {}


def run(management: dict | None = None, hetzner: dict | None = None):
    pm.set_config(
        {
            "clusterctl:hetzner": hetzner or {"location": "fsn1", "sshKeys": ["ops"]},
            "clusterctl:management": {"name": "mgmt", **(management or {})},
            "hcloud:token": "h" * 64,
        },
        secret_keys=["hcloud:token"],
    )
    mocks = pm.RecordingMocks(outputs_for=outputs_for)
    # Preview: the API wait only runs during a real update.
    monitor, outputs = pm.run_recorded("management", mocks, preview=True)
    return mocks, monitor, outputs


def user_data(mocks, index):
    return pm.plain(mocks.named(f"mgmt-server-{index}").inputs["userData"])


def test_firewall_is_closed_by_default():
    mocks, _, _ = run()
    (fw,) = mocks.of_type("hcloud:index/firewall:Firewall")
    assert not fw.inputs.get("rules")


def test_firewall_opens_only_what_is_configured():
    mocks, _, _ = run({"apiAllowedCidrs": ["203.0.113.7/32"], "sshAllowedCidrs": ["192.0.2.0/24"]})
    (fw,) = mocks.of_type("hcloud:index/firewall:Firewall")
    rules = sorted((r["port"], tuple(r["sourceIps"]), r["direction"], r["protocol"]) for r in fw.inputs["rules"])
    assert rules == [("22", ("192.0.2.0/24",), "in", "tcp"), ("6443", ("203.0.113.7/32",), "in", "tcp")]


def test_a_custom_api_port_is_the_port_the_firewall_opens_and_everything_dials():
    mocks, _, outputs = run({"servers": 3, "apiPort": 16443, "apiAllowedCidrs": ["203.0.113.7/32"]})
    (fw,) = mocks.of_type("hcloud:index/firewall:Firewall")
    # Hetzner firewall rule ports are strings; 6443 stays closed.
    assert [(r["direction"], r["protocol"], r["port"], r["sourceIps"]) for r in fw.inputs["rules"]] == [
        ("in", "tcp", "16443", ["203.0.113.7/32"])
    ]
    kubeconfig, _ = outputs["kubeconfig"]
    assert yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"] == "https://198.51.100.10:16443"
    assert outputs["apiEndpoint"][0] == "https://198.51.100.10:16443"
    for i in range(3):
        doc = yaml.safe_load(user_data(mocks, i))
        config = yaml.safe_load(next(f["content"] for f in doc["write_files"] if f["path"] == "/etc/rancher/k3s/config.yaml"))
        assert config["https-listen-port"] == 16443  # k3s's own key for the supervisor/API port
        if i:
            assert config["server"] == "https://10.0.0.2:16443"


def test_every_ssh_key_reaches_every_server_in_another_location():
    mocks, _, _ = run({"servers": 3, "location": "hel1"}, hetzner={"location": "fsn1", "sshKeys": ["ops", "ci", "break-glass"]})
    servers = mocks.of_type("hcloud:index/server:Server")
    assert [(s.inputs["sshKeys"], s.inputs["location"]) for s in servers] == [(["ops", "ci", "break-glass"], "hel1")] * 3
    (ip0, *_) = mocks.of_type("hcloud:index/primaryIp:PrimaryIp")
    assert ip0.inputs["location"] == "hel1"


def test_single_server_kubeconfig_is_secret_and_trusts_the_cluster_ca():
    mocks, monitor, outputs = run({"apiAllowedCidrs": ["203.0.113.7/32"]})
    value, secret = outputs["kubeconfig"]
    assert secret
    doc = yaml.safe_load(value)
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://198.51.100.10:6443"
    assert "insecure-skip-tls-verify" not in cluster
    import base64

    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == CA.format(name="mgmt-server-ca-cert")
    servers = mocks.of_type("hcloud:index/server:Server")
    assert len(servers) == 1
    assert monitor.named("mgmt-server-0").urn.startswith("urn:pulumi:test::clusterctl-management::clusterctl-py:index:ManagementCluster$")


def test_user_data_is_secret_valid_and_small():
    mocks, monitor, _ = run({"servers": 3})
    for i in range(3):
        assert "userData" in monitor.named(f"mgmt-server-{i}").secret_inputs
        text = user_data(mocks, i)
        assert text.startswith("#cloud-config\n") and len(text.encode()) < USER_DATA_LIMIT
        doc = yaml.safe_load(text)
        config = yaml.safe_load(next(f["content"] for f in doc["write_files"] if f["path"] == "/etc/rancher/k3s/config.yaml"))
        assert config["token"] == "jointokenmgmt-join-token"
        assert config["tls-san"] == ["198.51.100.10", "198.51.100.11", "198.51.100.12"]
        if i == 0:
            assert config["cluster-init"] is True
            assert any(f["path"].endswith("server-ca.key") and f["permissions"] == "0600" for f in doc["write_files"])
        else:
            assert config["server"] == "https://10.0.0.2:6443"
            assert not any("/tls/" in f["path"] for f in doc["write_files"])


def test_ha_servers_are_spread_and_networked():
    mocks, _, _ = run({"servers": 3})
    (group,) = mocks.of_type("hcloud:index/placementGroup:PlacementGroup")
    assert group.inputs["type"] == "spread"
    servers = mocks.of_type("hcloud:index/server:Server")
    assert [pm.plain(s.inputs["networks"])[0]["ip"] for s in servers] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert all(s.inputs["sshKeys"] == ["ops"] and s.inputs["serverType"] == "cpx32" for s in servers)


def test_private_keys_and_the_join_token_are_secret_in_state():
    mocks, monitor, _ = run({"servers": 3})
    keys = [r.name for r in mocks.of_type("tls:index/privateKey:PrivateKey")]
    assert len(keys) == 7  # five cluster CAs, the service-account key, the admin key
    for name in keys:
        assert "privateKeyPem" in monitor.named(name).additional_secret_outputs
    assert "result" in monitor.named("mgmt-join-token").additional_secret_outputs


def test_bad_config_fails_preview_with_the_spec_message():
    pm.set_config({"clusterctl:hetzner": {"sshKeys": ["ops"]}, "clusterctl:management": {"serverType": "cx22"}})
    with pytest.raises(SpecError, match=r"clusterctl:management\.serverType: server type 'cx22' is deprecated"):
        pm.run_recorded("management", pm.RecordingMocks(outputs_for=outputs_for), preview=True)


def test_update_waits_for_the_api_over_verified_tls(tmp_path):
    # A real `pulumi up` (not a preview): the kubeconfig resolves only after the
    # API answers /readyz over TLS that verifies against the cluster CA we made,
    # to the admin certificate (k3s answers an anonymous /readyz 401).
    from tests.support.pki import Request, make_pki, serve_readyz

    pki = make_pki(tmp_path)
    httpd = serve_readyz(pki, [503, 200])

    def real_tls(args):
        pem = {
            "mgmt-server-ca-cert": (pki / "ca.crt").read_text(),
            "mgmt-admin-cert": (pki / "client.crt").read_text(),
            "mgmt-admin-key": (pki / "client.key").read_text(),
        }
        if args.name in pem:
            return {"certPem" if args.name.endswith("cert") else "privateKeyPem": pem[args.name]}
        if args.typ == "hcloud:index/primaryIp:PrimaryIp":
            return {"ipAddress": "127.0.0.1"}
        return outputs_for(args)

    try:
        pm.set_config(
            {
                "clusterctl:hetzner": {"sshKeys": ["ops"]},
                "clusterctl:management": {"apiPort": httpd.server_address[1], "apiAllowedCidrs": ["127.0.0.1/32"]},
            }
        )
        _, outputs = pm.run_recorded("management", pm.RecordingMocks(outputs_for=real_tls), preview=False)
    finally:
        httpd.shutdown()
    assert httpd.requests == [Request("/readyz", "admin", 503), Request("/readyz", "admin", 200)]
    kubeconfig, secret = outputs["kubeconfig"]
    assert secret and f"https://127.0.0.1:{httpd.server_address[1]}" in kubeconfig
