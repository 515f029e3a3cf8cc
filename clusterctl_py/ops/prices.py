"""Live prices for `cost --live`: the Hetzner API's, as PriceLists the cost estimate takes.

Servers are priced from `GET /server_types` (`prices[]` per location), load
balancers and primary IPv4 addresses from `GET /pricing`, which also gives
the currency and the VAT rate of the project's account. The API gives every
price net and gross; both are kept as the API gives them (two PriceLists,
one estimate each), never recomputed from the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Callable

from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.providers import PriceList

if TYPE_CHECKING:
    from clusterctl_py.clients.hetzner import HetznerApi, LocationPrice, Money
    from clusterctl_py.spec import PlatformSpec


@dataclass(frozen=True)
class LivePrices:
    net: PriceList
    gross: PriceList
    vat_rate: Decimal
    # (machine type, location, live net, catalog price) where the offline catalog is out of date
    differences: list[tuple[str, str, float, float]]


def _at(prices: tuple[LocationPrice, ...], location: str) -> Money | None:
    return next((p.monthly for p in prices if p.location == location), None)


def live_prices(spec: PlatformSpec, api: HetznerApi) -> LivePrices:
    """The API's monthly prices in every location the spec uses; SpecError where one has no price there."""
    footprint = spec.provider.footprint(spec)
    machines = footprint.machines
    locations = sorted({spec.hetzner.location, *(m.location for m in machines), *(lb.location for lb in footprint.load_balancers)})
    pricing = api.pricing()
    types = {st.name: st.prices for st in api.server_types()}

    problems = []
    for use in machines:
        if _at(types.get(use.machine_type, ()), use.location) is None:
            problems.append(Problem(use.path, f"the Hetzner API has no price for server type {use.machine_type!r} in"
                                              f" {use.location} (not offered there; `clusterctl-py preflight` says more)"))
    seen = set()
    for lb in footprint.load_balancers:
        # Each (type, location) once, named by the first spec field that asks for it.
        if (lb.load_balancer_type, lb.location) in seen:
            continue
        seen.add((lb.load_balancer_type, lb.location))
        if _at(pricing.load_balancer_types.get(lb.load_balancer_type, ()), lb.location) is None:
            problems.append(Problem(lb.path, f"the Hetzner API has no price for load balancer type"
                                             f" {lb.load_balancer_type!r} in {lb.location} ({lb.role} load balancer)"))
    if problems:
        raise SpecError(problems)

    def price_list(pick: Callable[[Money], Decimal], vat_note: str) -> PriceList:
        def one(location: str) -> PriceList:
            ipv4 = _at(pricing.primary_ips.get("ipv4", ()), location)
            return PriceList(
                source=f"Hetzner API at {api.endpoint}",
                currency=pricing.currency,
                vat_note=vat_note,
                machine={name: float(pick(m)) for name, ps in types.items() if (m := _at(ps, location)) is not None},
                load_balancer={
                    name: float(pick(m)) for name, ps in pricing.load_balancer_types.items() if (m := _at(ps, location)) is not None
                },
                ipv4=float(pick(ipv4)) if ipv4 is not None else 0.0,
            )

        per_location = {loc: one(loc) for loc in locations}
        default = per_location[spec.hetzner.location]
        return PriceList(default.source, default.currency, vat_note, default.machine, default.load_balancer, default.ipv4,
                         per_location)

    net = price_list(lambda m: m.net, "net prices without VAT")
    gross = price_list(lambda m: m.gross, f"gross prices with the VAT rate the API gives ({pricing.vat_rate}%)")
    differences = []
    for machine_type, location in sorted({(m.machine_type, m.location) for m in machines}):
        catalog = spec.provider.price_list(location).machine.get(machine_type)
        live = net.at(location).machine[machine_type]
        if catalog is not None and abs(catalog - live) >= 0.005:
            differences.append((machine_type, location, live, catalog))
    return LivePrices(net, gross, pricing.vat_rate, differences)
