"""The Hetzner Cloud API, through hcloud-python, as our own frozen dataclasses.

The only module that imports `hcloud`. Commands get a `HetznerApi` (the
Protocol below; `default_api()` builds the real one) and never hold an hcloud
object: a Bound object made from a partial answer (a server's volumes, a
server type's locations) fetches itself the first time a missing attribute
is read, one hidden GET per object. Every dataclass here is built from the
fields of the list answer only, through `.data_model`, which never reloads.

Where the API is (as the `hcloud` CLI reads it, hetznercloud/cli
internal/state/config/options.go OptionEndpoint: env `HCLOUD_ENDPOINT`,
default https://api.hetzner.cloud/v1, empty means the default); the token
comes from `HCLOUD_TOKEN` through the caller and is never logged or printed.

One retry policy. hcloud-python 2.27 retries by itself (hcloud/_client.py,
ClientBase.request and _retry_policy): an error answer whose body code is
`rate_limit_exceeded` (a 429 without that body is not retried), `conflict`,
`bad_gateway` or `timeout`; an answer without an error body with HTTP 502 or
504; and `requests.Timeout` (connect and read timeouts). At most 5 retries,
waiting uniform(1, min(60, 2**n)) seconds, blind to `RateLimit-Reset`; the
count is not a parameter. It does not retry dropped or refused connections,
nor 500/503. We configure it (application name, timeout, action polling)
and do not wrap it; the only layer added is tenacity for the connection
errors it leaves alone, bounded (RECONNECTS), on reads and idempotent
updates only. What it gives up on leaves as one ClientError line.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
import tenacity
from hcloud import APIException, Client, exponential_backoff_function
from hcloud.actions import ActionFailedException, ActionTimeoutException

from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.clients.errors import ClientError, Forbidden, NotFound, Unauthorized, Unavailable

API = "Hetzner API"
DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
APPLICATION = "clusterctl-py"
# Seconds to connect and to wait for an answer; hcloud retries a timeout itself.
TIMEOUT = (10.0, 60.0)
# Action polling: 1 s doubling up to 10 s, with jitter, at most 120 polls (about 20 minutes): no request storms.
POLL_INTERVAL = exponential_backoff_function(base=1.0, multiplier=2, cap=10.0, jitter=True)
POLL_MAX_RETRIES = 120
# Extra attempts after a dropped or refused connection (hcloud makes none).
RECONNECTS = 2
HCLOUD_RETRIES = 5  # hcloud/_client.py ClientBase._retry_max_retries; named in messages

Backoff = Callable[[int], float]
T = TypeVar("T")


# ---- what the API returns, as far as we read it ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    """One price as the API gives it: decimal strings, without and with VAT."""

    net: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class LocationPrice:
    location: str
    monthly: Money
    hourly: Money


@dataclass(frozen=True, slots=True)
class Deprecation:
    announced: datetime | None
    unavailable_after: datetime | None


@dataclass(frozen=True, slots=True)
class ServerTypeLocation:
    """A server type in one location: `locations[]` of /server_types (which replaces the top-level `deprecation`)."""

    location: str
    available: bool
    recommended: bool
    deprecation: Deprecation | None


@dataclass(frozen=True, slots=True)
class ServerType:
    id: int
    name: str
    cores: int
    memory_gb: float
    disk_gb: int
    architecture: str  # x86 | arm
    cpu_type: str
    locations: tuple[ServerTypeLocation, ...]
    prices: tuple[LocationPrice, ...]

    def at(self, location: str) -> ServerTypeLocation | None:
        return next((loc for loc in self.locations if loc.location == location), None)

    def price_at(self, location: str) -> LocationPrice | None:
        return next((p for p in self.prices if p.location == location), None)


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    name: str
    city: str
    country: str
    network_zone: str


@dataclass(frozen=True, slots=True)
class Image:
    id: int
    name: str | None  # snapshots and backups have none
    type: str  # system | app | snapshot | backup
    architecture: str
    status: str
    deprecation: Deprecation | None  # images hidden from listings unless include_deprecated
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SshKey:
    id: int
    name: str
    fingerprint: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Server:
    id: int
    name: str
    status: str
    server_type: str
    location: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Network:
    id: int
    name: str
    ip_range: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Firewall:
    id: int
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    id: int
    name: str
    type: str
    location: str
    labels: Mapping[str, str]
    networks: tuple[int, ...] = ()  # ids of the private networks it is attached to


@dataclass(frozen=True, slots=True)
class PlacementGroup:
    id: int
    name: str
    type: str
    servers: tuple[int, ...]
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PrimaryIp:
    id: int
    name: str
    ip: str
    type: str
    assignee_id: int | None
    location: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Volume:
    id: int
    name: str
    size_gb: int
    server_id: int | None
    location: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Pricing:
    """`GET /pricing`: prices per location, net and gross, in the project's currency with its VAT rate."""

    currency: str
    vat_rate: Decimal  # percent, e.g. 19.00
    server_types: Mapping[str, tuple[LocationPrice, ...]]
    load_balancer_types: Mapping[str, tuple[LocationPrice, ...]]
    primary_ips: Mapping[str, tuple[LocationPrice, ...]]  # by type: ipv4, ipv6


