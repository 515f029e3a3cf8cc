"""`cleanup`: find what a deleted or failed cluster left in the provider's project, and delete it on request.

What belongs to a cluster is the provider's knowledge (`provider.leftovers`:
per kind, the labels its makers put on it); this module lists each kind
once per rule with those labels as the label selector (one paginated walk,
never a request per object) and checks every object against the labels
again, so an API that ignored the selector cannot widen what is deleted.

Deleting goes kind by kind in an order the API accepts: servers first
(deleting one detaches its volumes, primary IPs, firewalls, placement group
and networks: API reference, "Delete a Server"), then load balancers (before
the networks they are attached to), volumes (which must not be attached),
primary IPs, firewalls (`resource_in_use` while applied), placement groups
and networks. Within a kind every delete is sent first and the actions are
waited on after, each polled with backoff by the client. An object already
gone (`not_found`) counts as deleted, so a second run resumes where the
first stopped. A refused token, the rate limit or an unreachable API stops
the run at once: the error names what was deleted and what remains, and it
is never reported as done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from clusterctl_py.clients.errors import ClientError, Forbidden, NotFound, Unauthorized, Unavailable
from clusterctl_py.errors import ClusterctlError, Problem, SpecError

if TYPE_CHECKING:
    from clusterctl_py.clients.hetzner import Action, HetznerApi
    from clusterctl_py.providers import InfrastructureProvider, LeftoverRule, PriceList


@dataclass(frozen=True, slots=True)
class _Kind:
    word: str
    plural: str
    list: Callable[[HetznerApi, str], list]
    delete: Callable[[HetznerApi, Any], "Action | None"]


KINDS: dict[str, _Kind] = {
    "server": _Kind("server", "servers", lambda api, s: api.servers(label_selector=s), lambda api, o: api.delete_server(o)),
    "load_balancer": _Kind("load balancer", "load balancers", lambda api, s: api.load_balancers(label_selector=s),
                           lambda api, o: api.delete_load_balancer(o)),
    "volume": _Kind("volume", "volumes", lambda api, s: api.volumes(label_selector=s), lambda api, o: api.delete_volume(o)),
    "primary_ip": _Kind("primary IP", "primary IPs", lambda api, s: api.primary_ips(label_selector=s),
                        lambda api, o: api.delete_primary_ip(o)),
    "firewall": _Kind("firewall", "firewalls", lambda api, s: api.firewalls(label_selector=s),
                      lambda api, o: api.delete_firewall(o)),
    "placement_group": _Kind("placement group", "placement groups", lambda api, s: api.placement_groups(label_selector=s),
                             lambda api, o: api.delete_placement_group(o)),
    "network": _Kind("network", "networks", lambda api, s: api.networks(label_selector=s), lambda api, o: api.delete_network(o)),
}
# The order of deletion (see the module docstring); the table is shown in it too.
ORDER = tuple(KINDS)
# Errors after which no further request can work: stop, do not hammer the API.
STOPS = (Unauthorized, Forbidden, Unavailable)
# What to do about a refusal, by the API's error code.
HINTS = {
    "protected": "deletion protection is on: turn it off in the Console (or `hcloud <kind> disable-protection <id> delete`)"
                 " and run again",
    "resource_in_use": "still in use: whatever uses it is not among these leftovers",
    "locked": "another action is running on it: run again in a minute",
}
NAMES_SHOWN = 10


def selector(labels: Mapping[str, str | None]) -> str:
    """A label selector as the API reads it: `k=v` for a value, `k` for "has the key"."""
    return ",".join(key if value is None else f"{key}={value}" for key, value in labels.items())


def carries(obj: Any, labels: Mapping[str, str | None]) -> bool:
    return all((key in obj.labels) if value is None else obj.labels.get(key) == value for key, value in labels.items())


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    obj: Any  # the client's dataclass (Server, LoadBalancer, ...)
    reason: str  # why it matched, for the table
    detail: str  # type and location, or size
    monthly: float | None  # in the price list's currency; None: not priced

    @property
    def title(self) -> str:
        return f"{KINDS[self.kind].word} {self.obj.name} (id {self.obj.id})"


@dataclass
class Findings:
    target: str  # "cluster prod", "management cluster mgmt"
    endpoint: str
    rules: tuple[LeftoverRule, ...]
    prices: PriceList
    objects: list[Found] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def looked_for(self) -> str:
        """The rules in words, for "nothing found"."""
        parts: dict[tuple[str, bool, str], list[str]] = {}
        for rule in self.rules:
            parts.setdefault((selector(rule.labels), rule.on_found_network, rule.creator), []).append(KINDS[rule.kind].plural)
        return "; ".join(
            f"{', '.join(kinds)} labelled {labels}{' on one of its networks' if on_network else ''} ({creator})"
            for (labels, on_network, creator), kinds in parts.items()
        )


def check_name(name: str, what: str = "NAME") -> str:
    """A cluster name as the spec allows it: it goes into label selectors, where `,` or `=` would widen them."""
    from pydantic import TypeAdapter, ValidationError

    from clusterctl_py.spec import ClusterName

    try:
        return TypeAdapter(ClusterName).validate_python(name)
    except ValidationError as e:
        raise SpecError([Problem(what, e.errors(include_url=False)[0]["msg"])]) from None


def find(api: HetznerApi, provider: InfrastructureProvider, name: str, *, management: bool = False) -> Findings:
    """What carries the labels of cluster `name` (management cluster with `management`), one walk per rule."""
    rules = provider.leftovers(name, management)
    found = Findings(f"management cluster {name}" if management else f"cluster {name}", api.endpoint, rules,
                     provider.price_list())
    seen: set[tuple[str, int]] = set()
    # Rules that need a found network come after those that find networks.
    for rule in sorted(rules, key=lambda r: r.on_found_network):
        labels = selector(rule.labels)
        networks = {f.obj.id: f.obj.name for f in found.objects if f.kind == "network"}
        strays = 0
        for obj in KINDS[rule.kind].list(api, labels):
            if not carries(obj, rule.labels) or (rule.kind, obj.id) in seen:
                continue
            why = f"{labels} ({rule.creator})"
            if rule.on_found_network:
                mine = [networks[n] for n in obj.networks if n in networks]
                if not mine:
                    strays += 1
                    continue
                why = f"{labels}, on network {', '.join(mine)} ({rule.creator})"
            seen.add((rule.kind, obj.id))
            found.objects.append(Found(rule.kind, obj, why, *_cost(rule.kind, obj, found.prices)))
        if strays:
            found.notes.append(
                f"{strays} {KINDS[rule.kind].plural if strays > 1 else KINDS[rule.kind].word} labelled {labels}"
                f" ({rule.creator}) on no network of {found.target}: another cluster's, or left after its network"
                " was deleted; not listed (check them in the Console)"
            )
    found.objects.sort(key=lambda f: (ORDER.index(f.kind), f.obj.name, f.obj.id))
    return found


def _cost(kind: str, obj: Any, prices: PriceList) -> tuple[str, float | None]:
    """(detail, monthly price) from the provider's offline price list; None where it has no price."""
    if kind == "server":
        return f"{obj.server_type} {obj.location}", prices.at(obj.location).machine.get(obj.server_type)
    if kind == "load_balancer":
        return f"{obj.type} {obj.location}", prices.at(obj.location).load_balancer.get(obj.type)
    if kind == "primary_ip":
        # Primary IPv6 addresses are free (docs.hetzner.com, Cloud > Servers > Primary IPs > Overview).
        return f"{obj.type} {obj.location}", prices.at(obj.location).ipv4 if obj.type == "ipv4" else 0.0
    if kind == "volume":
        return f"{obj.size_gb} GB {obj.location}", None
    return "", None


