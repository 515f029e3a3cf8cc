"""`app list`, `app status`, `app rollback`, `app delete`, `app logs`: reads and small writes of our apps.

Reads list each kind once per call (a label selector), never one request per
app, so `app list` costs one request whatever the number of apps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

from clusterctl_py.apps import knative
from clusterctl_py.apps.deploy import Say, wait_ready
from clusterctl_py.apps.knative import CLUSTERS, OURS, PODS, REVISIONS, REVISION_LABEL, SECRETS, SERVICE_LABEL, SERVICES
from clusterctl_py.clients.errors import NotFound
from clusterctl_py.clients.kube import ObjectApi
from clusterctl_py.errors import ClusterctlError, Problem, SpecError
from clusterctl_py.render import app as render


def list_apps(api: ObjectApi, namespace: str | None) -> list[knative.App]:
    """Our Knative Services in `namespace` (every namespace when None), by namespace and name."""
    found = [knative.app(o) for o in api.list(*SERVICES, namespace, label_selector=OURS)]
    return sorted((a for a in found if a.ours), key=lambda a: (a.namespace, a.name))


def _our_app(api: ObjectApi, name: str, namespace: str) -> knative.App:
    obj = api.get(*SERVICES, namespace, name)
    if obj is None:
        raise NotFound(f"no app {name} in namespace {namespace}", api=f"Kubernetes API {api.endpoint}")
    state = knative.app(obj)
    if not state.ours:
        raise SpecError([Problem("NAME", f"Knative Service {namespace}/{name} was not made by clusterctl-py "
                                         f"(no label {render.MANAGED_BY_LABEL}={render.MANAGED_BY}); it is left alone")])
    return state


def revisions(api: ObjectApi, name: str, namespace: str) -> list[knative.Revision]:
    """The app's revisions, oldest first (by their Configuration generation)."""
    found = [knative.revision(o) for o in api.list(*REVISIONS, namespace, label_selector=f"{SERVICE_LABEL}={name}")]
    return sorted(found, key=lambda r: (r.generation, r.name))


@dataclass(frozen=True)
class Status:
    app: knative.App
    revisions: list[knative.Revision]


def status(api: ObjectApi, name: str, namespace: str) -> Status:
    return Status(_our_app(api, name, namespace), revisions(api, name, namespace))


def rollback(
    api: ObjectApi,
    name: str,
    namespace: str,
    to: str | None,
    *,
    say: Say,
    poll: float = 2.0,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """All traffic to `to`, or to the newest Ready revision older than the one serving now: one patch of spec.traffic.

    The template is not touched, so Knative makes no new revision; the next
    `app deploy` puts traffic back on the latest revision.
    """
    state = _our_app(api, name, namespace)
    revs = revisions(api, name, namespace)
    by_name = {r.name: r for r in revs}
    if to is not None:
        target = by_name.get(to)
        if target is None:
            known = ", ".join(r.name for r in revs) or "none"
            raise SpecError([Problem("REVISION", f"{to!r} is not a revision of app {name} (its revisions: {known})")])
        if not target.is_ready:
            raise SpecError([Problem("REVISION", f"{to} is not Ready ({knative.condition_text(target.ready)}); "
                                                 "traffic goes only to a Ready revision")])
    else:
        current = by_name.get(state.serving)
        if current is None:
            raise ClusterctlError(f"app {namespace}/{name}: no revision receives traffic now; nothing to roll back from")
        earlier = [r for r in revs if r.generation < current.generation and r.is_ready]
        if not earlier:
            raise ClusterctlError(f"app {namespace}/{name}: no Ready revision older than {current.name} to roll back to")
        target = earlier[-1]
    pinned = [{"revisionName": target.name, "percent": 100}]
    if [(t.revision, t.percent, t.latest) for t in state.pinned] == [(target.name, 100, False)]:
        say(f"app {namespace}/{name}: all traffic already goes to {target.name}")
        return target.name
    written = api.merge_patch(*SERVICES, namespace, name, {"spec": {"traffic": pinned}})
    say(f"app {namespace}/{name}: traffic 100% to {target.name} (was {state.traffic_text()})")
    generation = int((written.get("metadata") or {}).get("generation") or 0)
    wait_ready(api, namespace, name, generation, say=say, poll=poll, timeout=timeout, sleep=sleep, clock=clock, revision=target.name)
    return target.name


@dataclass(frozen=True)
class Doomed:
    kind: str
    name: str
    api: tuple[str, str]


def plan_delete(api: ObjectApi, name: str, namespace: str, *, keep_database: bool) -> tuple[list[Doomed], list[str]]:
    """What `app delete` removes (only objects labelled as this app's), and notes on what it leaves."""
    doomed, notes = [], []
    service = api.get(*SERVICES, namespace, name)
    if service is not None and not knative.ours(service, name):
        raise SpecError([Problem("NAME", f"Knative Service {namespace}/{name} was not made by clusterctl-py "
                                         f"(no label {render.MANAGED_BY_LABEL}={render.MANAGED_BY}); it is left alone")])
    if service is not None:
        doomed.append(Doomed("Service", name, SERVICES))
    for kind, obj_name, plural in (("Secret", render.env_secret_name(name), SECRETS), ("Cluster", render.database_name(name), CLUSTERS)):
        obj = api.get(*plural, namespace, obj_name)
        if obj is None:
            continue
        if not knative.ours(obj, name):
            notes.append(f"{kind} {namespace}/{obj_name} is not this app's (not labelled as made by clusterctl-py for it): left alone")
        elif kind == "Cluster" and keep_database:
            notes.append(f"database {namespace}/{obj_name} kept (--keep-database), with its secret {render.database_secret_name(name)}")
        else:
            doomed.append(Doomed(kind, obj_name, plural))
    return doomed, notes


def delete(api: ObjectApi, namespace: str, doomed: list[Doomed], say: Say) -> None:
    for d in doomed:
        gone = api.delete(*d.api, namespace, d.name)
        say(f"deleted {d.kind} {namespace}/{d.name}" if gone else f"{d.kind} {namespace}/{d.name} was already gone")


def logs(api: ObjectApi, name: str, namespace: str, *, revision: str | None, follow: bool, say: Say) -> Iterator[str]:
    """The lines of the app's `user-container` in each pod (prefixed by the pod when there are several).

    A Knative Service scaled to zero has no pods: that is said, and no line comes.
    With `follow`, the newest pod is followed.
    """
    selector = f"{SERVICE_LABEL}={name}" + (f",{REVISION_LABEL}={revision}" if revision else "")
    pods = api.list(*PODS, namespace, label_selector=selector)
    pods = sorted(pods, key=lambda p: (str((p.get("metadata") or {}).get("creationTimestamp") or ""), p["metadata"]["name"]))
    if not pods:
        which = f"revision {revision} of app" if revision else "app"
        say(f"{which} {namespace}/{name} has no pods: it is scaled to zero (the next request starts one) or not deployed")
        return
    if follow:
        pod = pods[-1]["metadata"]["name"]
        if len(pods) > 1:
            say(f"following the newest of {len(pods)} pods, {pod}")
        yield from api.pod_log(namespace, pod, render.CONTAINER, follow=True)
        return
    for p in pods:
        pod = p["metadata"]["name"]
        prefix = f"[{pod}] " if len(pods) > 1 else ""
        for line in api.pod_log(namespace, pod, render.CONTAINER):
            yield prefix + line
