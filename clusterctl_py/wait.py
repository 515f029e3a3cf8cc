"""Waiting for a Kubernetes API server, with TLS verified against its own CA.

The probe authenticates with the client certificate: k3s runs kube-apiserver
with anonymous auth off, so an anonymous /readyz is answered 401 however
healthy the server is. A 401 never heals by waiting (the server does not
accept the certificate we hold), so it ends the wait at once instead of
after the timeout.
"""

from __future__ import annotations

import http.client
import os
import ssl
import tempfile

from tenacity import RetryError, retry, retry_if_exception, stop_after_delay, wait_exponential

from clusterctl_py.errors import ClusterctlError


class ApiNotReady(ClusterctlError):
    pass


class ApiUnauthorized(ApiNotReady):
    """The API server answered but refused our credentials."""


def _context(ca_pem: str, cert_pem: str | None, key_pem: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem)
    if cert_pem and key_pem:
        # ssl wants files; keep them private and short-lived.
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, pem in (("cert.pem", cert_pem), ("key.pem", key_pem)):
                path = os.path.join(tmp, name)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(pem)
                paths.append(path)
            ctx.load_cert_chain(*paths)
    return ctx


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (OSError, ApiNotReady, http.client.HTTPException)) and not isinstance(exc, ApiUnauthorized)


def wait_for_apiserver(
    host: str,
    port: int,
    ca_pem: str,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
    timeout: float = 900.0,
) -> None:
    """Return once GET /readyz answers 200 over verified TLS; raise ApiNotReady after `timeout` seconds
    (ApiUnauthorized at once when the server refuses the client certificate)."""
    ctx = _context(ca_pem, client_cert_pem, client_key_pem)
    url = f"https://{host}:{port}/readyz"

    @retry(retry=retry_if_exception(_transient), stop=stop_after_delay(timeout), wait=wait_exponential(multiplier=0.5, max=15))
    def probe() -> None:
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            response.read()  # never quoted: a body is the server's, not ours to print
            if response.status == 401:
                held = "the client certificate was not accepted" if client_cert_pem else "no client certificate was presented"
                raise ApiUnauthorized(f"{url} answered HTTP 401 Unauthorized: {held}")
            if response.status != 200:
                raise ApiNotReady(f"{url} answered HTTP {response.status}")
        finally:
            conn.close()

    try:
        probe()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise ApiNotReady(f"{url} not ready after {timeout:.0f}s: {last}") from None
