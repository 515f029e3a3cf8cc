"""The management cluster's admin kubeconfig, used the way its users use it: loaded by the
Kubernetes Python client and by kubectl, then sent to a local TLS server that, like k3s,
answers 401 without a client certificate from its client CA (tests/support/pki.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import config as kube_config

from clusterctl_py.render.kubeconfig import kubeconfig
from tests.support.pki import Request, make_pki, serve_readyz


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path)


@pytest.fixture
def apiserver(pki):
    httpd = serve_readyz(pki, [200])
    yield httpd
    httpd.shutdown()


def render(name: str, httpd, pki: Path, ca: str = "ca.crt") -> str:
    server = f"https://127.0.0.1:{httpd.server_address[1]}"
    return kubeconfig(name, server, (pki / ca).read_text(), (pki / "client.crt").read_text(), (pki / "client.key").read_text())


def write_private(path: Path, text: str) -> Path:
    """A kubeconfig holds a private key: only ever on disk 0600, as users keep theirs."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def readyz(api_client) -> int:
    return api_client.call_api("GET", api_client.configuration.host + "/readyz").status


def test_kubernetes_client_reaches_the_api_as_admin(pki, apiserver):
    # No context named: the client must follow current-context to a cluster and a user.
    client = kube_config.new_client_from_config_dict(yaml.safe_load(render("mgmt", apiserver, pki)))
    assert readyz(client) == 200
    # The server saw the admin client certificate: an anonymous request gets 401 from k3s.
    assert apiserver.requests == [Request("/readyz", "admin", 200)]


def test_is_a_v1_config_as_kubectl_decodes_it(pki, apiserver):
    doc = yaml.safe_load(render("mgmt", apiserver, pki))
    # client-go decodes a kubeconfig only as kind Config of version v1 and refuses any other
    # ("no kind ... is registered for version"): kubernetes/client-go tools/clientcmd/api/latest/latest.go.
    assert (doc["apiVersion"], doc["kind"]) == ("v1", "Config")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_reaches_the_api_as_admin(pki, apiserver, tmp_path):
    path = write_private(tmp_path / "kubeconfig", render("mgmt", apiserver, pki))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # no ~/.kube of the machine running the tests
    out = subprocess.run(["kubectl", "--kubeconfig", str(path), "get", "--raw", "/readyz"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout) == (0, "ok"), out.stderr
    # kubectl may ask /version first; every request it made carried the admin certificate.
    assert Request("/readyz", "admin", 200) in apiserver.requests
    assert {r.client for r in apiserver.requests} == {"admin"}


def test_two_management_clusters_merged_keep_their_own_credentials(tmp_path):
    # Users merge kubeconfigs (KUBECONFIG=a:b); entries merge by name, first one wins. Each
    # cluster's user must keep its own name, or one cluster's context would present the
    # other cluster's client certificate, which its API refuses.
    servers, paths = [], []
    try:
        for name in ("prod", "staging"):
            d = tmp_path / name
            d.mkdir()
            pki = make_pki(d)
            httpd = serve_readyz(pki, [200])
            servers.append(httpd)
            paths.append(write_private(tmp_path / f"{name}.yaml", render(name, httpd, pki)))
        merged = ":".join(str(p) for p in paths)
        for name, httpd in zip(("prod", "staging"), servers):
            client = kube_config.new_client_from_config(config_file=merged, context=name)
            assert readyz(client) == 200
            assert httpd.requests == [Request("/readyz", "admin", 200)]
    finally:
        for httpd in servers:
            httpd.shutdown()


def test_a_server_certificate_from_another_ca_is_refused(pki, apiserver):
    # The kubeconfig trusts exactly the cluster's CA: TLS verification is never skipped.
    client = kube_config.new_client_from_config_dict(yaml.safe_load(render("mgmt", apiserver, pki, ca="other.crt")))
    client.configuration.retries = 0
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        readyz(client)
    assert apiserver.requests == []
