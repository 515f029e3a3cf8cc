"""wait_for_apiserver against a real local TLS server: verified TLS, clear failure."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from clusterctl_py.wait import ApiNotReady, wait_for_apiserver

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make test certificates")


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=apiserver", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.crt", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days", "1", "-subj", "/CN=other", cwd=d)
    return d


def serve(pki, statuses: list[int]):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            self.send_response(status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "srv.crt", pki / "srv.key")
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_waits_until_ready(pki):
    httpd = serve(pki, [503, 503, 200])
    try:
        wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "ca.crt").read_text(), timeout=30)
    finally:
        httpd.shutdown()


def test_refuses_a_server_signed_by_another_ca(pki):
    httpd = serve(pki, [200])
    try:
        with pytest.raises(ApiNotReady, match=r"https://127\.0\.0\.1:\d+/readyz not ready after 2s: .*CERTIFICATE_VERIFY_FAILED"):
            wait_for_apiserver("127.0.0.1", httpd.server_address[1], (pki / "other.crt").read_text(), timeout=2)
    finally:
        httpd.shutdown()
