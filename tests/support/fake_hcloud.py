"""A local Hetzner Cloud API for the real `hcloud` client: HTTP on 127.0.0.1, in a thread.

It answers as the documented API does for the endpoints clusterctl-py uses,
with the field names of the API reference (docs.hetzner.cloud; the same
shapes as hetznercloud/hcloud-go hcloud/schema/*.go and hcloud-python's
tests/unit/*/conftest.py):

- collections: server_types, locations, images (with `deprecation`, and the
  older `deprecated` being removed), ssh_keys, servers, networks,
  firewalls, load_balancers, placement_groups, primary_ips, volumes, actions;
  `GET /<collection>` and `GET /<collection>/<id>`, `POST` (create, names
  unique per collection), `PUT /<collection>/<id>` (name, labels),
  `DELETE /<collection>/<id>` (servers and load balancers answer with an
  action; a server takes its attachments with it as the API describes:
  volumes detached, primary IPs unassigned or, with auto_delete, deleted,
  out of placement groups, firewalls and networks; a firewall still applied
  answers `resource_in_use`, an object with delete protection `protected`);
- `GET /pricing`; `GET /actions/<id>` for actions that finish after N polls
  or end in `error`;
- pagination with `page`/`per_page` (default 25, at most 50) and
  `meta.pagination`; `label_selector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`,
  `k in (a,b)`, `k notin (a,b)`, comma = AND); `name`; for images `type`,
  `architecture`, `status`, `include_deprecated` (deprecated images are
  left out unless it is true);
- errors as `{"error": {"code", "message", "details"}}` with their HTTP
  status; `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and
  `X-Correlation-Id` on every answer.

Tokens carry a permission like the Console's "Read" / "Read & Write": a
read-only token gets `token_readonly` on anything but GET (the API's code
for "The token is only allowed to perform GET requests"). Faults a test
switches on: `fail(...)` (N answers with a status and error code, e.g. 429
`rate_limit_exceeded` or 503), `drop(...)` (close the connection without
answering), `revoke(token, after=K)` and `forbid(...)` (403 `forbidden`).
Every request lands in `requests` (method, path, query) for counting.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

# A Hetzner token is 64 letters and digits.
TOKEN = "fAkE" * 16
READ_ONLY_TOKEN = "rEaD" * 16

RATE_LIMIT = 3600  # requests per hour and project, the documented default
CREATED = "2025-01-01T00:00:00+00:00"

# error code -> HTTP status of the answer
STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "token_readonly": 403,
    "not_found": 404,
    "uniqueness_error": 409,
    "conflict": 409,
    "invalid_input": 422,
    "locked": 423,
    "protected": 403,
    # Firewall delete (API reference); the status is not documented, the client reads only the code.
    "resource_in_use": 409,
    "rate_limit_exceeded": 429,
    "server_error": 500,
    "bad_gateway": 502,
    "unavailable": 503,
    "timeout": 504,
}
MESSAGES = {
    "unauthorized": "unable to authenticate",
    "forbidden": "insufficient permissions for this request",
    "token_readonly": "The token is only allowed to perform GET requests",
    "not_found": "not found",
    "uniqueness_error": "name is already used",
    "conflict": "The resource has changed during the request, please retry",
    "invalid_input": "invalid input",
    "locked": "The item you are trying to access is locked (there is already an Action running)",
    "protected": "The actions you are trying is protected",
    "resource_in_use": "Firewall must not be in use to be deleted",
    "rate_limit_exceeded": "limit of 3600 requests per hour reached",
    "server_error": "Error within the API backend",
    "bad_gateway": "The request could not be answered by the API backend, please retry",
    "unavailable": "A service or product is currently not available",
    "timeout": "The request could not be answered in time, please retry",
}

SINGULAR = {
    "server_types": "server_type",
    "locations": "location",
    "images": "image",
    "ssh_keys": "ssh_key",
    "servers": "server",
    "networks": "network",
    "firewalls": "firewall",
    "load_balancers": "load_balancer",
    "placement_groups": "placement_group",
    "primary_ips": "primary_ip",
    "volumes": "volume",
    "actions": "action",
}
LABELLED = {"images", "ssh_keys", "servers", "networks", "firewalls", "load_balancers", "placement_groups", "primary_ips", "volumes"}

LOCATIONS = [
    # id, name, description, country, city, latitude, longitude, network_zone
    (1, "fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central"),
    (2, "nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central"),
    (3, "hel1", "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central"),
    (4, "ash", "Ashburn, VA", "US", "Ashburn, VA", 39.045821, -77.487073, "us-east"),
    (5, "hil", "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.951924, "us-west"),
    (6, "sin", "Singapore", "SG", "Singapore", 1.283333, 103.833333, "ap-southeast"),
]
EU = ("fsn1", "nbg1", "hel1")
EVERYWHERE = ("fsn1", "nbg1", "hel1", "ash", "hil", "sin")

# name, cores, memory GB, disk GB, cpu_type, architecture, locations, monthly net EUR (EU; +20% elsewhere)
SERVER_TYPES = [
    ("cx23", 2, 4.0, 40, "shared", "x86", EU, "3.4900"),
    ("cx33", 4, 8.0, 80, "shared", "x86", EU, "5.4900"),
    ("cx43", 8, 16.0, 160, "shared", "x86", EU, "9.4900"),
    ("cpx12", 1, 2.0, 40, "shared", "x86", EVERYWHERE, "4.4900"),
    ("cpx22", 2, 4.0, 80, "shared", "x86", EVERYWHERE, "7.9900"),
    ("cpx32", 4, 8.0, 160, "shared", "x86", EVERYWHERE, "13.9900"),
    ("cpx42", 8, 16.0, 320, "shared", "x86", EVERYWHERE, "24.9900"),
    ("cax11", 2, 4.0, 40, "shared", "arm", EU, "4.4900"),
    ("cax21", 4, 8.0, 80, "shared", "arm", EU, "8.4900"),
    ("cax31", 8, 16.0, 160, "shared", "arm", EU, "16.4900"),
    ("ccx13", 2, 8.0, 80, "dedicated", "x86", EVERYWHERE, "14.4900"),
    ("ccx23", 4, 16.0, 160, "dedicated", "x86", EVERYWHERE, "28.4900"),
    # Deprecated in every location (per-location `deprecation`, and the old top-level field).
    ("cx22", 2, 4.0, 40, "shared", "x86", EU, "4.5900"),
]
DEPRECATED_TYPES = {"cx22"}
VAT_RATE = "19.00"


def _money(net: str) -> dict[str, str]:
    """A price as the API writes it: decimal strings, net and gross (with VAT_RATE)."""
    value = Decimal(net)
    gross = value * (1 + Decimal(VAT_RATE) / 100)
    return {"net": f"{value:.10f}", "gross": f"{gross:.16f}"}


def _price(location: str, net_eu: str) -> dict[str, Any]:
    net = Decimal(net_eu) if location in EU else Decimal(net_eu) * Decimal("1.2")
    return {
        "location": location,
        "price_hourly": _money(f"{net / 730:.4f}"),
        "price_monthly": _money(f"{net:.4f}"),
        "included_traffic": 21990232555520 if location in EU else 1099511627776,
        "price_per_tb_traffic": _money("1.0000"),
    }


def _deprecation(announced: str = "2025-10-01T00:00:00+00:00", after: str = "2026-01-01T00:00:00+00:00") -> dict:
    return {"announced": announced, "unavailable_after": after}


class _Html(str):
    """A body that is not the API's JSON."""


