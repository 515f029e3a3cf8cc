"""wait_for_apiserver against a real local TLS server: verified TLS, clear failure."""

from __future__ import annotations

import pytest

from clusterctl_py.wait import ApiNotReady, wait_for_apiserver
from tests.support.pki import make_pki, serve_readyz


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_waits_until_ready(pki):
    httpd = serve_readyz(pki, [503, 503, 200])
    try:
        wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "ca.crt").read_text(), timeout=30)
        assert httpd.requests == ["/readyz"] * 3
    finally:
        httpd.shutdown()


def test_refuses_a_server_signed_by_another_ca(pki):
    httpd = serve_readyz(pki, [200])
    try:
        with pytest.raises(ApiNotReady, match=r"https://127\.0\.0\.1:\d+/readyz not ready after 2s: .*CERTIFICATE_VERIFY_FAILED"):
            wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "other.crt").read_text(), timeout=2)
    finally:
        httpd.shutdown()
