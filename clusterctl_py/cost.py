"""Monthly cost estimate from the offline catalog (pure).

List prices only (no VAT, traffic, volumes or load balancers your apps
create); enough to tell what a spec costs idle and at full scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from clusterctl_py.spec import PlatformSpec
from providers.hetzner.catalog import LOAD_BALANCER_EUR, PRIMARY_IPV4_EUR, SERVER_TYPES, TAKEN_ON


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
    prices_taken_on: str = TAKEN_ON

    @property
    def min_eur(self) -> float:
        return round(sum(line.min_eur for line in self.lines), 2)

    @property
    def max_eur(self) -> float:
        return round(sum(line.max_eur for line in self.lines), 2)


def monthly_estimate(spec: PlatformSpec) -> Estimate:
    m = spec.management
    lines = [
        Line(f"management: {m.servers}x {m.server_type}", m.servers, m.servers, SERVER_TYPES[m.server_type].monthly_eur),
        Line("management: primary IPv4", m.servers, m.servers, PRIMARY_IPV4_EUR),
    ]
    for c in spec.clusters:
        cp = c.control_plane
        lines.append(Line(f"{c.name}: control plane {cp.server_type}", cp.replicas, cp.replicas, SERVER_TYPES[cp.server_type].monthly_eur))
        lines.append(Line(f"{c.name}: API load balancer {spec.hetzner.load_balancer_type}", 1, 1, LOAD_BALANCER_EUR[spec.hetzner.load_balancer_type]))
        for p in c.pools:
            lines.append(Line(f"{c.name}: pool {p.name} {p.server_type}", p.min, p.max, SERVER_TYPES[p.server_type].monthly_eur))
        # CAPH gives every server a public IPv4 (for egress without a NAT gateway).
        low, high = cp.replicas + sum(p.min for p in c.pools), cp.replicas + sum(p.max for p in c.pools)
        lines.append(Line(f"{c.name}: server IPv4 addresses", low, high, PRIMARY_IPV4_EUR))
    return Estimate(lines)