@dataclass
class Request:
    method: str
    path: str  # without the /v1 prefix
    query: dict[str, list[str]]
    token: str | None
    user_agent: str = ""


@dataclass
class _Fault:
    kind: str  # "error" | "drop" | "forbid"
    times: int
    status: int = 0
    code: str = ""
    method: str | None = None
    path: str | None = None  # a prefix of the path (without /v1)
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API: a dropped connection is a surprise to the client
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_PUT = do_DELETE = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: "FakeHcloud"


class FakeHcloud:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.tokens: dict[str, str] = {TOKEN: "read_write", READ_ONLY_TOKEN: "read"}
        self._revoke_after: dict[str, int] = {}
        self._token_requests: dict[str, int] = {}
        self.faults: list[_Fault] = []
        self.remaining = RATE_LIMIT
        self._ids = itertools.count(1000)
        self.data: dict[str, dict[int, dict]] = {name: {} for name in SINGULAR}
        self._action_polls: dict[int, list[str]] = {}  # action id -> statuses still to report
        self._action_errors: dict[int, dict] = {}
        self.pricing: dict[str, Any] = {}
        self._seed()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------

    def start(self) -> "FakeHcloud":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-hcloud", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # ---- what a test sees and switches on -------------------------------------------

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests seen, optionally only one method and paths starting with `path`."""
        with self.lock:
            return sum(
                1 for r in self.requests if (method is None or r.method == method) and (path is None or r.path.startswith(path))
            )

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def fail(self, status: int, code: str | None, times: int = 1, *, method: str | None = None, path: str | None = None,
             headers: dict[str, str] | None = None) -> None:
        """The next `times` matching requests get `status` with the error body of `code` (None: an HTML page)."""
        with self.lock:
            self.faults.append(_Fault("error", times, status, code, method, path, dict(headers or {})))

    def rate_limit(self, times: int, **match: Any) -> None:
        """429 with the `rate_limit_exceeded` body, as the API answers once the hourly budget is spent."""
        self.fail(429, "rate_limit_exceeded", times, **match)

    def drop(self, times: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Close the connection of the next `times` matching requests without an answer."""
        with self.lock:
            self.faults.append(_Fault("drop", times, method=method, path=path))

    def forbid(self, *, method: str | None = None, path: str | None = None, times: int = 10**9) -> None:
        """403 `forbidden` (the token lacks the permission) for matching requests."""
        self.fail(403, "forbidden", times, method=method, path=path)

    def revoke(self, token: str = TOKEN, after: int = 0) -> None:
        """The token stops working after it has made `after` more requests."""
        with self.lock:
            self._revoke_after[token] = self._token_requests.get(token, 0) + after

    # ---- objects ---------------------------------------------------------------------

    def _id(self) -> int:
        return next(self._ids)

    def _location(self, name: str) -> dict:
        return next(loc for loc in self.data["locations"].values() if loc["name"] == name)

    def server_type(self, name: str) -> dict:
        return next(st for st in self.data["server_types"].values() if st["name"] == name)

    def set_server_type_location(self, name: str, location: str, *, available: bool | None = None,
                                 deprecated: bool | None = None, remove: bool = False) -> None:
        """Change one server type's entry in `locations[]` (sold out, deprecated there, not offered)."""
        with self.lock:
            st = self.server_type(name)
            entries = st["locations"]
            entry = next(e for e in entries if e["name"] == location)
            if remove:
                entries.remove(entry)
                st["prices"] = [p for p in st["prices"] if p["location"] != location]
                return
            if available is not None:
                entry["available"] = available
            if deprecated is not None:
                entry["deprecation"] = _deprecation() if deprecated else None

    def add(self, collection: str, obj: dict) -> dict:
        with self.lock:
            if "id" not in obj:
                obj["id"] = self._id()
            self.data[collection][obj["id"]] = obj
            return obj

    def add_ssh_key(self, name: str, labels: dict | None = None) -> dict:
        n = self._id()
        return self.add("ssh_keys", {
            "id": n, "name": name, "fingerprint": ":".join(f"{(n * 7 + i) % 256:02x}" for i in range(16)),
            "public_key": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{n:032d} {name}", "labels": dict(labels or {}),
            "created": CREATED,
        })

    def add_image(self, name: str | None, architecture: str, *, type: str = "system", labels: dict | None = None,
                  deprecated: str | None = None, status: str = "available", description: str | None = None) -> dict:
        os_flavor, _, os_version = (name or "unknown-").partition("-")
        return self.add("images", {
            "id": self._id(), "type": type, "status": status, "name": name,
            "description": description or (name or "snapshot"), "image_size": None if type == "system" else 2.3,
            "disk_size": 5, "created": CREATED, "created_from": None, "bound_to": None,
            "os_flavor": os_flavor if type == "system" else "unknown", "os_version": os_version or None,
            "rapid_deploy": type == "system", "protection": {"delete": False},
            # `deprecated` is being removed from the API in favour of `deprecation` (changelog 2026-09-08).
            "deprecated": deprecated, "deprecation": _deprecation(deprecated) if deprecated else None,
            "deleted": None, "labels": dict(labels or {}), "architecture": architecture,
        })

    def add_server(self, name: str, labels: dict | None = None, *, server_type: str = "cpx22", location: str = "fsn1",
                   status: str = "running", placement_group: dict | None = None) -> dict:
        n = self._id()
        return self.add("servers", {
            "id": n, "name": name, "status": status, "created": CREATED,
            "public_net": {
                "ipv4": {"id": n + 1_000_000, "ip": f"198.51.100.{n % 250 + 1}", "blocked": False, "dns_ptr": f"static.{n}.example"},
                "ipv6": {"id": n + 2_000_000, "ip": f"2001:db8:{n:x}::/64", "blocked": False, "dns_ptr": []},
                "floating_ips": [], "firewalls": [],
            },
            "private_net": [], "server_type": self.server_type(server_type), "included_traffic": 21990232555520,
            "outgoing_traffic": 0, "ingoing_traffic": 0, "backup_window": None, "rescue_enabled": False, "iso": None,
            "locked": False, "location": self._location(location),
            "image": next((i for i in self.data["images"].values() if i["name"] == "ubuntu-24.04"), None),
            "protection": {"delete": False, "rebuild": False}, "labels": dict(labels or {}), "volumes": [],
            "primary_disk_size": self.server_type(server_type)["disk"], "placement_group": placement_group,
            "load_balancers": [],
        })

    def add_network(self, name: str, labels: dict | None = None, ip_range: str = "10.0.0.0/16") -> dict:
        return self.add("networks", {
            "id": self._id(), "name": name, "created": CREATED, "ip_range": ip_range,
            "subnets": [{"type": "cloud", "ip_range": ip_range.replace("/16", "/24"), "network_zone": "eu-central", "gateway": "10.0.0.1"}],
            "routes": [], "servers": [], "load_balancers": [], "protection": {"delete": False},
            "labels": dict(labels or {}), "expose_routes_to_vswitch": False,
        })

    def add_placement_group(self, name: str, labels: dict | None = None, servers: list[int] | None = None) -> dict:
        return self.add("placement_groups", {
            "id": self._id(), "name": name, "labels": dict(labels or {}), "created": CREATED,
            "servers": list(servers or []), "type": "spread",
        })

    def add_firewall(self, name: str, labels: dict | None = None, *, servers: list[int] | None = None) -> dict:
        return self.add("firewalls", {
            "id": self._id(), "name": name, "labels": dict(labels or {}), "created": CREATED,
            "rules": [], "applied_to": [{"type": "server", "server": {"id": s}} for s in servers or ()],
        })

    def add_primary_ip(self, name: str, labels: dict | None = None, *, location: str = "fsn1", assignee_id: int | None = None,
                       auto_delete: bool = False) -> dict:
        n = self._id()
        return self.add("primary_ips", {
            "id": n, "name": name, "ip": f"203.0.113.{n % 250 + 1}", "type": "ipv4", "labels": dict(labels or {}),
            "protection": {"delete": False}, "dns_ptr": [], "assignee_id": assignee_id, "assignee_type": "server",
            "auto_delete": auto_delete, "blocked": False, "created": CREATED, "location": self._location(location),
        })

    def add_load_balancer(self, name: str, labels: dict | None = None, *, location: str = "fsn1", type: str = "lb11",
                          networks: list[int] | None = None) -> dict:
        return self.add("load_balancers", {
            "id": self._id(), "name": name,
            "public_net": {"enabled": True, "ipv4": {"ip": "192.0.2.10", "dns_ptr": ""}, "ipv6": {"ip": "2001:db8::10", "dns_ptr": ""}},
            "private_net": [{"network": n, "ip": f"10.0.255.{i + 1}"} for i, n in enumerate(networks or ())],
            "location": self._location(location),
            "load_balancer_type": {"id": 1, "name": type, "description": type.upper(), "max_connections": 10000,
                                   "max_services": 5, "max_targets": 25, "max_assigned_certificates": 10,
                                   "deprecated": None, "prices": []},
            "protection": {"delete": False}, "labels": dict(labels or {}), "created": CREATED, "services": [],
            "targets": [], "algorithm": {"type": "round_robin"}, "included_traffic": 21990232555520,
            "outgoing_traffic": 0, "ingoing_traffic": 0,
        })

    def add_volume(self, name: str, labels: dict | None = None, *, location: str = "fsn1", size: int = 10, server: int | None = None) -> dict:
        n = self._id()
        return self.add("volumes", {
            "id": n, "name": name, "server": server, "status": "available", "location": self._location(location),
            "size": size, "format": "ext4", "protection": {"delete": False}, "labels": dict(labels or {}),
            "linux_device": f"/dev/disk/by-id/scsi-0HC_Volume_{n}", "created": CREATED,
        })

    def add_action(self, command: str = "delete_server", *, polls: int = 0, error: dict | None = None,
                   resources: list[dict] | None = None) -> dict:
        """An action that reports `running` for `polls` GETs, then `success` (or `error` with `error`)."""
        with self.lock:
            action = {
                "id": self._id(), "command": command, "status": "running", "progress": 0, "started": CREATED,
                "finished": None, "resources": list(resources or []), "error": None,
            }
            self.data["actions"][action["id"]] = action
            self._action_polls[action["id"]] = ["running"] * polls + ["error" if error else "success"]
            if error:
                self._action_errors[action["id"]] = error
            return action

    def _seed(self) -> None:
        for id_, name, desc, country, city, lat, lon, zone in LOCATIONS:
            self.data["locations"][id_] = {
                "id": id_, "name": name, "description": desc, "country": country, "city": city,
                "latitude": lat, "longitude": lon, "network_zone": zone,
            }
        for i, (name, cores, memory, disk, cpu, arch, where, net) in enumerate(SERVER_TYPES, start=1):
            deprecated = name in DEPRECATED_TYPES
            self.data["server_types"][i] = {
                "id": i, "name": name, "description": name.upper(), "category": "Shared vCPU" if cpu == "shared" else "Dedicated vCPU",
                "cores": cores, "memory": memory, "disk": disk, "storage_type": "local", "cpu_type": cpu,
                "architecture": arch, "included_traffic": 0,
                "prices": [_price(loc, net) for loc in where],
                "deprecated": deprecated, "deprecation": _deprecation() if deprecated else None,
                "locations": [
                    {"id": self._location(loc)["id"], "name": loc, "deprecation": _deprecation() if deprecated else None,
                     "available": not deprecated, "recommended": not deprecated}
                    for loc in where
                ],
            }
        for name in ("ubuntu-24.04", "ubuntu-22.04", "debian-12"):
            for arch in ("x86", "arm"):
                self.add_image(name, arch)
        self.add_image("ubuntu-20.04", "x86", deprecated="2025-05-01T00:00:00+00:00")
        self.pricing = {
            "currency": "EUR",
            "vat_rate": VAT_RATE,
            "image": {"price_per_gb_month": _money("0.0110")},
            "floating_ip": {"price_monthly": _money("3.0000")},
            "floating_ips": [],
            "primary_ips": [
                {"type": "ipv4", "prices": [{"location": loc, "price_hourly": _money("0.0008"), "price_monthly": _money("0.5000")} for loc in EVERYWHERE]},
                {"type": "ipv6", "prices": [{"location": loc, "price_hourly": _money("0.0000"), "price_monthly": _money("0.0000")} for loc in EVERYWHERE]},
            ],
            "traffic": {"price_per_tb": _money("1.0000")},
            "server_backup": {"percentage": "20.00"},
            "server_types": [{"id": st["id"], "name": st["name"], "prices": st["prices"]} for st in self.data["server_types"].values()],
            "load_balancer_types": [
                {"id": i, "name": name, "prices": [_price(loc, net) for loc in EVERYWHERE]}
                for i, (name, net) in enumerate((("lb11", "5.3900"), ("lb21", "16.4000"), ("lb31", "32.9000")), start=1)
            ],
            "volume": {"price_per_gb_month": _money("0.0440")},
        }

    # ---- HTTP ------------------------------------------------------------------------

    def _rate_headers(self) -> dict[str, str]:
        # The budget refills by one request per second (3600 per hour).
        return {
            "RateLimit-Limit": str(RATE_LIMIT),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(int(time.time()) + (RATE_LIMIT - self.remaining)),
        }

    def _handle(self, h: _Handler) -> None:
        url = urlsplit(h.path)
        path = url.path.removeprefix("/v1")
        query = parse_qs(url.query, keep_blank_values=True)
        auth = h.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append(Request(h.command, path, query, token, h.headers.get("User-Agent", "")))
            fault = self._take_fault(h.command, path)
            if fault is not None and fault.kind == "drop":
                # No status line, no body: the client sees the connection end.
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.remaining = max(0, self.remaining - 1)
            if fault is not None and fault.code == "rate_limit_exceeded":
                self.remaining = 0
            status, body, extra = self._answer(h.command, path, query, token, raw, fault)
            headers = {**self._rate_headers(), **extra}
        if isinstance(body, _Html):
            payload, content_type = body.encode(), "text/html"
        else:
            payload, content_type = (b"" if body is None else json.dumps(body).encode()), "application/json"
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(payload)))
        h.send_header("X-Correlation-Id", secrets.token_hex(8))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _error(code: str, message: str | None = None, details: Any = None, status: int | None = None):
        body = {"error": {"code": code, "message": message or MESSAGES.get(code, code), "details": details or {}}}
        return status or STATUS[code], body, {}

    def _answer(self, method: str, path: str, query: dict, token: str | None, raw: bytes, fault: _Fault | None):
        if token is None or token not in self.tokens:
            return self._error("unauthorized")
        used = self._token_requests.get(token, 0)
        self._token_requests[token] = used + 1
        if token in self._revoke_after and used >= self._revoke_after[token]:
            return self._error("unauthorized")
        if fault is not None:
            if not fault.code:
                # What a proxy in front of the API may send: a status and no error object.
                return fault.status, _Html(f"<html><body>{fault.status}</body></html>"), dict(fault.headers)
            status, body, extra = self._error(fault.code, status=fault.status)
            return status, body, {**extra, **fault.headers}
        if method != "GET" and self.tokens[token] == "read":
            return self._error("token_readonly")

        parts = [p for p in path.split("/") if p]
        if parts == ["pricing"] and method == "GET":
            return 200, {"pricing": self.pricing}, {}
        if not parts or parts[0] not in SINGULAR:
            return self._error("not_found", f"unknown path {path}")
        collection = parts[0]
        if len(parts) == 1:
            if method == "GET":
                return self._list(collection, query)
            if method == "POST":
                return self._create(collection, raw)
        elif len(parts) == 2 and parts[1].isdigit():
            obj = self.data[collection].get(int(parts[1]))
            if obj is None:
                return self._error("not_found", f"{SINGULAR[collection]} with ID '{parts[1]}' not found")
            if method == "GET":
                if collection == "actions":
                    self._poll(obj)
                return 200, {SINGULAR[collection]: obj}, {}
            if method == "PUT":
                return self._update(collection, obj, raw)
            if method == "DELETE":
                return self._delete(collection, obj)
        return self._error("not_found", f"unknown path {method} {path}")

    def _poll(self, action: dict) -> None:
        statuses = self._action_polls.get(action["id"])
        if not statuses:
            return
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        action["status"] = status
        if status != "running":
            action["progress"], action["finished"] = 100, CREATED
            action["error"] = self._action_errors.get(action["id"])

    def _list(self, collection: str, query: dict):
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["25"])[0])
        except ValueError:
            return self._error("invalid_input", "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= 50:
            return self._error("invalid_input", "invalid input in fields 'page', 'per_page'",
                               {"fields": [{"name": "per_page", "messages": ["must be between 1 and 50"]}]})
        items = sorted(self.data[collection].values(), key=lambda o: o["id"])
        if "name" in query:
            items = [o for o in items if o.get("name") == query["name"][0]]
        if "label_selector" in query:
            if collection not in LABELLED:
                return self._error("invalid_input", f"label_selector is not supported for {collection}")
            try:
                match = parse_selector(query["label_selector"][0])
            except ValueError as e:
                return self._error("invalid_input", f"invalid label_selector: {e}",
                                   {"fields": [{"name": "label_selector", "messages": [str(e)]}]})
            items = [o for o in items if match(o.get("labels") or {})]
        if collection == "images":
            if "type" in query:
                items = [o for o in items if o["type"] in query["type"]]
            if "architecture" in query:
                items = [o for o in items if o["architecture"] in query["architecture"]]
            if "status" in query:
                items = [o for o in items if o["status"] in query["status"]]
            if query.get("include_deprecated", ["false"])[0].lower() != "true":
                items = [o for o in items if not o["deprecation"]]
        if collection == "servers" and "status" in query:
            items = [o for o in items if o["status"] in query["status"]]
        total = len(items)
        last = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        meta = {"pagination": {
            "page": page, "per_page": per_page,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page < last else None,
            "last_page": last, "total_entries": total,
        }}
        return 200, {collection: chunk, "meta": meta}, {}

    def _body(self, raw: bytes) -> dict | None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _create(self, collection: str, raw: bytes):
        body = self._body(raw)
        if body is None:
            return self._error("invalid_input", "invalid JSON")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return self._error("invalid_input", "invalid input in field 'name'",
                               {"fields": [{"name": "name", "messages": ["Missing data for required field."]}]})
        if any(o.get("name") == name for o in self.data[collection].values()):
            return self._error("uniqueness_error", f"{SINGULAR[collection]} name is already used",
                               {"fields": [{"name": "name"}]})
        labels = body.get("labels") or {}
        builders = {
            "ssh_keys": lambda: self.add_ssh_key(name, labels),
            "networks": lambda: self.add_network(name, labels, body.get("ip_range", "10.0.0.0/16")),
            "placement_groups": lambda: self.add_placement_group(name, labels),
            "firewalls": lambda: self.add_firewall(name, labels),
            "volumes": lambda: self.add_volume(name, labels, size=int(body.get("size", 10))),
        }
        if collection not in builders:
            return self._error("invalid_input", f"creating {collection} is not supported by this fake")
        obj = builders[collection]()
        return 201, {SINGULAR[collection]: obj, "action": None}, {}

    def _update(self, collection: str, obj: dict, raw: bytes):
        body = self._body(raw)
        if body is None:
            return self._error("invalid_input", "invalid JSON")
        if "name" in body:
            if any(o.get("name") == body["name"] and o["id"] != obj["id"] for o in self.data[collection].values()):
                return self._error("uniqueness_error", f"{SINGULAR[collection]} name is already used", {"fields": [{"name": "name"}]})
            obj["name"] = body["name"]
        if "labels" in body:
            obj["labels"] = dict(body["labels"])
        return 200, {SINGULAR[collection]: obj}, {}

    def _delete(self, collection: str, obj: dict):
        if (obj.get("protection") or {}).get("delete"):
            return self._error("protected")
        if collection == "firewalls" and obj["applied_to"]:
            return self._error("resource_in_use")
        del self.data[collection][obj["id"]]
        if collection == "servers":
            self._release(obj["id"])
            action = self.add_action("delete_server", resources=[{"id": obj["id"], "type": "server"}])
            return 200, {"action": action}, {}
        if collection == "load_balancers":
            # hcloud-python 2.27 reads an action from this answer (LoadBalancersClient.delete).
            action = self.add_action("delete_load_balancer", resources=[{"id": obj["id"], "type": "load_balancer"}])
            return 200, {"action": action}, {}
        return 204, None, {}

    def _release(self, server_id: int) -> None:
        """What goes with a deleted server: "Any resources attached to the server (like Volumes, Primary IPs,
        Floating IPs, Firewalls, Placement Groups) are detached while the server is deleted" (API reference)."""
        for volume in self.data["volumes"].values():
            if volume["server"] == server_id:
                volume["server"] = None
        for ip in list(self.data["primary_ips"].values()):
            if ip["assignee_id"] == server_id:
                if ip["auto_delete"]:
                    del self.data["primary_ips"][ip["id"]]
                else:
                    ip["assignee_id"] = None
        for group in self.data["placement_groups"].values():
            group["servers"] = [s for s in group["servers"] if s != server_id]
        for firewall in self.data["firewalls"].values():
            firewall["applied_to"] = [a for a in firewall["applied_to"] if (a.get("server") or {}).get("id") != server_id]


# ---- label selectors, as the API reference describes them -------------------------------

_SET = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^()]*)\)\s*$")
_CMP = re.compile(r"^\s*([^\s!=,()]+)\s*(==|=|!=)\s*([^\s!=,()]*)\s*$")
_HAS = re.compile(r"^\s*(!?)\s*([^\s!=,()]+)\s*$")


def _split(selector: str) -> Iterator[str]:
    depth, start = 0, 0
    for i, ch in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            yield selector[start:i]
            start = i + 1
    yield selector[start:]


def parse_selector(selector: str):
    """A predicate over a labels dict; raises ValueError on a malformed selector."""
    tests = []
    for term in _split(selector):
        if m := _SET.match(term):
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",")}
            tests.append(lambda labels, k=key, op=op, vs=values: (labels.get(k) in vs) if op == "in" else (k not in labels or labels[k] not in vs))
        elif m := _CMP.match(term):
            key, op, value = m[1], m[2], m[3]
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := _HAS.match(term):
            neg, key = m[1] == "!", m[2]
            tests.append(lambda labels, k=key, neg=neg: (k not in labels) if neg else (k in labels))
        else:
            raise ValueError(f"cannot parse {term.strip()!r}")
    return lambda labels: all(t(labels) for t in tests)
