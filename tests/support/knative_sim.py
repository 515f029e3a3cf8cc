"""Knative Serving's webhook and controllers in miniature: Services become Revisions and a status in the emulator.

What knative/serving v1.23 does with a `serving.knative.dev/v1` Service, as far
as the app commands can see it:

* the defaulting webhook fills the template (pkg/apis/serving/v1/revision_defaults.go:
  containerConcurrency 0, timeoutSeconds 300, enableServiceLinks false, the
  container's readinessProbe and resources) and the traffic targets' latestRevision
  (pkg/apis/serving/v1/route_defaults.go), and puts the creator annotations on the
  Service (service_defaults.go SetUserInfo): a command comparing what it renders
  with the live object must compare a subset;
* the Service's Configuration (named as the Service, pkg/reconciler/service/resources/names/names.go)
  gets a new generation only when `spec.template` changed: traffic alone makes no
  revision. Each new Configuration generation makes a Revision
  `<service>-<generation, 5 digits>` (pkg/reconciler/configuration/resources/revision.go
  MakeRevision, kmeta.ChildName) carrying the template's labels and annotations and the
  labels serving.knative.dev/service, serving.knative.dev/configuration and
  serving.knative.dev/configurationGeneration;
* a new Revision is Ready=Unknown (reason Deploying) when made, and Ready=True (or
  False, as a test asks) the next time it is looked at;
* the Service status: observedGeneration, url `https://<name>.<namespace>.<domain>`,
  latestCreatedRevisionName, latestReadyRevisionName, traffic (latestRevision targets
  resolve to the latest ready revision) and the conditions ConfigurationsReady,
  RoutesReady and Ready (pkg/apis/serving/v1/service_lifecycle.go,
  PropagateConfigurationStatus / PropagateRouteStatus; a failed latest revision makes
  ConfigurationsReady False with reason RevisionFailed).

It acts when a command reads (a GET or LIST of services or revisions), in the
emulator's thread, like tests/support/capi_sim.py: no thread, no sleeping.
The Configuration and Route objects themselves are not made (no command reads them).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support.kube_api import KubeApi, KubeApiServer

SERVICE = "serving.knative.dev/v1/services"
REVISION = "serving.knative.dev/v1/revisions"
NOW = "2026-08-24T10:00:00Z"


def _key(resource: Any) -> str:
    return f"{resource.group}/{resource.version}/{resource.plural}" if resource.group else f"{resource.version}/{resource.plural}"


def _condition(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    c = {"type": type_, "status": status, "lastTransitionTime": NOW}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


class KnativeSim:
    """Knative in `server`; `fail` makes new revisions fail, `stall` keeps them Unknown."""

    def __init__(self, server: KubeApiServer, domain: str = "apps.example.com"):
        self.server = server
        self.domain = domain
        self.fail: tuple[str, str] | None = None  # (reason, message) of the next revisions' Ready=False
        self.stall = False
        self._templates: dict[tuple[str, str], tuple[int, Any]] = {}  # (ns, service) -> (configuration generation, template)
        self._looked: set[tuple[str, str]] = set()  # revisions seen once: they settle on the next look
        server.api.before.append(self._look)

    def _look(self, verb: str, plural: str | None, namespace: str | None, name: str | None) -> None:
        if verb in ("get", "list") and plural in ("services", "revisions"):
            self.reconcile(self.server.api)

    # -- the store ----------------------------------------------------------------

    @staticmethod
    def _all(api: KubeApi, key: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(o.raw) for (res, _, _), o in api.objects.items() if _key(res) == key and not o.deleted]

    @staticmethod
    def _put(api: KubeApi, key: str, obj: dict[str, Any]) -> None:
        api.objects[key, obj["metadata"]["namespace"], obj["metadata"]["name"]] = obj

    # -- the webhook and controllers -------------------------------------------------

    def reconcile(self, api: KubeApi) -> None:
        for rev in self._all(api, REVISION):
            ready = next((c for c in rev.get("status", {}).get("conditions", []) if c["type"] == "Ready"), None)
            key = (rev["metadata"]["namespace"], rev["metadata"]["name"])
            if ready is not None and ready["status"] == "Unknown" and key in self._looked:
                if self.fail:
                    rev["status"]["conditions"] = [_condition("Ready", "False", *self.fail),
                                                   _condition("ContainerHealthy", "False", *self.fail)]
                elif not self.stall:
                    rev["status"]["conditions"] = [_condition("Ready", "True"), _condition("ContainerHealthy", "True"),
                                                   _condition("ResourcesAvailable", "True")]
                self._put(api, REVISION, rev)
            elif ready is not None and ready["status"] == "Unknown":
                self._looked.add(key)
        for svc in self._all(api, SERVICE):
            self._service(api, svc)

    def _default(self, svc: dict[str, Any]) -> None:
        template = svc["spec"].setdefault("template", {})
        spec = template.setdefault("spec", {})
        spec.setdefault("containerConcurrency", 0)
        spec.setdefault("timeoutSeconds", 300)
        spec.setdefault("enableServiceLinks", False)
        for c in spec.get("containers", []):
            c.setdefault("name", "user-container")
            c.setdefault("readinessProbe", {"successThreshold": 1, "tcpSocket": {"port": 0}})
            c.setdefault("resources", {})
        for t in svc["spec"].setdefault("traffic", [{"latestRevision": True, "percent": 100}]):
            t.setdefault("latestRevision", not t.get("revisionName"))
        annotations = svc["metadata"].setdefault("annotations", {})
        annotations.setdefault("serving.knative.dev/creator", "admin")
        annotations["serving.knative.dev/lastModifier"] = "admin"

    def _service(self, api: KubeApi, svc: dict[str, Any]) -> None:
        meta, ns, name = svc["metadata"], svc["metadata"]["namespace"], svc["metadata"]["name"]
        status = svc.setdefault("status", {})
        if meta.get("generation", 1) > status.get("observedGeneration", 0):
            self._default(svc)
            template = {k: v for k, v in svc["spec"]["template"].items()}
            generation, last = self._templates.get((ns, name), (0, None))
            if template != last:
                generation += 1
                self._templates[ns, name] = (generation, copy.deepcopy(template))
                self._revision(api, svc, generation, template)
            status["observedGeneration"] = meta.get("generation", 1)
        revs = sorted((r for r in self._all(api, REVISION)
                       if r["metadata"]["namespace"] == ns and r["metadata"]["labels"].get("serving.knative.dev/service") == name),
                      key=lambda r: int(r["metadata"]["labels"]["serving.knative.dev/configurationGeneration"]))
        if not revs:
            return
        state = {r["metadata"]["name"]: next(c for c in r["status"]["conditions"] if c["type"] == "Ready") for r in revs}
        latest = revs[-1]["metadata"]["name"]
        ready = [r["metadata"]["name"] for r in revs if state[r["metadata"]["name"]]["status"] == "True"]
        status["latestCreatedRevisionName"] = latest
        if ready:
            status["latestReadyRevisionName"] = ready[-1]
        status["url"] = f"https://{name}.{ns}.{self.domain}"
        traffic, routed = [], True
        for t in svc["spec"]["traffic"]:
            target = ready[-1] if t.get("latestRevision") and ready else t.get("revisionName", "")
            routed = routed and target in ready
            if target:
                traffic.append({"revisionName": target, "latestRevision": bool(t.get("latestRevision")), "percent": t.get("percent", 0)})
        status["traffic"] = traffic
        latest_state = state[latest]
        if latest_state["status"] == "True":
            configs = _condition("ConfigurationsReady", "True")
        elif latest_state["status"] == "False":
            configs = _condition("ConfigurationsReady", "False", "RevisionFailed",
                                 f'Revision "{latest}" failed with message: {latest_state.get("message", "")}.')
        else:
            configs = _condition("ConfigurationsReady", "Unknown")
        routes = _condition("RoutesReady", "True") if routed else _condition("RoutesReady", "Unknown", "RevisionMissing",
                                                                             "Configuration is waiting for a Revision to become ready.")
        overall = "True" if configs["status"] == routes["status"] == "True" else (
            "False" if "False" in (configs["status"], routes["status"]) else "Unknown")
        source = configs if configs["status"] != "True" else routes
        status["conditions"] = [_condition("ConfigurationsReady", configs["status"], configs.get("reason", ""), configs.get("message", "")),
                                _condition("Ready", overall, source.get("reason", "") if overall != "True" else "",
                                           source.get("message", "") if overall != "True" else ""),
                                routes]
        self._put(api, SERVICE, svc)

    def _revision(self, api: KubeApi, svc: dict[str, Any], generation: int, template: dict[str, Any]) -> None:
        meta = svc["metadata"]
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels.update({
            "serving.knative.dev/service": meta["name"],
            "serving.knative.dev/configuration": meta["name"],
            "serving.knative.dev/configurationGeneration": str(generation),
            "serving.knative.dev/serviceUID": meta.get("uid", ""),
        })
        rev = {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Revision",
            "metadata": {
                "name": f"{meta['name']}-{generation:05d}",
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                "generation": 1,
                "creationTimestamp": NOW,
                "uid": f"rev-{meta['name']}-{generation}",
                "resourceVersion": "1",
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {"observedGeneration": 1, "conditions": [_condition("Ready", "Unknown", "Deploying")]},
        }
        self._put(api, REVISION, rev)
