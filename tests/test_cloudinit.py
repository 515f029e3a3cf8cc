"""k3s user data: valid cloud-config, under Hetzner's size limit, wired for HA."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from clusterctl_py.render import cloudinit

SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")
PEM = "-----BEGIN X-----\n" + "A" * 400 + "\n-----END X-----\n"


def server(index: int, servers: int, **extra) -> cloudinit.K3sServer:
    cas = {name: (PEM, PEM) for name in cloudinit.CA_NAMES} | {"service": (None, PEM)} if index == 0 else {}
    return cloudinit.K3sServer(
        index=index, servers=servers, k3s_version="v1.33.4+k3s1", token="s3cr3t-token", private_ip=f"10.0.0.{index + 2}",
        public_ip=f"198.51.100.{index + 10}", init_private_ip="10.0.0.2", tls_sans=("198.51.100.10",), cas=cas, **extra,
    )


CASES = [server(0, 1), server(0, 3), server(1, 3), server(2, 3)]


@pytest.mark.parametrize("srv", CASES, ids=lambda s: f"{s.index}of{s.servers}")
def test_user_data_is_cloud_config_within_limits(srv):
    text = cloudinit.user_data(srv)
    assert text.startswith("#cloud-config\n")
    assert len(text.encode()) < cloudinit.USER_DATA_LIMIT
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict) and doc["ssh_pwauth"] is False
    assert "INSTALL_K3S_VERSION='v1.33.4+k3s1'" in doc["runcmd"][0]


@pytest.mark.parametrize("srv", CASES, ids=lambda s: f"{s.index}of{s.servers}")
def test_user_data_validates_against_cloud_inits_schema(srv):
    if not SCHEMA.is_file():
        pytest.skip(f"cloud-init's schema not found at {SCHEMA} (Debian package cloud-init)")
    schema = json.loads(SCHEMA.read_text())
    doc = yaml.safe_load(cloudinit.user_data(srv))
    jsonschema.validate(doc, schema, cls=jsonschema.Draft4Validator)


def test_ha_roles():
    first = yaml.safe_load(cloudinit.user_data(server(0, 3)))
    joiner = yaml.safe_load(cloudinit.user_data(server(2, 3)))

    def config(doc):
        return yaml.safe_load(next(f["content"] for f in doc["write_files"] if f["path"] == "/etc/rancher/k3s/config.yaml"))

    assert config(first)["cluster-init"] is True and "server" not in config(first)
    assert config(joiner)["server"] == "https://10.0.0.2:6443" and "cluster-init" not in config(joiner)
    assert config(joiner)["token"] == config(first)["token"] == "s3cr3t-token"
    # Only the first server gets the CA keys; joiners receive them from the cluster.
    assert sum("/tls/" in f["path"] for f in first["write_files"]) == 11
    assert not any("/tls/" in f["path"] for f in joiner["write_files"])
    assert all(f["permissions"] == "0600" for f in first["write_files"] if f["path"].endswith(".key") or f["path"].endswith("config.yaml"))


def test_oversized_user_data_is_refused():
    big = {name: (PEM * 20, PEM * 20) for name in cloudinit.CA_NAMES}
    srv = server(0, 1)
    with pytest.raises(ValueError, match="Hetzner allows 32768"):
        cloudinit.user_data(cloudinit.K3sServer(**{**srv.__dict__, "cas": big}))