def table(found: Findings) -> list[str]:
    """What was found, one row per object, and the monthly total of those with a price."""
    head = ("KIND", "NAME", "ID", "TYPE", "MATCHED BY", f"{found.prices.currency}/MONTH")
    rows = [
        (KINDS[f.kind].word, f.obj.name, str(f.obj.id), f.detail, f.reason, "-" if f.monthly is None else f"{f.monthly:.2f}")
        for f in found.objects
    ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i < len(head) - 1 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in (head, *rows)]
    priced = [f.monthly for f in found.objects if f.monthly is not None]
    lines.append(
        f"{len(found.objects)} object{'s' if len(found.objects) != 1 else ''}; {sum(priced):.2f} {found.prices.currency}"
        f" a month for the {len(priced)} priced ({found.prices.source}, {found.prices.vat_note})"
    )
    return lines


# ---- deleting ------------------------------------------------------------------------------


@dataclass
class Outcome:
    found: Found
    status: str  # deleted | failed | skipped | unconfirmed | not tried
    note: str = ""

    def line(self) -> str:
        return f"{self.status:<8} {self.found.title}{': ' + self.note if self.note else ''}"


class CleanupIncomplete(ClusterctlError):
    """Something found is still there: the run stopped, or objects failed or were skipped."""

    def __init__(self, message: str, outcomes: list[Outcome]):
        self.outcomes = outcomes
        super().__init__(message)


