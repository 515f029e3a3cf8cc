"""k3s user data: valid cloud-config, under Hetzner's size limit, wired for HA, the way k3s and
cloud-init read it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from clusterctl_py.render import cloudinit

SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")
PEM = "-----BEGIN X-----\n" + "A" * 400 + "\n-----END X-----\n"
# The files k3s takes as its CAs instead of generating them, all required (k3s-io/docs
# docs/cli/certificate.md "Using Custom CA Certificates"); service.key signs service-account
# tokens and has no certificate.
K3S_CA_FILES = {
    f"/var/lib/rancher/k3s/server/tls/{name}"
    for name in (
        "server-ca.crt", "server-ca.key", "client-ca.crt", "client-ca.key", "request-header-ca.crt", "request-header-ca.key",
        "etcd/peer-ca.crt", "etcd/peer-ca.key", "etcd/server-ca.crt", "etcd/server-ca.key", "service.key",
    )
}


def pem(label: str) -> str:
    """Distinct material per file, so a certificate or key in the wrong file shows."""
    return f"-----BEGIN {label.upper()}-----\n" + "A" * 400 + f"\n-----END {label.upper()}-----\n"


def server(index: int, servers: int, **extra) -> cloudinit.K3sServer:
    cas = {name: (pem(f"{name} cert"), pem(f"{name} key")) for name in cloudinit.CA_NAMES} | {"service": (None, pem("service key"))}
    return cloudinit.K3sServer(
        index=index, servers=servers, k3s_version="v1.33.4+k3s1", token="s3cr3t-token", private_ip=f"10.0.0.{index + 2}",
        public_ip=f"198.51.100.{index + 10}", init_private_ip="10.0.0.2", tls_sans=("198.51.100.10", "198.51.100.11"),
        cas=cas if index == 0 else {}, **extra,
    )


CASES = [server(0, 1), server(0, 3), server(1, 3), server(2, 3)]
IDS = lambda s: f"{s.index}of{s.servers}"  # noqa: E731


def rendered(srv: cloudinit.K3sServer) -> dict:
    return yaml.safe_load(cloudinit.user_data(srv))


def files(doc: dict) -> dict[str, dict]:
    return {f["path"]: f for f in doc["write_files"]}


def k3s_config(doc: dict) -> dict:
    """/etc/rancher/k3s/config.yaml: k3s reads each key as the server flag of that name
    (k3s-io/k3s pkg/configfilearg/parser.go) and skips, with a warning only, a key that is not one."""
    return yaml.safe_load(files(doc)["/etc/rancher/k3s/config.yaml"]["content"])


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_user_data_is_cloud_config_within_limits(srv):
    text = cloudinit.user_data(srv)
    assert text.startswith("#cloud-config\n")
    assert len(text.encode()) < cloudinit.USER_DATA_LIMIT
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict) and doc["ssh_pwauth"] is False


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_user_data_validates_against_cloud_inits_schema(srv):
    if not SCHEMA.is_file():
        pytest.skip(f"cloud-init's schema not found at {SCHEMA} (Debian package cloud-init)")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(rendered(srv), schema, cls=jsonschema.Draft4Validator)


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_install_runs_the_pinned_k3s_release_as_a_server(srv):
    (command,) = rendered(srv)["runcmd"]
    fetch, install = (shlex.split(part) for part in command.split(" | "))
    # get.k3s.io installs the release named by INSTALL_K3S_VERSION; arguments after `-s -` go to `k3s`.
    assert fetch[-1] == "https://get.k3s.io"
    assert install == ["INSTALL_K3S_VERSION=v1.33.4+k3s1", "sh", "-s", "-", "server"]


def test_the_tools_the_install_needs_are_installed():
    doc = rendered(server(0, 1))
    (command,) = doc["runcmd"]
    # curl fetches the script over https and checks get.k3s.io's certificate against the system
    # bundle from the Debian/Ubuntu package ca-certificates.
    assert {shlex.split(command)[0], "ca-certificates"} <= set(doc["packages"])


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_servers_talk_over_the_private_network_and_serve_their_public_addresses(srv):
    config = k3s_config(rendered(srv))
    # Flag names: k3s-io/k3s pkg/cli/cmds/agent.go (node-ip, node-external-ip) and server.go (the rest).
    # etcd peers, kubelets and the apiserver's advertised endpoint use the private network;
    # the firewall only opens the API on the public addresses, which the serving certificate names.
    assert config["node-ip"] == config["advertise-address"] == srv.private_ip
    assert config["node-external-ip"] == srv.public_ip
    assert set(config["tls-san"]) >= {"198.51.100.10", "198.51.100.11"}
    assert config["https-listen-port"] == 6443


@pytest.mark.parametrize("index", [1, 2])
def test_servers_2_and_3_join_server_1_on_the_api_port(index):
    config = k3s_config(rendered(server(index, 3, api_port=7443)))
    assert config["server"] == "https://10.0.0.2:7443" and config["https-listen-port"] == 7443
    assert config["token"] == "s3cr3t-token"
    assert "cluster-init" not in config


def test_first_of_three_servers_starts_embedded_etcd():
    config = k3s_config(rendered(server(0, 3)))
    assert config["cluster-init"] is True and "server" not in config
    assert config["token"] == "s3cr3t-token"


def test_a_single_server_keeps_k3s_default_datastore():
    # cluster-init would start embedded etcd (k3s-io/k3s pkg/cli/cmds/server.go); one server keeps SQLite.
    config = k3s_config(rendered(server(0, 1)))
    assert "cluster-init" not in config and "server" not in config


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_management_servers_run_no_ingress_and_no_service_load_balancer(srv):
    # The management cluster runs controllers only; traefik and servicelb would take ports 80/443
    # on the servers. Component names as `--disable` takes them (k3s-io/k3s pkg/cli/cmds/server.go).
    assert {"traefik", "servicelb"} <= set(k3s_config(rendered(srv))["disable"])


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_secrets_are_encrypted_at_rest(srv):
    # The management cluster stores the Hetzner token and the workload kubeconfigs as Secrets.
    assert k3s_config(rendered(srv))["secrets-encryption"] is True


def test_ca_material_lands_where_k3s_looks_for_it():
    written = files(rendered(server(0, 3)))
    assert {p for p in written if p.startswith("/var/lib/rancher/k3s/server/tls/")} == K3S_CA_FILES
    for name in cloudinit.CA_NAMES:
        assert written[f"/var/lib/rancher/k3s/server/tls/{name}.crt"]["content"] == pem(f"{name} cert")
        assert written[f"/var/lib/rancher/k3s/server/tls/{name}.key"]["content"] == pem(f"{name} key")
    assert written["/var/lib/rancher/k3s/server/tls/service.key"]["content"] == pem("service key")


@pytest.mark.parametrize("srv", [server(1, 3), server(2, 3)], ids=IDS)
def test_joiners_get_no_ca_keys(srv):
    # Joiners receive the CAs from the cluster (encrypted with the token); their user data holds none.
    assert not any("/tls/" in path for path in files(rendered(srv)))


@pytest.mark.parametrize("srv", CASES, ids=IDS)
def test_secrets_are_written_readable_by_root_only(srv):
    for path, f in files(rendered(srv)).items():
        # cloud-init reads permissions as an octal string and, on anything else, warns and writes
        # 0644 (canonical/cloud-init cloudinit/config/cc_write_files.py decode_perms).
        mode = int(f["permissions"], 8)
        if path.endswith(".key") or path == "/etc/rancher/k3s/config.yaml":  # keys; the join token
            assert mode == 0o600, path


def test_root_keeps_ssh_access_with_the_project_keys():
    doc = rendered(server(0, 1))
    # With disable_root (on by default) cloud-init prefixes root's authorized keys with
    # disable_root_opts, by default a command that refuses the login
    # (canonical/cloud-init cloudinit/config/cc_ssh.py apply_credentials).
    assert doc.get("disable_root") is False or doc.get("disable_root_opts") == ""


def test_user_data_of_exactly_32_kib_is_accepted():
    # Hetzner limits user data to 32 KiB. The join token only appears once, so each byte of it is one byte more.
    srv = server(0, 1)
    size = len(cloudinit.user_data(srv).encode())
    fits = cloudinit.K3sServer(**{**srv.__dict__, "token": srv.token + "x" * (32768 - size)})
    assert len(cloudinit.user_data(fits).encode()) == 32768
    with pytest.raises(ValueError, match="is 32769 bytes; Hetzner allows 32768"):
        cloudinit.user_data(cloudinit.K3sServer(**{**fits.__dict__, "token": fits.token + "x"}))


def test_oversized_user_data_is_refused():
    big = {name: (PEM * 20, PEM * 20) for name in cloudinit.CA_NAMES}
    srv = server(0, 1)
    with pytest.raises(ValueError, match="Hetzner allows 32768"):
        cloudinit.user_data(cloudinit.K3sServer(**{**srv.__dict__, "cas": big}))
