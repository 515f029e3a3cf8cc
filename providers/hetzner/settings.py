"""The `hetzner:` section of the platform spec."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from clusterctl_py import networks
from clusterctl_py.errors import invalid
from clusterctl_py.providers.hetzner.catalog import LOCATIONS, NETWORK_ZONES


def _location(value: str) -> str:
    if value not in LOCATIONS:
        raise invalid("unknown Hetzner location '{value}'; allowed: {allowed}", value=value, allowed=", ".join(LOCATIONS))
    return value


HetznerLocation = Annotated[str, AfterValidator(_location)]


def _network(value: str) -> str:
    # Hetzner's API takes only RFC 1918 ranges for a network's ip_range.
    return networks.private_ipv4(value, "as Hetzner requires for private networks")


PrivateCidr = Annotated[str, AfterValidator(_network)]


def _ssh_key_name(value: str) -> str:
    if not value.strip() or value != value.strip():
        raise invalid(
            "'{value}' is not an SSH key name: names are not empty and have no surrounding blanks", value=value[:80]
        )
    return value


def _image(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise invalid(
            "'{value}' is not a Hetzner image name or label (not empty, no blanks), e.g. ubuntu-24.04", value=value[:80]
        )
    return value


class HetznerSettings(BaseModel):
    # Strict and camelCase only, like the rest of the spec (clusterctl_py/spec.py).
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, strict=True)

    location: HetznerLocation = "fsn1"
    network_zone: Literal["eu-central", "us-east", "us-west", "ap-southeast"] | None = Field(
        default=None, description="Defaults to the zone of `location`."
    )
    ssh_keys: list[Annotated[str, AfterValidator(_ssh_key_name)]] = Field(min_length=1, description="Names of SSH keys already in the Hetzner project.")
    image: Annotated[str, AfterValidator(_image)] = Field(
        "ubuntu-24.04", description="Name or label selector of a Hetzner image (CAPH imageName: minLength 1)."
    )
    load_balancer_type: Literal["lb11", "lb21", "lb31"] = "lb11"
    network_cidr: PrivateCidr = "10.0.0.0/16"
    subnet_cidr: PrivateCidr = "10.0.0.0/24"

    # Field validators (not one model validator) so each error names its own field.
    @field_validator("network_zone")
    @classmethod
    def _zone_contains_location(cls, zone: str | None, info: ValidationInfo) -> str | None:
        location = info.data.get("location")
        if zone is not None and location is not None and zone != LOCATIONS[location].network_zone:
            raise invalid(
                "networkZone '{given}' does not contain location '{loc}' (zone '{zone}'); allowed zones: {zones}",
                given=zone,
                loc=location,
                zone=LOCATIONS[location].network_zone,
                zones=", ".join(NETWORK_ZONES),
            )
        return zone

    @field_validator("subnet_cidr")
    @classmethod
    def _subnet_inside_network(cls, subnet: str, info: ValidationInfo) -> str:
        network = info.data.get("network_cidr")
        if network is not None and not ipaddress.ip_network(subnet).subnet_of(ipaddress.ip_network(network)):
            raise invalid("subnetCidr {sub} lies outside networkCidr {net}", sub=subnet, net=network)
        return subnet

    @model_validator(mode="after")
    def _default_zone(self) -> "HetznerSettings":
        if self.network_zone is None:
            object.__setattr__(self, "network_zone", LOCATIONS[self.location].network_zone)
        return self
