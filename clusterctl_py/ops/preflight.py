"""`preflight`: the spec against the live Hetzner project, before anything is created or paid for.

What the plan makes comes from the provider (`spec.provider.footprint`, what
we render and what the management stack creates); what the project has comes
from the API, one paginated walk per collection whatever the size of the
pools, so a large spec costs no more of the project's 3600 requests an hour
than a small one. Every problem is one line naming the spec field, the value
and what is allowed; a token the API refuses (wrong, or revoked while this
runs) is a ClientError from the client, one line too.

The write check renames one of the spec's SSH keys to the name it already
has (`PUT /ssh_keys/{id}`): nothing changes and nothing is created, but a
token made with the Console's "Read" permission "will only be allowed to
perform GET requests" (docs.hetzner.com, Cloud > API > Generating an API
token), so the API refuses it with the error code `token_readonly` ("The
token is only allowed to perform GET requests", API reference, Errors;
hcloud-go hcloud/error.go ErrorCodeTokenReadonly), as it would refuse every
create of `up`.

The project's server limit is not in the API (no endpoint reports project
limits; an exceeded one answers `resource_limit_exceeded`, API reference,
Errors): the Console shows it under the project's Limits. Give it with
`--server-limit` to have it checked; otherwise the count is reported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from clusterctl_py.clients.errors import Forbidden
from clusterctl_py.errors import Problem

if TYPE_CHECKING:
    # Types only: a test's Protocol fake runs without hcloud imported.
    from clusterctl_py.clients.hetzner import HetznerApi, Image, ServerType
    from clusterctl_py.providers import Footprint, MachineUse, PlannedObject
    from clusterctl_py.spec import PlatformSpec

# Footprint kinds -> how a message names them, and the client call that lists them.
KINDS: dict[str, tuple[str, Callable[[HetznerApi], list]]] = {
    "network": ("network", lambda api: api.networks()),
    "placement_group": ("placement group", lambda api: api.placement_groups()),
    "firewall": ("firewall", lambda api: api.firewalls()),
    "primary_ip": ("primary IP", lambda api: api.primary_ips()),
    "server": ("server", lambda api: api.servers()),
    "load_balancer": ("load balancer", lambda api: api.load_balancers()),
}


@dataclass
class Report:
    endpoint: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was checked and found, one line each


def preflight(spec: PlatformSpec, api: HetznerApi, *, cluster: str | None = None, server_limit: int | None = None) -> Report:
    """Check the plan for `spec` (or one cluster's stack) against the project behind `api`."""
    if cluster is not None:
        spec.cluster(cluster)  # SpecError naming the defined clusters
    plan = spec.provider.footprint(spec, cluster)
    report = Report(api.endpoint)
    # Each collection is listed once, on first use.
    lists: dict[str, list] = {}

    def listed(kind: str) -> list:
        if kind not in lists:
            lists[kind] = KINDS[kind][1](api)
        return lists[kind]

    types = {st.name: st for st in api.server_types()}
    problems = _server_types(plan, types, api.endpoint)
    if not problems:
        report.notes.append(f"server types: {_summary(plan.machines)}: offered, available, not deprecated")
    report.problems += problems
    report.problems += _ssh_keys(plan, api, report)
    report.problems += _images(plan, types, api.images(), report)
    report.problems += _names(plan, listed, report)
    report.problems += _servers(plan, listed("server"), server_limit, report)
    if plan.load_balancers:
        made = ", ".join(f"{lb.role} {lb.load_balancer_type} in {lb.location} ({lb.creator})" for lb in plan.load_balancers)
        report.notes.append(f"load balancers the plan makes: {made}")
    return report


def _summary(machines: Iterable[MachineUse]) -> str:
    return ", ".join(sorted({f"{m.machine_type} in {m.location}" for m in machines}))


def _allowed(types: dict[str, ServerType], location: str) -> str:
    names = [
        st.name for st in types.values()
        if (at := st.at(location)) is not None and at.available and at.deprecation is None
    ]
    return ", ".join(names) or "none"


def _server_types(plan: Footprint, types: dict[str, ServerType], endpoint: str) -> list[Problem]:
    problems = []
    for use in plan.machines:
        name, loc = use.machine_type, use.location
        allowed = f"allowed in {loc}: {_allowed(types, loc)}"
        st = types.get(name)
        # Per location (`locations[]`): the top-level `deprecation` is being phased out (hcloud-python
        # hcloud/server_types/domain.py, ServerType.deprecation: "Please refer to '.locations[].deprecation'").
        at = st.at(loc) if st is not None else None
        if st is None:
            problems.append(Problem(use.path, f"server type {name!r} does not exist at {endpoint}; {allowed}"))
        elif at is None:
            problems.append(Problem(use.path, f"server type {name!r} is not offered in {loc}; {allowed}"))
        elif at.deprecation is not None:
            after = at.deprecation.unavailable_after
            when = f", unavailable after {after:%Y-%m-%d}" if after else ""
            problems.append(Problem(use.path, f"server type {name!r} is deprecated in {loc}{when}; {allowed}"))
        elif not at.available:
            problems.append(Problem(use.path, f"server type {name!r} is not available in {loc} right now (sold out); {allowed}"))
    return problems


def _ssh_keys(plan: Footprint, api: HetznerApi, report: Report) -> list[Problem]:
    keys = {k.name: k for k in api.ssh_keys()}
    existing = ", ".join(sorted(keys)) or "none (add one in the Console or with `hcloud ssh-key create`)"
    problems = [
        Problem(path, f"SSH key {name!r} does not exist in the Hetzner project; existing keys: {existing}")
        for path, name in plan.ssh_keys
        if name not in keys
    ]
    present = [keys[name] for _, name in plan.ssh_keys if name in keys]
    if not present:
        report.notes.append("token: accepted; write permission not checked (no SSH key of the spec exists)")
        return problems
    try:
        api.verify_write(present[0])
    except Forbidden as e:
        reason = "is read-only" if e.code == "token_readonly" else "may not write (forbidden)"
        problems.append(Problem(
            "HCLOUD_TOKEN",
            f"the token {reason}: the API refused a no-op update of SSH key {present[0].name!r}; "
            "allowed: a token with the permission Read & Write",
        ))
    else:
        report.notes.append(f"token: accepted and may write; SSH keys: {', '.join(k.name for k in present)}")
    return problems


def _images(plan: Footprint, types: dict[str, ServerType], images: list[Image], report: Report) -> list[Problem]:
    # (image, its spec field, architecture) -> outcome of the lookup -> the machines' spec fields.
    # Machines of one architecture share a line unless their creators look the image up differently.
    outcomes: dict[tuple[str, str, str], dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    for use in plan.machines:
        st = types.get(use.machine_type)
        if st is not None:
            outcome = _image_lookup(use.image, use.image_label, st.architecture, images)
            outcomes[(use.image, use.image_path, st.architecture)][outcome].append(use.path)
    problems = []
    for (image, image_path, arch), by_outcome in outcomes.items():
        offered = sorted({
            i.name for i in images if i.type == "system" and i.architecture == arch and i.name and i.deprecation is None
        })
        allowed = f"system images for {arch}: {', '.join(offered) or 'none'}"
        found = []
        for (kind, detail), paths in by_outcome.items():
            what = f"image {image!r} for {arch} (needed by {', '.join(paths)})"
            if kind == "ok":
                found.append(detail)
            elif kind == "deprecated":
                problems.append(Problem(image_path, f"{what} is deprecated{f' since {detail:%Y-%m-%d}' if detail else ''}; {allowed}"))
            elif kind == "missing":
                problems.append(Problem(image_path, f"{what} does not exist (no image {detail}); {allowed}"))
            else:
                # CAPH refuses to choose (pkg/services/hcloud/server/server.go, getServerImage: "image is ambiguous").
                ids, label = detail
                problems.append(Problem(
                    image_path,
                    f"{what} is ambiguous: images {ids} are named so or labelled {label}={image}, and CAPH needs exactly"
                    f" one; allowed: a name or {label} label only one image of {arch} has",
                ))
        if found and len(found) == len(by_outcome):
            report.notes.append(f"image {image!r} for {arch}: image {', '.join(str(i) for i in sorted(set(found)))}")
    return problems


def _image_lookup(image: str, label: str | None, arch: str, images: list[Image]) -> tuple:
    """How the machine's creator finds the image: ("ok", id), ("deprecated", since), ("missing", how) or ("ambiguous", ...)."""
    matches = [
        i for i in images
        if i.architecture == arch and (i.name == image or (label is not None and i.labels.get(label) == image))
    ]
    usable = [i for i in matches if i.deprecation is None]
    if not usable and matches:
        return ("deprecated", matches[0].deprecation.announced)
    if not usable:
        return ("missing", f"named so or labelled {label}={image}" if label else "named so")
    if label is not None and len(usable) > 1:
        return ("ambiguous", (", ".join(str(i.id) for i in usable), label))
    return ("ok", usable[0].id)


def _labelled(labels: Mapping[str, str], owner: Mapping[str, str | None]) -> bool:
    return all(k in labels if v is None else labels.get(k) == v for k, v in owner.items())


def _names(plan: Footprint, listed: Callable[[str], list], report: Report) -> list[Problem]:
    # Names the plan itself would take twice are refused by validation (providers/hetzner/checks.py).
    problems, ours, free = [], 0, 0
    unique: dict[tuple[str, str], PlannedObject] = {}
    for o in plan.objects:
        unique.setdefault((o.kind, o.name), o)

    def our_network(name: str) -> int | None:
        """The id of the existing network `name` if it is this platform's (as the plan labels it)."""
        planned = unique.get(("network", name))
        found = next((n for n in listed("network") if n.name == name), None)
        return found.id if found is not None and planned is not None and _labelled(found.labels, planned.owner) else None

    for obj in unique.values():
        word = KINDS[obj.kind][0]
        existing = next((o for o in listed(obj.kind) if o.name == obj.name), None)
        attached = obj.attached_to is None or (existing is not None and our_network(obj.attached_to) in existing.networks)
        if existing is None:
            free += 1
        elif _labelled(existing.labels, obj.owner) and attached:
            ours += 1  # made for this platform by an earlier run: up carries on with it
        else:
            label = ", ".join(k if v is None else f"{k}={v}" for k, v in obj.owner.items())
            mark = f"the label {label} that marks"
            if obj.attached_to:
                mark = f"the label {label} and the attachment to network {obj.attached_to!r} that mark"
            # The name is not the user's to choose then (the CCM's is fixed by the cluster's name).
            fate = f"; {obj.creator} would take it over instead of making its own" if obj.adopts else ""
            allowed = f"delete or rename that {word}" if obj.adopts else f"a name no {word} has yet (or delete that {word})"
            problems.append(Problem(
                obj.path,
                f"{word} {obj.name!r}, which {obj.creator} creates, already exists in the project (id {existing.id})"
                f" without {mark} it as this platform's{fate}; allowed: {allowed}",
            ))
    report.notes.append(f"names: {free} free, {ours} already this platform's (from an earlier run)")
    return problems


def _servers(plan: Footprint, servers: list, server_limit: int | None, report: Report) -> list[Problem]:
    owners = {tuple(sorted(m.owner.items())) for m in plan.machines}
    ours = sum(1 for s in servers if any(all(s.labels.get(k) == v for k, v in owner) for owner in owners))
    planned = sum(m.max_count for m in plan.machines)
    total = len(servers) - ours + planned
    where = f"the limit given with --server-limit ({server_limit})" if server_limit is not None else (
        "the API does not report the project's server limit: see Limits in the Hetzner Console, or pass --server-limit"
    )
    report.notes.append(
        f"servers: the project runs {len(servers)} ({ours} of them this platform's); at maximum scale, rollouts"
        f" included, the plan runs {planned}: {total} in all; {where}"
    )
    if server_limit is not None and total > server_limit:
        return [Problem(
            "--server-limit",
            f"at maximum scale the project would run {total} servers ({len(servers) - ours} others + {planned} of this"
            f" plan), more than {server_limit}; allowed: lower pools' max, or ask Hetzner to raise the limit",
        )]
    return []
