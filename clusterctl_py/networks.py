"""Address ranges in the spec: parsed once, with messages that name the value.

Shared by the core spec (pod and service ranges) and providers (private
networks), so the RFC 1918 rule is written once.
"""

from __future__ import annotations

import ipaddress

from clusterctl_py.errors import invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def cidr(value: str) -> Network:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise invalid("'{value}' is not a CIDR block ({reason})", value=value, reason=str(exc)) from None


def is_rfc1918(net: Network) -> bool:
    return isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(r) for r in RFC1918)


def private_ipv4(value: str, why: str) -> str:
    """`value` normalised, or an error saying it must lie in RFC 1918 and `why`."""
    net = cidr(value)
    if not is_rfc1918(net):
        kind = "an IPv6 range" if net.version == 6 else "not a private IPv4 range"
        raise invalid(
            "'{value}' is {kind}; allowed: a range inside {allowed} (RFC 1918), {why}",
            value=value,
            kind=kind,
            allowed=", ".join(map(str, RFC1918)),
            why=why,
        )
    return str(net)
