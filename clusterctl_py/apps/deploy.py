"""`app deploy`: write the rendered objects that differ from the live ones, then wait for the revision.

Everything is read and checked before the first write: a namespace that does
not exist, a name taken by something clusterctl-py did not make, or
`--database` on a cluster that does not serve CloudNativePG's Cluster, is
refused (exit 2) with nothing changed. The namespace is not made for the user
(neither kubectl nor kn makes one implicitly): a typo in `-n` would otherwise
make a namespace nobody meant.

An object is written only when a field we render differs from the live one:
a subset compare, since Knative's and CloudNativePG's webhooks fill in
defaults (knative/serving pkg/apis/serving/v1/revision_defaults.go:
containerConcurrency, timeoutSeconds, readinessProbe, ...). So a redeploy of
the same image and settings sends no write, and Knative makes no revision.
What we own wholly (the Secret's data, the scale annotations, the
container's env and envFrom lists) compares exactly, so a dropped value is a
change too.

An update is a PUT of the live object with our fields in it, carrying the
resourceVersion it was read at: a concurrent change answers 409 instead of
being overwritten. The live object's other metadata is kept (Knative's
webhook refuses a change of its `serving.knative.dev/creator` annotation).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from clusterctl_py.apps import knative
from clusterctl_py.apps.knative import CLUSTERS, NAMESPACES, REVISIONS, SECRETS, SERVICES
from clusterctl_py.clients.errors import Forbidden
from clusterctl_py.clients.kube import ObjectApi
from clusterctl_py.errors import ClusterctlError, Problem, SpecError
from clusterctl_py.render import app as render
from clusterctl_py.render.app import AppRequest

Say = Callable[[str], None]


@dataclass
class Deployed:
    url: str
    revision: str
    changes: list[str] = field(default_factory=list)  # "created Service default/web", ...


def subset(want: Any, have: Any) -> bool:
    """Whether every field of `want` is in `have` with the same value (lists item by item, same length)."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(k in have and subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(subset(w, h) for w, h in zip(want, have))
    return want == have


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations")) or {}


# Container lists we own wholly: one we render without is an empty one.
_OWNED_LISTS = ("env", "envFrom")


