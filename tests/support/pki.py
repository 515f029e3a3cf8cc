"""Throwaway certificates and a local HTTPS /readyz server for tests that need real TLS."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> Path:
    """ca, srv (IP SAN 127.0.0.1, signed by ca), client (signed by ca), other (an unrelated CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    _openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, subj in (("srv", "/CN=apiserver"), ("client", "/O=system:masters/CN=admin")):
        _openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    _openssl("req", "-x509", *EC, "-keyout", "other.key", "-out", "other.crt", "-days", "1", "-subj", "/CN=other", cwd=d)
    return d


def serve_readyz(pki: Path, statuses: list[int]) -> http.server.ThreadingHTTPServer:
    """HTTPS on 127.0.0.1 (free port) answering /readyz with each status in turn, then the last one."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's API
            requests.append(self.path)
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            self.send_response(status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "srv.crt", pki / "srv.key")
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.requests = requests  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