@dataclass(frozen=True, slots=True)
class Action:
    id: int
    command: str
    status: str  # running | success | error
    error_code: str | None = None
    error_message: str | None = None


class HetznerApi(Protocol):
    """What clusterctl-py asks of the Hetzner Cloud API. Lists walk every page (one walk per call)."""

    endpoint: str

    def server_types(self) -> list[ServerType]: ...

    def locations(self) -> list[Location]: ...

    def images(self) -> list[Image]:
        """Every image, deprecated ones included (check `deprecation`)."""

    def ssh_keys(self) -> list[SshKey]: ...

    def servers(self, label_selector: str | None = None) -> list[Server]: ...

    def networks(self, label_selector: str | None = None) -> list[Network]: ...

    def firewalls(self, label_selector: str | None = None) -> list[Firewall]: ...

    def load_balancers(self, label_selector: str | None = None) -> list[LoadBalancer]: ...

    def placement_groups(self, label_selector: str | None = None) -> list[PlacementGroup]: ...

    def primary_ips(self, label_selector: str | None = None) -> list[PrimaryIp]: ...

    def volumes(self, label_selector: str | None = None) -> list[Volume]: ...

    def pricing(self) -> Pricing: ...

    def verify_write(self, key: SshKey) -> None:
        """Raise Forbidden unless the token may write; changes nothing (renames `key` to its own name)."""

    def wait_for_action(self, action_id: int) -> Action:
        """Poll an action until it ends; ClientError if it ends in error."""

    # Deletes raise NotFound when the object is gone already. Those the API answers
    # with an action return it still running: wait for it with wait_for_action.

    def delete_server(self, server: Server) -> Action: ...

    def delete_load_balancer(self, load_balancer: LoadBalancer) -> Action | None: ...

    def delete_volume(self, volume: Volume) -> None: ...

    def delete_primary_ip(self, primary_ip: PrimaryIp) -> None: ...

    def delete_firewall(self, firewall: Firewall) -> None: ...

    def delete_placement_group(self, placement_group: PlacementGroup) -> None: ...

    def delete_network(self, network: Network) -> None: ...


def endpoint_from_env(environ: Mapping[str, str] | None = None) -> str:
    """HCLOUD_ENDPOINT, else Hetzner's API; SpecError (bad input, nothing sent) when it is no http(s) URL."""
    env = os.environ if environ is None else environ
    value = env.get("HCLOUD_ENDPOINT") or DEFAULT_ENDPOINT
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise SpecError([Problem(
            "HCLOUD_ENDPOINT",
            f"{value[:80]!r} is not an http(s) URL; allowed: the API's base URL, e.g. {DEFAULT_ENDPOINT} (the default when unset)",
        )])
    # Trailing slashes dropped as hcloud-go's WithEndpoint does (hcloud/client.go): hcloud-python appends "/servers".
    return value.rstrip("/")


