"""Throwaway certificates and a local HTTPS /readyz server that authenticates clients like k3s.

k3s runs kube-apiserver with `anonymous-auth=false` (k3s-io/k3s
pkg/daemons/control/server.go) and a client CA. kube-apiserver asks every
client for a certificate without requiring one in the handshake
(tls.RequestClientCert in kubernetes staging/src/k8s.io/apiserver/pkg/server/
secure_serving.go) and answers an anonymous request 401 Unauthorized. The
test server does the same: it asks for a client certificate, verifies one
that is presented against the client CA (refusing the handshake otherwise),
and answers 401 to a request without one. /readyz needs a client certificate
signed by the client CA, as on a real management cluster.
"""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _self_signed(name: str, subject: str, cwd: Path) -> None:
    _openssl("req", "-x509", *EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1", "-subj", subject, cwd=cwd)


def _signed(name: str, subject: str, ca: str, cwd: Path, ext: str) -> None:
    (cwd / f"{name}.cnf").write_text(ext)
    _openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.cnf", cwd=cwd)


def make_pki(d: Path) -> Path:
    """Files in `d`: the server CA `ca` and its `srv` (IP SAN 127.0.0.1); the client CA `client-ca` and its
    `client` (CN admin, O system:masters); `other`, an unrelated CA, and `stranger`, a client certificate it signed."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    _self_signed("ca", "/CN=test-server-ca", d)
    _signed("srv", "/CN=apiserver", "ca", d, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    # k3s keeps separate server and client CAs; so does the management component (cloudinit.CA_NAMES).
    _self_signed("client-ca", "/CN=test-client-ca", d)
    _signed("client", "/O=system:masters/CN=admin", "client-ca", d, "extendedKeyUsage=clientAuth\n")
    _self_signed("other", "/CN=other", d)
    _signed("stranger", "/O=system:masters/CN=stranger", "other", d, "extendedKeyUsage=clientAuth\n")
    return d


@dataclass(frozen=True)
class Request:
    path: str
    client: str | None  # the client certificate's CN; None for an anonymous request
    status: int


_UNAUTHORIZED = json.dumps(
    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
).encode()


def serve_readyz(pki: Path, statuses: list[int]) -> http.server.ThreadingHTTPServer:
    """HTTPS on 127.0.0.1 (free port); an authenticated GET /readyz gets each status in turn, then the last one.

    `httpd.requests` records every request with the client certificate's CN (None when anonymous).
    """
    requests: list[Request] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's API
            cert = self.connection.getpeercert()
            client = dict(pair for rdn in cert["subject"] for pair in rdn).get("commonName") if cert else None
            if client is None:
                status, body = 401, _UNAUTHORIZED
            elif self.path != "/readyz":
                status, body = 404, b""
            else:
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                body = b"ok" if status == 200 else b"[-]etcd failed: reason withheld\nreadyz check failed"
            requests.append(Request(self.path, client, status))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "srv.crt", pki / "srv.key")
    ctx.load_verify_locations(pki / "client-ca.crt")
    ctx.verify_mode = ssl.CERT_OPTIONAL  # ask for a client certificate; anonymous requests get 401 above
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.requests = requests  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
