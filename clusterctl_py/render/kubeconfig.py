"""Kubeconfig documents (pure)."""

from __future__ import annotations

import base64

import yaml


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(name: str, server: str, ca_pem: str, client_cert_pem: str, client_key_pem: str) -> str:
    """A kubeconfig that trusts exactly `ca_pem`; TLS verification is never skipped."""
    user = f"{name}-admin"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": user, "user": {"client-certificate-data": _b64(client_cert_pem), "client-key-data": _b64(client_key_pem)}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }
    return yaml.safe_dump(doc, sort_keys=False)
