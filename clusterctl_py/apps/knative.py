"""What the app commands read of Knative's objects, as our own frozen dataclasses.

Field names as knative/serving v1.23 spells them (pkg/apis/serving/v1
service_types.go, revision_types.go, route_types.go TrafficTarget): a
Service's status carries `url`, `latestCreatedRevisionName`,
`latestReadyRevisionName`, `traffic` and the conditions Ready,
ConfigurationsReady and RoutesReady; a Revision's name is
`<configuration>-<generation, 5 digits>` and its labels name its Service and
Configuration generation (pkg/reconciler/configuration/resources/revision.go).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from clusterctl_py.clients.kube import Condition, Conditions, find, parse_conditions
from clusterctl_py.render.app import MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, SERVING_API

SERVICES = (SERVING_API, "services")
REVISIONS = (SERVING_API, "revisions")
SECRETS = ("v1", "secrets")
PODS = ("v1", "pods")
NAMESPACES = ("v1", "namespaces")
CLUSTERS = ("postgresql.cnpg.io/v1", "clusters")

# knative/serving pkg/apis/serving/register.go
SERVICE_LABEL = "serving.knative.dev/service"
REVISION_LABEL = "serving.knative.dev/revision"
GENERATION_LABEL = "serving.knative.dev/configurationGeneration"

OURS = f"{MANAGED_BY_LABEL}={MANAGED_BY}"


def ours(obj: Mapping[str, Any] | None, app: str) -> bool:
    """Whether clusterctl-py made this object for `app` (both labels, as render.app sets them)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(NAME_LABEL) == app


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None


@dataclass(frozen=True)
class Traffic:
    revision: str  # the revision it resolves to ("" while none is ready)
    percent: int
    latest: bool  # follows the latest ready revision
    tag: str = ""

    def __str__(self) -> str:
        return f"{self.revision or '(none yet)'} {self.percent}%" + (" (latest)" if self.latest else "")


def _traffic(items: Any) -> tuple[Traffic, ...]:
    out = []
    for t in items or ():
        if isinstance(t, Mapping):
            out.append(Traffic(str(t.get("revisionName") or ""), int(t.get("percent") or 0), bool(t.get("latestRevision")), str(t.get("tag") or "")))
    return tuple(out)


class _HasReady:
    """Knative's objects say whether they serve in their `Ready` condition."""

    conditions: Conditions

    @property
    def ready(self) -> Condition | None:
        return find(self.conditions, "Ready")


@dataclass(frozen=True)
class App(_HasReady):
    """A Knative Service as `app list` and `app status` show it."""

    name: str
    namespace: str
    generation: int
    observed_generation: int
    url: str
    latest_created: str
    latest_ready: str
    traffic: tuple[Traffic, ...]  # status.traffic: where requests go now
    pinned: tuple[Traffic, ...]  # spec.traffic: what was asked for
    conditions: Conditions
    ours: bool


    @property
    def is_ready(self) -> bool:
        ready = self.ready
        return ready is not None and ready.status == "True" and self.observed_generation >= self.generation

    @property
    def serving(self) -> str:
        """The revision receiving the most traffic (what a rollback goes back from)."""
        best = max(self.traffic, key=lambda t: t.percent, default=None)
        return best.revision if best is not None and best.percent > 0 else ""

    def traffic_text(self) -> str:
        return ", ".join(f"{t.revision or '-'}={t.percent}%" for t in self.traffic) or "-"


def app(obj: Mapping[str, Any]) -> App:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = str(meta.get("name") or "")
    return App(
        name=name,
        namespace=str(meta.get("namespace") or ""),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        url=str(status.get("url") or ""),
        latest_created=str(status.get("latestCreatedRevisionName") or ""),
        latest_ready=str(status.get("latestReadyRevisionName") or ""),
        traffic=_traffic(status.get("traffic")),
        pinned=_traffic(spec.get("traffic")),
        conditions=parse_conditions(status.get("conditions")),
        ours=ours(obj, name),
    )


@dataclass(frozen=True)
class Revision(_HasReady):
    name: str
    service: str
    generation: int  # the serving.knative.dev/configurationGeneration label
    created: datetime | None
    image: str
    conditions: Conditions


    @property
    def is_ready(self) -> bool:
        ready = self.ready
        return ready is not None and ready.status == "True"


def revision(obj: Mapping[str, Any]) -> Revision:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    labels = meta.get("labels") or {}
    containers = spec.get("containers") or [{}]
    try:
        generation = int(labels.get(GENERATION_LABEL) or 0)
    except ValueError:
        generation = 0
    return Revision(
        name=str(meta.get("name") or ""),
        service=str(labels.get(SERVICE_LABEL) or ""),
        generation=generation,
        created=_when(meta.get("creationTimestamp")),
        image=str(containers[0].get("image") or ""),
        conditions=parse_conditions(status.get("conditions")),
    )


def condition_text(condition: Condition | None) -> str:
    if condition is None:
        return "no Ready condition yet"
    text = condition.status if condition.status != "Unknown" else "not ready yet"
    if condition.reason:
        text += f" ({condition.reason})"
    if condition.message:
        text += f": {condition.message}"
    return text