def default_api(token: str, endpoint: str | None = None) -> "HetznerClient":
    return HetznerClient(token, endpoint or endpoint_from_env())


# ---- the real client ---------------------------------------------------------------------------


def _dm(bound: Any) -> Any:
    """The data behind a Bound object; reading it never triggers a reload (a hidden GET)."""
    return getattr(bound, "data_model", bound)


def _labels(model: Any) -> dict[str, str]:
    return dict(model.labels or {})


def _name(bound: Any) -> str:
    return _dm(bound).name if bound is not None else ""


def _money(raw: Mapping[str, Any] | None) -> Money:
    raw = raw or {}
    return Money(Decimal(str(raw.get("net", "0"))), Decimal(str(raw.get("gross", "0"))))


def _prices(raw: list[Mapping[str, Any]] | None) -> tuple[LocationPrice, ...]:
    return tuple(
        LocationPrice(p["location"], _money(p.get("price_monthly")), _money(p.get("price_hourly"))) for p in raw or ()
    )


def _deprecation(info: Any) -> Deprecation | None:
    return None if info is None else Deprecation(info.announced, info.unavailable_after)


def _server_type(bound: Any) -> ServerType:
    m = _dm(bound)
    return ServerType(
        id=m.id,
        name=m.name,
        cores=m.cores,
        memory_gb=float(m.memory),
        disk_gb=m.disk,
        architecture=m.architecture,
        cpu_type=m.cpu_type,
        locations=tuple(
            ServerTypeLocation(_name(loc.location), bool(loc.available), bool(loc.recommended), _deprecation(loc.deprecation))
            for loc in m.locations or ()
        ),
        prices=_prices(m.prices),
    )


