"""Waiting for a Kubernetes API server, with TLS verified against its own CA."""

from __future__ import annotations

import http.client
import os
import ssl
import tempfile

from tenacity import RetryError, retry, retry_if_exception_type, stop_after_delay, wait_exponential


class ApiNotReady(RuntimeError):
    pass


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


def wait_for_apiserver(
    host: str,
    port: int,
    ca_pem: str,
    client_cert_pem: str | None = None,
    client_key_pem: str | None = None,
    timeout: float = 900.0,
) -> None:
    """Return once GET /readyz answers 200 over verified TLS; raise ApiNotReady after `timeout` seconds."""
    ctx = _context(ca_pem, client_cert_pem, client_key_pem)
    url = f"https://{host}:{port}/readyz"

    @retry(
        retry=retry_if_exception_type((OSError, ApiNotReady, http.client.HTTPException)),
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.5, max=15),
    )
    def probe() -> None:
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise ApiNotReady(f"{url} answered HTTP {response.status}")
        finally:
            conn.close()

    try:
        probe()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise ApiNotReady(f"{url} not ready after {timeout:.0f}s: {last}") from None
