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


def _t(name, cores, mem, disk, arch, cpu, locs, eur, deprecated=False, successor=None):
    return ServerType(name, cores, mem, disk, arch, cpu, locs, eur, deprecated, successor)


SERVER_TYPES: dict[str, ServerType] = {
    st.name: st
    for st in (
        # Cost-optimised shared x86 (generation 3), EU only.
        _t("cx23", 2, 4, 40, "x86", "shared", EU, 3.49),
        _t("cx33", 4, 8, 80, "x86", "shared", EU, 5.49),
        _t("cx43", 8, 16, 160, "x86", "shared", EU, 9.49),
        _t("cx53", 16, 32, 320, "x86", "shared", EU, 17.49),
        # Regular-performance shared AMD (generation 2).
        _t("cpx12", 1, 2, 40, "x86", "shared", EVERYWHERE, 4.49),
        _t("cpx22", 2, 4, 80, "x86", "shared", EVERYWHERE, 7.49),
        _t("cpx32", 4, 8, 160, "x86", "shared", EVERYWHERE, 12.49),
        _t("cpx42", 8, 16, 320, "x86", "shared", EVERYWHERE, 22.49),
        _t("cpx52", 12, 24, 480, "x86", "shared", EVERYWHERE, 32.49),
        _t("cpx62", 16, 32, 640, "x86", "shared", EVERYWHERE, 42.49),
        # Shared Ampere arm64, EU only.
        _t("cax11", 2, 4, 40, "arm", "shared", EU, 4.49),
        _t("cax21", 4, 8, 80, "arm", "shared", EU, 7.99),
        _t("cax31", 8, 16, 160, "arm", "shared", EU, 15.99),
        _t("cax41", 16, 32, 320, "arm", "shared", EU, 31.49),
        # Dedicated AMD.
        _t("ccx13", 2, 8, 80, "x86", "dedicated", EVERYWHERE, 14.49),
        _t("ccx23", 4, 16, 160, "x86", "dedicated", EVERYWHERE, 28.49),
        _t("ccx33", 8, 32, 240, "x86", "dedicated", EVERYWHERE, 56.49),
        _t("ccx43", 16, 64, 360, "x86", "dedicated", EVERYWHERE, 112.49),
        _t("ccx53", 32, 128, 600, "x86", "dedicated", EVERYWHERE, 224.49),
        _t("ccx63", 48, 192, 960, "x86", "dedicated", EVERYWHERE, 336.49),
        # Deprecated: still known so that we can name the successor.
        _t("cx22", 2, 4, 40, "x86", "shared", EU, 4.59, True, "cx23"),
        _t("cx32", 4, 8, 80, "x86", "shared", EU, 7.59, True, "cx33"),
        _t("cx42", 8, 16, 160, "x86", "shared", EU, 18.59, True, "cx43"),
        _t("cx52", 16, 32, 320, "x86", "shared", EU, 36.39, True, "cx53"),
        _t("cpx11", 2, 2, 40, "x86", "shared", EVERYWHERE, 5.09, True, "cpx12"),
        _t("cpx21", 3, 4, 80, "x86", "shared", EVERYWHERE, 9.59, True, "cpx22"),
        _t("cpx31", 4, 8, 160, "x86", "shared", EVERYWHERE, 16.59, True, "cpx32"),
        _t("cpx41", 8, 16, 240, "x86", "shared", EVERYWHERE, 30.59, True, "cpx42"),
        _t("cpx51", 16, 32, 360, "x86", "shared", EVERYWHERE, 61.09, True, "cpx62"),
    )
}


def current_server_types() -> list[str]:
    """Names a user may choose today, in catalog order."""
    return [name for name, st in SERVER_TYPES.items() if not st.deprecated]


# Monthly list prices in EUR without VAT, EU locations, as of TAKEN_ON.
LOAD_BALANCER_EUR = {"lb11": 5.39, "lb21": 16.40, "lb31": 32.90}
PRIMARY_IPV4_EUR = 0.50
