"""The `hetzner:` section of the platform spec."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from providers.hetzner.catalog import LOCATIONS, NETWORK_ZONES


def _location(value: str) -> str:
    if value not in LOCATIONS:
        raise PydanticCustomError(
            "unknown_location",
            "unknown Hetzner location '{value}'; allowed: {allowed}",
            {"value": value, "allowed": ", ".join(LOCATIONS)},
        )
    return value


HetznerLocation = Annotated[str, AfterValidator(_location)]


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise PydanticCustomError("cidr", "not a CIDR block ({reason})", {"reason": str(exc)}) from None
    if net.version != 4 or not net.is_private:
        raise PydanticCustomError("cidr", "must be a private IPv4 range (RFC 1918)", {})
    return str(net)


PrivateCidr = Annotated[str, AfterValidator(_cidr)]


class HetznerSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    location: HetznerLocation = "fsn1"
    network_zone: Literal["eu-central", "us-east", "us-west", "ap-southeast"] | None = Field(
        default=None, description="Defaults to the zone of `location`."
    )
    ssh_keys: list[str] = Field(min_length=1, description="Names of SSH keys already in the Hetzner project.")
    image: str = "ubuntu-24.04"
    load_balancer_type: Literal["lb11", "lb21", "lb31"] = "lb11"
    network_cidr: PrivateCidr = "10.0.0.0/16"
    subnet_cidr: PrivateCidr = "10.0.0.0/24"

    @field_validator("ssh_keys")
    @classmethod
    def _unique_keys(cls, keys: list[str]) -> list[str]:
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("duplicate", "SSH key names must be unique", {})
        if any(not k.strip() for k in keys):
            raise PydanticCustomError("empty", "SSH key names must not be empty", {})
        return keys

    # Field validators (not one model validator) so each error names its own field.
    @field_validator("network_zone")
    @classmethod
    def _zone_contains_location(cls, zone: str | None, info: ValidationInfo) -> str | None:
        location = info.data.get("location")
        if zone is not None and location is not None and zone != LOCATIONS[location].network_zone:
            raise PydanticCustomError(
                "zone_mismatch",
                "networkZone '{given}' does not contain location '{loc}' (zone '{zone}'); allowed zones: {zones}",
                {"given": zone, "loc": location, "zone": LOCATIONS[location].network_zone, "zones": ", ".join(NETWORK_ZONES)},
            )
        return zone

    @field_validator("subnet_cidr")
    @classmethod
    def _subnet_inside_network(cls, subnet: str, info: ValidationInfo) -> str:
        network = info.data.get("network_cidr")
        if network is not None and not ipaddress.ip_network(subnet).subnet_of(ipaddress.ip_network(network)):
            raise PydanticCustomError(
                "subnet", "subnetCidr {sub} lies outside networkCidr {net}", {"sub": subnet, "net": network}
            )
        return subnet

    @model_validator(mode="after")
    def _default_zone(self) -> "HetznerSettings":
        if self.network_zone is None:
            object.__setattr__(self, "network_zone", LOCATIONS[self.location].network_zone)
        return self
