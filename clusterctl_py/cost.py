"""Monthly cost estimate of a spec from a price list (pure).

The prices come from the provider's offline catalog or, with `cost --live`,
from its API; either way only what the spec makes is counted, the platform's
ingress load balancer included (no traffic, volumes, or load balancers of
Services you create yourself): enough to tell what a spec costs idle and at
full scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from clusterctl_py.spec import PlatformSpec
from clusterctl_py.providers import PriceList


@dataclass(frozen=True)
class Line:
    item: str
    count_min: int
    count_max: int
    unit_eur: float

    @property
    def min_eur(self) -> float:
        return self.count_min * self.unit_eur

    @property
    def max_eur(self) -> float:
        return self.count_max * self.unit_eur


@dataclass(frozen=True)
class Estimate:
    lines: list[Line]
    prices: PriceList

    @property
    def min_eur(self) -> float:
        return round(sum(line.min_eur for line in self.lines), 2)

    @property
    def max_eur(self) -> float:
        return round(sum(line.max_eur for line in self.lines), 2)


def monthly_estimate(spec: PlatformSpec, prices: PriceList | None = None) -> Estimate:
    """At minimum and maximum scale; `prices` defaults to the provider's offline catalog."""
    prices = prices or spec.provider.price_list()
    m = spec.management
    here = prices.at(m.location or spec.hetzner.location)
    lines = [
        Line(f"management: {m.servers}x {m.server_type}", m.servers, m.servers, here.machine[m.server_type]),
        Line("management: primary IPv4", m.servers, m.servers, here.ipv4),
    ]
    for c in spec.clusters:
        cp, here = c.control_plane, prices.at(spec.location_of(c))
        lines.append(Line(f"{c.name}: control plane {cp.server_type}", cp.replicas, cp.replicas, here.machine[cp.server_type]))
        lines.append(Line(f"{c.name}: API load balancer {spec.hetzner.load_balancer_type}", 1, 1,
                          here.load_balancer[spec.hetzner.load_balancer_type]))
        if c.platform is not None:
            # The platform's ingress Service, which the cloud controller turns into a load balancer.
            lb_type = spec.provider.ingress_load_balancer_type
            lines.append(Line(f"{c.name}: ingress load balancer {lb_type}", 1, 1, here.load_balancer[lb_type]))
        for p in c.pools:
            lines.append(Line(f"{c.name}: pool {p.name} {p.server_type}", p.min, p.max, here.machine[p.server_type]))
        # CAPH gives every server a public IPv4 (for egress without a NAT gateway).
        low, high = cp.replicas + sum(p.min for p in c.pools), cp.replicas + sum(p.max for p in c.pools)
        lines.append(Line(f"{c.name}: server IPv4 addresses", low, high, here.ipv4))
    return Estimate(lines, prices)