def delete(api: HetznerApi, found: Findings, say: Callable[[str], None]) -> list[Outcome]:
    """Delete what `found` lists, saying each outcome; CleanupIncomplete unless everything went."""
    outcomes: dict[tuple[str, int], Outcome] = {}

    def record(f: Found, status: str, note: str = "") -> None:
        outcomes[(f.kind, f.obj.id)] = outcome = Outcome(f, status, note)
        say(outcome.line())

    try:
        for kind in ORDER:
            started: list[tuple[Found, Action]] = []
            for f in (f for f in found.objects if f.kind == kind):
                why = _blocked(f, found, outcomes)
                if why:
                    record(f, "skipped", why)
                    continue
                try:
                    action = KINDS[kind].delete(api, f.obj)
                except NotFound:
                    record(f, "deleted", "already gone")
                except STOPS:
                    raise
                except ClientError as e:
                    record(f, "failed", _refusal(e, f))
                else:
                    if action is None:
                        record(f, "deleted")
                    else:
                        outcomes[(f.kind, f.obj.id)] = Outcome(f, "unconfirmed", "deletion started")
                        started.append((f, action))
            for f, action in started:
                try:
                    api.wait_for_action(action.id)
                except STOPS:
                    raise
                except ClientError as e:
                    record(f, "failed", _refusal(e, f))
                else:
                    record(f, "deleted")
    except STOPS as e:
        left = [o for o in outcomes.values() if o.status == "unconfirmed"]
        for o in left:
            say(Outcome(o.found, "unconfirmed", "deletion started, its end not seen").line())
        done = [o for o in outcomes.values() if o.status == "deleted"]
        if not done and not left:
            # Nothing was touched: one line is the whole story (a read-only or revoked token, no API).
            raise CleanupIncomplete(f"{e}; nothing was deleted", list(outcomes.values())) from e
        remain = [Outcome(f, "not tried") for f in found.objects if (f.kind, f.obj.id) not in outcomes]
        everything = [*outcomes.values(), *remain]
        raise CleanupIncomplete("\n".join([str(e), *_summary(found, everything, stopped=True)]), everything) from e
    everything = list(outcomes.values())
    if any(o.status != "deleted" for o in everything):
        raise CleanupIncomplete("\n".join(_summary(found, everything, stopped=False)), everything)
    return everything


def _blocked(f: Found, found: Findings, outcomes: Mapping[tuple[str, int], Outcome]) -> str:
    """Why a volume or primary IP is left alone: it hangs on a server this run does not delete."""
    server = f.obj.server_id if f.kind == "volume" else f.obj.assignee_id if f.kind == "primary_ip" else None
    if server is None:
        return ""
    done = outcomes.get(("server", server))
    if done is None:
        return f"attached to server {server}, which is not among these leftovers: detach it first if it is to go"
    if done.status != "deleted":
        return f"attached to server {done.found.obj.name}, which was not deleted"
    return ""  # the API detached it when the server went


def _refusal(e: ClientError, f: Found) -> str:
    hint = HINTS.get(e.code or "")
    if hint:
        return f"refused ({e.code}): {hint.replace('<kind>', f.kind.replace('_', '-')).replace('<id>', str(f.obj.id))}"
    return str(e).removeprefix(f"{e.api}: ")


def _names(outcomes: Iterable[Outcome]) -> str:
    titles = [o.found.title for o in outcomes]
    more = f", and {len(titles) - NAMES_SHOWN} more (listed above)" if len(titles) > NAMES_SHOWN else ""
    return ", ".join(titles[:NAMES_SHOWN]) + more


def _summary(found: Findings, outcomes: list[Outcome], *, stopped: bool) -> list[str]:
    by_status: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_status.setdefault(o.status, []).append(o)
    deleted, started = by_status.get("deleted", []), by_status.get("unconfirmed", [])
    remain = [o for o in outcomes if o.status not in ("deleted", "unconfirmed")]
    lines = [
        f"cleanup of {found.target} {'stopped' if stopped else 'is incomplete'}: {len(deleted)} of {len(outcomes)} deleted"
        + (f", {len(started)} being deleted" if started else "") + f", {len(remain)} remain"
    ]
    if deleted:
        lines.append(f"deleted: {_names(deleted)}")
    if started:
        lines.append(f"being deleted (the API took the request; its end was not seen): {_names(started)}")
    if remain:
        lines.append(f"remain: {_names(remain)}")
    lines.append("run the same command again to delete what remains"
                 + (" once the API answers again" if stopped else "") + ": what is gone already is simply not found")
    return lines
