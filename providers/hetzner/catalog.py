"""Offline catalog of Hetzner Cloud server types and locations.

Rendering and validation must work without a token or network, so the
facts a cluster spec depends on (size, architecture, where a type is sold,
whether it is deprecated) live here as data. The live API stays the
authority: preflight compares this table with `GET /server_types` and says
where they disagree.

Prices are monthly list prices in EUR without VAT for EU locations; they
feed `cost` estimates, never decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TAKEN_ON = "2026-11-24"

Architecture = Literal["x86", "arm"]

EU = ("fsn1", "nbg1", "hel1")
US = ("ash", "hil")
AP = ("sin",)
EVERYWHERE = EU + US + AP


@dataclass(frozen=True, slots=True)
class ServerType:
    name: str
    cores: int
    memory_gb: float
    disk_gb: int
    architecture: Architecture
    cpu_type: Literal["shared", "dedicated"]
    locations: tuple[str, ...]
    monthly_eur: float
    deprecated: bool = False
    successor: str | None = None

    @property
    def kubernetes_arch(self) -> str:
        """The value the kubelet reports as `kubernetes.io/arch`."""
        return "arm64" if self.architecture == "arm" else "amd64"


@dataclass(frozen=True, slots=True)
class Location:
    name: str
    city: str
    network_zone: str


LOCATIONS: dict[str, Location] = {
    loc.name: loc
    for loc in (
        Location("fsn1", "Falkenstein", "eu-central"),
        Location("nbg1", "Nuremberg", "eu-central"),
        Location("hel1", "Helsinki", "eu-central"),
        Location("ash", "Ashburn, VA", "us-east"),
        Location("hil", "Hillsboro, OR", "us-west"),
        Location("sin", "Singapore", "ap-southeast"),
    )
}

NETWORK_ZONES = tuple(sorted({loc.network_zone for loc in LOCATIONS.values()}))


SERVER_TYPES: dict[str, ServerType] = {
    st.name: st
    for st in (
        # Cost-optimised shared x86 (generation 3), EU only.
        ServerType("cx23", 2, 4, 40, "x86", "shared", EU, 3.49),
        ServerType("cx33", 4, 8, 80, "x86", "shared", EU, 5.49),
        ServerType("cx43", 8, 16, 160, "x86", "shared", EU, 9.49),
        ServerType("cx53", 16, 32, 320, "x86", "shared", EU, 17.49),
        # Regular-performance shared AMD (generation 2).
        ServerType("cpx12", 1, 2, 40, "x86", "shared", EVERYWHERE, 4.49),
        ServerType("cpx22", 2, 4, 80, "x86", "shared", EVERYWHERE, 7.49),
        ServerType("cpx32", 4, 8, 160, "x86", "shared", EVERYWHERE, 12.49),
        ServerType("cpx42", 8, 16, 320, "x86", "shared", EVERYWHERE, 22.49),
        ServerType("cpx52", 12, 24, 480, "x86", "shared", EVERYWHERE, 32.49),
        ServerType("cpx62", 16, 32, 640, "x86", "shared", EVERYWHERE, 42.49),
        # Shared Ampere arm64, EU only.
        ServerType("cax11", 2, 4, 40, "arm", "shared", EU, 4.49),
        ServerType("cax21", 4, 8, 80, "arm", "shared", EU, 7.99),
        ServerType("cax31", 8, 16, 160, "arm", "shared", EU, 15.99),
        ServerType("cax41", 16, 32, 320, "arm", "shared", EU, 31.49),
        # Dedicated AMD.
        ServerType("ccx13", 2, 8, 80, "x86", "dedicated", EVERYWHERE, 14.49),
        ServerType("ccx23", 4, 16, 160, "x86", "dedicated", EVERYWHERE, 28.49),
        ServerType("ccx33", 8, 32, 240, "x86", "dedicated", EVERYWHERE, 56.49),
        ServerType("ccx43", 16, 64, 360, "x86", "dedicated", EVERYWHERE, 112.49),
        ServerType("ccx53", 32, 128, 600, "x86", "dedicated", EVERYWHERE, 224.49),
        ServerType("ccx63", 48, 192, 960, "x86", "dedicated", EVERYWHERE, 336.49),
        # Deprecated: still known so that we can name the successor.
        ServerType("cx22", 2, 4, 40, "x86", "shared", EU, 4.59, True, "cx23"),
        ServerType("cx32", 4, 8, 80, "x86", "shared", EU, 7.59, True, "cx33"),
        ServerType("cx42", 8, 16, 160, "x86", "shared", EU, 18.59, True, "cx43"),
        ServerType("cx52", 16, 32, 320, "x86", "shared", EU, 36.39, True, "cx53"),
        ServerType("cpx11", 2, 2, 40, "x86", "shared", EVERYWHERE, 5.09, True, "cpx12"),
        ServerType("cpx21", 3, 4, 80, "x86", "shared", EVERYWHERE, 9.59, True, "cpx22"),
        ServerType("cpx31", 4, 8, 160, "x86", "shared", EVERYWHERE, 16.59, True, "cpx32"),
        ServerType("cpx41", 8, 16, 240, "x86", "shared", EVERYWHERE, 30.59, True, "cpx42"),
        ServerType("cpx51", 16, 32, 360, "x86", "shared", EVERYWHERE, 61.09, True, "cpx62"),
    )
}


def current_server_types() -> list[str]:
    """Names a user may choose today, in catalog order."""
    return [name for name, st in SERVER_TYPES.items() if not st.deprecated]


# Monthly list prices in EUR without VAT, EU locations, as of TAKEN_ON.
LOAD_BALANCER_EUR = {"lb11": 5.39, "lb21": 16.40, "lb31": 32.90}
PRIMARY_IPV4_EUR = 0.50