def _container(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    containers = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or [{}]
    return containers[0]


def matches(want: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
    """Whether the live object already holds what we render."""
    if not subset(want["metadata"].get("labels", {}), (have.get("metadata") or {}).get("labels") or {}):
        return False
    if want["kind"] == "Secret":
        return want.get("type") == have.get("type") and dict(want.get("data") or {}) == dict(have.get("data") or {})
    if want["kind"] == "Service":
        scale = (render.MIN_SCALE, render.MAX_SCALE)
        if any(_annotations(want).get(k) != _annotations(have).get(k) for k in scale):
            return False
        mine, live = _container(want), _container(have)
        if any(not subset(mine.get(k, []), live.get(k) or []) for k in _OWNED_LISTS):
            return False
    return subset(want.get("spec"), have.get("spec"))


def _merged(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merged(base.get(k), v)
        return out
    return copy.deepcopy(over)


def updated(want: Mapping[str, Any], have: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body: the live object, our labels added, our part of it replaced."""
    body = copy.deepcopy(dict(have))
    meta = body.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **want["metadata"]["labels"]}
    if want["kind"] == "Secret":
        body["type"], body["data"] = want["type"], dict(want["data"])
        body.pop("stringData", None)
    elif want["kind"] == "Service":
        body["spec"] = copy.deepcopy(want["spec"])  # the whole template: a dropped env var is gone
    else:
        body["spec"] = _merged(have.get("spec") or {}, want["spec"])  # keeps what CloudNativePG defaulted
    body.pop("status", None)
    return body


_PLURALS = {"Service": SERVICES, "Secret": SECRETS, "Cluster": CLUSTERS}


def _not_ours(kind: str, obj: Mapping[str, Any], req: AppRequest) -> Problem:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    owner = labels.get(render.MANAGED_BY_LABEL)
    who = f"made by {owner}" if owner else f"not made by clusterctl-py (no label {render.MANAGED_BY_LABEL}={render.MANAGED_BY})"
    if owner == render.MANAGED_BY:
        who = f"of another app ({render.NAME_LABEL}={labels.get(render.NAME_LABEL)})"
    return Problem("NAME", f"{req.name!r} is taken: {kind} {req.namespace}/{obj['metadata']['name']} exists, {who}; choose another name")


def deploy(
    api: ObjectApi,
    req: AppRequest,
    *,
    say: Say,
    poll: float = 2.0,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Deployed:
    desired = render.render(req)
    ns = req.namespace
    if _namespace_missing(api, ns):
        raise SpecError([Problem("--namespace", f"namespace {ns!r} does not exist in this cluster; create it with "
                                                f"kubectl create namespace {ns}")])
    live: dict[str, Mapping[str, Any] | None] = {
        "Service": api.get(*SERVICES, ns, req.name),
        "Secret": api.get(*SECRETS, ns, req.secret_name),
    }
    if req.database:
        if not api.serves(*CLUSTERS):
            raise SpecError([Problem("--database", "this cluster does not serve CloudNativePG's postgresql.cnpg.io/v1 Cluster: "
                                                   "set platform.postgres: true for it in the spec and run `clusterctl-py up`")])
        live["Cluster"] = api.get(*CLUSTERS, ns, req.database_name)
    # Refused before any write: a name someone else's object holds, a Secret to read that is not there.
    problems = [
        Problem("--env-from-secret", f"Secret {ns}/{s} does not exist; create it first, e.g. "
                                     f"`kubectl create secret generic {s} -n {ns} --from-literal=KEY=VALUE`")
        for s in req.env_from_secrets
        if api.get(*SECRETS, ns, s) is None
    ]
    for kind, obj in live.items():
        if obj is not None and not knative.ours(obj, req.name) and (kind != "Secret" or req.secret_env):
            problems.append(_not_ours(kind, obj, req))
    if problems:
        raise SpecError(problems)

    result = Deployed(url="", revision="")
    service_generation = 0
    for want in desired:
        kind, name = want["kind"], want["metadata"]["name"]
        have = live.get(kind)
        where = f"{kind} {ns}/{name}"
        if have is None:
            written = api.create(*_PLURALS[kind], ns, want)
            result.changes.append(f"created {where}")
        elif matches(want, have):
            written = have
            result.changes.append(f"unchanged {where}")
        else:
            written = api.replace(*_PLURALS[kind], ns, name, updated(want, have))
            result.changes.append(f"updated {where}")
        say(f"app {ns}/{req.name}: {result.changes[-1]}")
        if kind == "Service":
            service_generation = int((written.get("metadata") or {}).get("generation") or 0)
    stale = live["Secret"]
    if not req.secret_env and stale is not None and knative.ours(stale, req.name):
        api.delete(*SECRETS, ns, req.secret_name)
        result.changes.append(f"deleted Secret {ns}/{req.secret_name} (no --secret-env given)")
        say(f"app {ns}/{req.name}: {result.changes[-1]}")
    if not req.database and _uses_database(live["Service"], req):
        say(f"note: app {ns}/{req.name} no longer gets DATABASE_URL; its database {req.database_name} is kept "
            f"(pass --database to use it again; `clusterctl-py app delete {req.name}` deletes it)")
    app_state, rev = wait_ready(api, ns, req.name, service_generation, say=say, poll=poll, timeout=timeout, sleep=sleep, clock=clock)
    result.url, result.revision = app_state.url, rev
    return result


def _namespace_missing(api: ObjectApi, namespace: str) -> bool:
    """Whether the namespace is known not to exist; a create there would fail half-way with 404
    (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go).

    A Namespace is cluster-scoped: a developer bound to one namespace may not read it (403).
    Then nothing is known and the deploy goes on; their namespace exists, or the create says so.
    """
    try:
        return api.get(*NAMESPACES, None, namespace) is None
    except Forbidden:
        return False


def _uses_database(service: Mapping[str, Any] | None, req: AppRequest) -> bool:
    containers = (((service or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    secret = render.database_secret_name(req.name)
    return any(((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret for c in containers for e in c.get("env") or [])


def _elapsed(start: float, now: float) -> str:
    s = int(now - start)
    return f"{s // 60:02d}:{s % 60:02d}"


def wait_ready(
    api: ObjectApi,
    namespace: str,
    name: str,
    generation: int,
    *,
    say: Say,
    poll: float,
    timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    revision: str | None = None,
) -> tuple[knative.App, str]:
    """Until the Service has seen `generation` and its latest created revision (or `revision`) and route are Ready.

    A revision whose Ready condition turns False fails at once; otherwise the
    timeout names where it got stuck. Progress: one line per change of state.
    """
    start = clock()
    last = ""
    where = f"app {namespace}/{name}"
    while True:
        obj = api.get(*SERVICES, namespace, name)
        if obj is None:
            raise ClusterctlError(f"{where}: the Knative Service was deleted while waiting for it")
        state = knative.app(obj)
        target = revision or state.latest_created
        rev = None
        if state.observed_generation < generation:
            stage = f"waiting for Knative to see generation {generation} (it has seen {state.observed_generation})"
        elif not target:
            stage = "waiting for Knative to create a revision"
        else:
            found = api.get(*REVISIONS, namespace, target)
            rev = knative.revision(found) if found is not None else None
            ready = rev.ready if rev is not None else None
            if ready is not None and ready.status == "False":
                raise ClusterctlError(f"{where}: revision {target} failed: {knative.condition_text(ready)}")
            if rev is not None and rev.is_ready and state.is_ready and (revision is None or state.serving == revision):
                say(f"{where}: revision {target} ready, serving {state.traffic_text()} ({_elapsed(start, clock())} elapsed)")
                return state, target
            if rev is None or not rev.is_ready:
                stage = f"revision {target}: {knative.condition_text(ready)}"
            else:
                stage = f"revision {target} ready; route: {knative.condition_text(state.ready)}"
        if stage != last:
            say(f"{where}: {stage} ({_elapsed(start, clock())} elapsed)")
            last = stage
        if clock() - start >= timeout:
            raise ClusterctlError(
                f"{where}: not ready after {int(timeout)}s: {stage}\n"
                f"see `clusterctl-py app status {name} -n {namespace}` and `clusterctl-py app logs {name} -n {namespace}`"
            )
        sleep(poll)
