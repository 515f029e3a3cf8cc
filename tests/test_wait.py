"""wait_for_apiserver against a real local TLS server that authenticates clients like k3s."""

from __future__ import annotations

import pytest

from clusterctl_py.wait import ApiNotReady, wait_for_apiserver
from tests.support.pki import Request, make_pki, serve_readyz


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki):
    servers = []

    def start(statuses):
        servers.append(serve_readyz(pki, statuses))
        return servers[-1]

    yield start
    for httpd in servers:
        httpd.shutdown()


def admin(pki) -> dict[str, str]:
    return {"client_cert_pem": (pki / "client.crt").read_text(), "client_key_pem": (pki / "client.key").read_text()}


def test_waits_until_ready_presenting_the_client_certificate(pki, server):
    httpd = server([503, 503, 200])
    wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "ca.crt").read_text(), **admin(pki), timeout=30)
    assert httpd.requests == [Request("/readyz", "admin", 503), Request("/readyz", "admin", 503), Request("/readyz", "admin", 200)]


def test_without_the_client_certificate_the_server_answers_401_and_the_wait_stops(pki, server):
    # k3s refuses anonymous requests, however healthy it is: waiting longer cannot help.
    httpd = server([200])
    with pytest.raises(ApiNotReady) as info:
        wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "ca.crt").read_text(), timeout=30)
    port = httpd.server_address[1]
    assert str(info.value) == f"https://127.0.0.1:{port}/readyz answered HTTP 401 Unauthorized: no client certificate was presented"
    assert httpd.requests == [Request("/readyz", None, 401)]


def test_a_client_certificate_from_another_ca_is_refused(pki, server):
    httpd = server([200])
    stranger = {"client_cert_pem": (pki / "stranger.crt").read_text(), "client_key_pem": (pki / "stranger.key").read_text()}
    # TLS 1.3 finishes the client's side of the handshake before the server checks its certificate:
    # the client then reads either the server's unknown-CA alert or, if the server closed first, an EOF.
    refused = r"https://127\.0\.0\.1:\d+/readyz not ready after 1s: .*(TLSV1_ALERT_UNKNOWN_CA|EOF occurred in violation of protocol)"
    with pytest.raises(ApiNotReady, match=refused):
        wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "ca.crt").read_text(), **stranger, timeout=1)
    assert httpd.requests == []  # refused in the handshake, never reached /readyz


def test_refuses_a_server_signed_by_another_ca(pki, server):
    httpd = server([200])
    with pytest.raises(ApiNotReady, match=r"https://127\.0\.0\.1:\d+/readyz not ready after 1s: .*CERTIFICATE_VERIFY_FAILED"):
        wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "other.crt").read_text(), **admin(pki), timeout=1)
    assert httpd.requests == []