class _RateLimit:
    """The last `RateLimit-*` headers seen, so a message can say when the budget is back."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset: int | None = None
        self.remaining: int | None = None

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            for header, attr in (("RateLimit-Reset", "reset"), ("RateLimit-Remaining", "remaining")):
                value = response.headers.get(header)
                if value is not None and value.isdigit():
                    setattr(self, attr, int(value))

    def when(self) -> str:
        if self.reset is None:
            return "the API did not say when its limit resets; wait a few minutes and run again"
        at = datetime.fromtimestamp(self.reset, timezone.utc).strftime("%H:%M:%S UTC")
        return f"the project's request budget is full again at {at} (RateLimit-Reset)"


def _dropped(exc: BaseException) -> bool:
    # ConnectTimeout is also a ConnectionError, but hcloud already retried it: never stack two policies.
    return (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, (requests.Timeout, requests.exceptions.SSLError))
    )


_UNAVAILABLE_CODES = {"server_error", "service_error", "unavailable", "bad_gateway", "timeout", "maintenance", "conflict",
                      "resource_unavailable"}


class HetznerClient:
    """HetznerApi on hcloud-python. `backoff` replaces the retry wait (tests pass `lambda n: 0`)."""

    def __init__(
        self,
        token: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        poll_interval: float | Backoff = POLL_INTERVAL,
        poll_max_retries: int = POLL_MAX_RETRIES,
        timeout: float | tuple[float, float] = TIMEOUT,
        backoff: Backoff | None = None,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.poll_max_retries = poll_max_retries
        self._sdk = Client(
            token,
            api_endpoint=self.endpoint,
            application_name=APPLICATION,
            poll_interval=poll_interval,
            poll_max_retries=poll_max_retries,
            timeout=timeout,
        )
        self._rate = _RateLimit()
        base = getattr(self._sdk, "_client", None)  # hcloud's ClientBase: its session and retry wait
        session = getattr(base, "_session", None)
        if session is not None:
            session.hooks["response"].append(self._rate.hook)
        if backoff is not None and base is not None:
            # hcloud-python's own tests set this to speed up retries (tests/unit/test_client.py).
            base._retry_interval_func = backoff
        default_wait = exponential_backoff_function(base=1.0, multiplier=2, cap=10.0, jitter=True)
        self._reconnect_wait = backoff or default_wait

    # -- one place where SDK errors become ours --

    def _call(self, what: str, fn: Callable[[], T], doing: str | None = None) -> T:
        # `what` completes "may not ...", `doing` "while ..." (both `what` unless a verb needs its -ing form).
        doing = doing or what
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_dropped),
            stop=tenacity.stop_after_attempt(RECONNECTS + 1),
            wait=lambda state: self._reconnect_wait(state.attempt_number - 1),
            reraise=True,
        )
        try:
            return retrying(fn)
        except APIException as e:
            raise self._translate(e, what, doing) from e
        except ActionFailedException as e:
            err = e.action.error or {}
            raise ClientError(f"{what}: the action {e.action.command!r} ended in error {err.get('code', 'unknown')!r}",
                              api=API, code=err.get("code")) from e
        except ActionTimeoutException as e:
            raise Unavailable(f"{what}: the action {e.action.command!r} was still running after {self.poll_max_retries} polls",
                              api=API) from e
        except requests.Timeout as e:
            raise Unavailable(
                f"no answer from {self.endpoint} within {self.timeout}s while {doing} ({HCLOUD_RETRIES + 1} attempts)", api=API
            ) from e
        except requests.ConnectionError as e:
            how = "refused or dropped the connection" if _dropped(e) else "failed the TLS handshake"
            raise Unavailable(f"{self.endpoint} {how} while {doing} ({RECONNECTS + 1} attempts)", api=API) from e

    def _translate(self, e: APIException, what: str, doing: str | None = None) -> ClientError:
        doing = doing or what
        code, rid = e.code, e.correlation_id
        key = code if isinstance(code, str) else {401: "unauthorized", 403: "forbidden", 404: "not_found",
                                                  429: "rate_limit_exceeded"}.get(code, "")
        if key == "unauthorized":
            return Unauthorized(
                f"the token in HCLOUD_TOKEN was refused (unauthorized) while {doing}: it is wrong, revoked or expired, "
                "or belongs to another API; create one in the Hetzner Console (Security > API tokens)",
                api=API, code="unauthorized", request_id=rid,
            )
        if key == "token_readonly":
            return Forbidden(
                f"the token in HCLOUD_TOKEN is read-only (token_readonly), so it may not {what}; "
                "create a token with the permission Read & Write",
                api=API, code=key, request_id=rid,
            )
        if key == "forbidden":
            return Forbidden(f"the token in HCLOUD_TOKEN may not {what} (forbidden): it lacks that permission",
                             api=API, code=key, request_id=rid)
        if key == "not_found":
            return NotFound(f"{what}: not found", api=API, code=key, request_id=rid)
        if key == "rate_limit_exceeded":
            tried = f"still after {HCLOUD_RETRIES} retries" if isinstance(code, str) else "not retried (no error body)"
            return Unavailable(f"rate limit exceeded while {doing}, {tried}; {self._rate.when()}",
                               api=API, code="rate_limit_exceeded", request_id=rid)
        if key in _UNAVAILABLE_CODES or (isinstance(code, int) and code >= 500):
            return Unavailable(f"{what} failed: the API answered {code!r}; try again later", api=API, code=str(code),
                               request_id=rid)
        return ClientError(f"{what} failed: the API answered {code!r}", api=API, code=str(code), request_id=rid)

    # -- lists --

    def server_types(self) -> list[ServerType]:
        return [_server_type(st) for st in self._call("listing server types", self._sdk.server_types.get_all)]

    def locations(self) -> list[Location]:
        return [
            Location(m.id, m.name, m.city, m.country, m.network_zone)
            for m in map(_dm, self._call("listing locations", self._sdk.locations.get_all))
        ]

    def images(self) -> list[Image]:
        found = self._call("listing images", lambda: self._sdk.images.get_all(include_deprecated=True))
        return [
            Image(m.id, m.name, m.type, m.architecture, m.status, _deprecation(m.deprecation), _labels(m)) for m in map(_dm, found)
        ]

    def ssh_keys(self) -> list[SshKey]:
        found = self._call("listing SSH keys", self._sdk.ssh_keys.get_all)
        return [SshKey(m.id, m.name, m.fingerprint, _labels(m)) for m in map(_dm, found)]

    def servers(self, label_selector: str | None = None) -> list[Server]:
        found = self._call("listing servers", lambda: self._sdk.servers.get_all(label_selector=label_selector))
        return [
            Server(m.id, m.name, m.status, _name(m.server_type), _name(m.location), _labels(m)) for m in map(_dm, found)
        ]

    def networks(self, label_selector: str | None = None) -> list[Network]:
        found = self._call("listing networks", lambda: self._sdk.networks.get_all(label_selector=label_selector))
        return [Network(m.id, m.name, str(m.ip_range), _labels(m)) for m in map(_dm, found)]

    def firewalls(self, label_selector: str | None = None) -> list[Firewall]:
        found = self._call("listing firewalls", lambda: self._sdk.firewalls.get_all(label_selector=label_selector))
        return [Firewall(m.id, m.name, _labels(m)) for m in map(_dm, found)]

    def load_balancers(self, label_selector: str | None = None) -> list[LoadBalancer]:
        found = self._call("listing load balancers", lambda: self._sdk.load_balancers.get_all(label_selector=label_selector))
        return [
            LoadBalancer(m.id, m.name, _name(m.load_balancer_type), _name(m.location), _labels(m),
                         tuple(_dm(pn.network).id for pn in m.private_net or ()))
            for m in map(_dm, found)
        ]

    def placement_groups(self, label_selector: str | None = None) -> list[PlacementGroup]:
        found = self._call("listing placement groups",
                           lambda: self._sdk.placement_groups.get_all(label_selector=label_selector))
        return [PlacementGroup(m.id, m.name, m.type, tuple(m.servers or ()), _labels(m)) for m in map(_dm, found)]

    def primary_ips(self, label_selector: str | None = None) -> list[PrimaryIp]:
        found = self._call("listing primary IPs", lambda: self._sdk.primary_ips.get_all(label_selector=label_selector))
        return [
            PrimaryIp(m.id, m.name, m.ip, m.type, m.assignee_id, _name(m.location), _labels(m)) for m in map(_dm, found)
        ]

    def volumes(self, label_selector: str | None = None) -> list[Volume]:
        found = self._call("listing volumes", lambda: self._sdk.volumes.get_all(label_selector=label_selector))
        return [
            Volume(m.id, m.name, m.size, _dm(m.server).id if m.server is not None else None, _name(m.location), _labels(m))
            for m in map(_dm, found)
        ]

    def pricing(self) -> Pricing:
        # hcloud-python has no pricing client; Client.request goes through the same retry policy.
        raw = self._call("reading prices", lambda: self._sdk.request("GET", "/pricing"))["pricing"]
        return Pricing(
            currency=raw["currency"],
            vat_rate=Decimal(str(raw["vat_rate"])),
            server_types={st["name"]: _prices(st.get("prices")) for st in raw.get("server_types", ())},
            load_balancer_types={lb["name"]: _prices(lb.get("prices")) for lb in raw.get("load_balancer_types", ())},
            primary_ips={ip["type"]: _prices(ip.get("prices")) for ip in raw.get("primary_ips", ())},
        )

    # -- writes --

    def verify_write(self, key: SshKey) -> None:
        # A rename to the name it has: a write a read-only token may not make, a no-op for any other.
        from hcloud.ssh_keys import SSHKey

        self._call("update an SSH key (the write check)", lambda: self._sdk.ssh_keys.update(SSHKey(id=key.id), name=key.name))

    def wait_for_action(self, action_id: int) -> Action:
        def wait() -> Any:
            from hcloud.actions import BoundAction

            # Not loaded: wait_until_finished reloads before it reads the status (hcloud/actions/client.py),
            # so a GET first would read the same action twice.
            action = BoundAction(self._sdk.actions, {"id": action_id}, complete=False)
            action.wait_until_finished()
            return action

        m = _dm(self._call(f"waiting for action {action_id}", wait))
        err = m.error or {}
        return Action(m.id, m.command, m.status, err.get("code"), err.get("message"))

    # -- deletes (cleanup) --

    @staticmethod
    def _action(bound: Any) -> Action:
        m = _dm(bound)
        return Action(m.id, m.command, m.status)

    def delete_server(self, server: Server) -> Action:
        from hcloud.servers import Server as SdkServer

        # The API answers with an action (hcloud/servers/client.py ServersClient.delete).
        name = f"server {server.name!r} (id {server.id})"
        return self._action(self._call(f"delete {name}", lambda: self._sdk.servers.delete(SdkServer(id=server.id)),
                                       f"deleting {name}"))

    def delete_load_balancer(self, load_balancer: LoadBalancer) -> Action | None:
        # hcloud-python 2.27 reads an action from the answer (load_balancers/client.py
        # LoadBalancersClient.delete) and fails on an empty one; hcloud-go reads no body
        # (hcloud/load_balancer.go LoadBalancerClient.Delete): take the action if there is one.
        name = f"load balancer {load_balancer.name!r} (id {load_balancer.id})"
        answer = self._call(f"delete {name}", lambda: self._sdk.request("DELETE", f"/load_balancers/{load_balancer.id}"),
                            f"deleting {name}")
        action = (answer or {}).get("action")
        return Action(action["id"], action["command"], action["status"]) if action else None

    def _delete(self, kind: str, obj: Any, delete: Callable[[], Any]) -> None:
        # A DELETE retried after a dropped connection may answer not_found: cleanup counts that as gone.
        name = f"{kind} {obj.name!r} (id {obj.id})"
        self._call(f"delete {name}", delete, f"deleting {name}")

    def delete_volume(self, volume: Volume) -> None:
        from hcloud.volumes import Volume as SdkVolume

        # The volume must not be attached (hcloud/volumes/client.py VolumesClient.delete).
        self._delete("volume", volume, lambda: self._sdk.volumes.delete(SdkVolume(id=volume.id)))

    def delete_primary_ip(self, primary_ip: PrimaryIp) -> None:
        from hcloud.primary_ips import PrimaryIP as SdkPrimaryIP

        self._delete("primary IP", primary_ip, lambda: self._sdk.primary_ips.delete(SdkPrimaryIP(id=primary_ip.id)))

    def delete_firewall(self, firewall: Firewall) -> None:
        from hcloud.firewalls import Firewall as SdkFirewall

        self._delete("firewall", firewall, lambda: self._sdk.firewalls.delete(SdkFirewall(id=firewall.id)))

    def delete_placement_group(self, placement_group: PlacementGroup) -> None:
        from hcloud.placement_groups import PlacementGroup as SdkPlacementGroup

        self._delete("placement group", placement_group,
                     lambda: self._sdk.placement_groups.delete(SdkPlacementGroup(id=placement_group.id)))

    def delete_network(self, network: Network) -> None:
        from hcloud.networks import Network as SdkNetwork

        self._delete("network", network, lambda: self._sdk.networks.delete(SdkNetwork(id=network.id)))
