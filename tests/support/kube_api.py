"""A Kubernetes API on 127.0.0.1 for the real `kubernetes` client: kmock's emulator, made faithful where we need it.

`kmock.KubernetesEmulator` (by the kopf author) keeps objects in memory and
serves get/list/watch/create/patch/delete over HTTP. Left as it is, the
`kubernetes` client trips over a few of its shortcuts, which `KubeApi`
closes (kmock 0.8, kmock/_internal/k8s.py):

* every kind we use is declared (`ResourceInfo` with its kind and scope), so
  an empty list is an empty list, not a 404, and discovery (`/apis`,
  `/apis/<group>/<version>`) names the kinds;
* lists carry `kind: <Kind>List` and `apiVersion`, as the apiserver's do;
* `labelSelector` and `fieldSelector` (`metadata.name`, `metadata.namespace`)
  are honoured; kmock ignores both and returns everything;
* a missing object is a 404 `NotFound` worded as the apiserver words it;
* Namespaces themselves are served (`/api/v1/namespaces[/NAME]`, which kmock misreads);
* a create in a namespace that has no Namespace object answers 404 `namespaces "NS" not found`
  (the NamespaceLifecycle admission plugin); a new emulator holds the namespaces every
  cluster starts with (`BUILTIN_NAMESPACES`), tests `add(namespace(...))` the others;
* create answers 201 with the object and fills `uid`, `creationTimestamp`,
  `resourceVersion` and `generation` when the body has none;
* lists honour `limit` and `continue` (pages in key order, namespace then name);
* update (PUT) replaces an object, and the status subresource takes only
  `status` while the object itself keeps it; an update or a merge patch that
  carries a stale `metadata.resourceVersion` answers 409 `Conflict`, and every
  write moves the resourceVersion on (kmock accepts PUT on no object, and
  keeps the resourceVersion a write sent);
* a write that changes `spec` moves `metadata.generation` on, as the apiserver
  does for custom resources with a status subresource (kubernetes/apiextensions-apiserver
  pkg/registry/customresource/strategy.go PrepareForUpdate);
* a pod's `log` subresource answers the text in `pod_logs[(namespace, pod, container)]`
  (kubernetes/kubernetes pkg/registry/core/pod/rest/log.go: 400 for a container the pod
  does not have), all of it at once, or with `follow=true` as a stream of lines;
* every request is logged (`log`), so tests count what a command asked for;
* faults can be injected: an answer with any status, `Retry-After` and a
  `Status` body (429, 5xx, 401, 403), a dropped connection, or the whole
  API going away (the listener closes: new connections are refused, open
  ones dropped) and coming back.

kmock runs on asyncio; the `kubernetes` client is synchronous, so `serve()`
runs kmock's loop in its own thread and the test (and the client) stay in
the main thread. kmock's own pytest fixture would run the server in the
test's loop, which the blocking client would starve.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import parsing, rendering

# (group/version/plural) -> (kind, namespaced). Every kind the client layer reads,
# at the versions the pinned releases serve (reference/crds, versions.py).
RESOURCES: dict[str, tuple[str, bool]] = {
    "cluster.x-k8s.io/v1beta2/clusters": ("Cluster", True),
    "cluster.x-k8s.io/v1beta2/machinedeployments": ("MachineDeployment", True),
    "cluster.x-k8s.io/v1beta2/machinesets": ("MachineSet", True),
    "cluster.x-k8s.io/v1beta2/machines": ("Machine", True),
    "cluster.x-k8s.io/v1beta2/machinehealthchecks": ("MachineHealthCheck", True),
    "controlplane.cluster.x-k8s.io/v1beta2/kubeadmcontrolplanes": ("KubeadmControlPlane", True),
    "infrastructure.cluster.x-k8s.io/v1beta1/hetznerclusters": ("HetznerCluster", True),
    "infrastructure.cluster.x-k8s.io/v1beta1/hcloudmachines": ("HCloudMachine", True),
    "addons.cluster.x-k8s.io/v1alpha1/helmreleaseproxies": ("HelmReleaseProxy", True),
    "addons.cluster.x-k8s.io/v1alpha1/helmchartproxies": ("HelmChartProxy", True),
    "clusterctl.cluster.x-k8s.io/v1alpha3/providers": ("Provider", True),
    "v1/namespaces": ("Namespace", False),
    "v1/secrets": ("Secret", True),
    "v1/nodes": ("Node", False),
    "apps/v1/deployments": ("Deployment", True),
    # CRDs (their status.storedVersions) and kinds whose objects a stored-version migration rewrites.
    "apiextensions.k8s.io/v1/customresourcedefinitions": ("CustomResourceDefinition", False),
    "cert-manager.io/v1/certificates": ("Certificate", True),
    "cert-manager.io/v1/clusterissuers": ("ClusterIssuer", False),
    "upgrade.cattle.io/v1/plans": ("Plan", True),
    # The app platform (reference/crds/knative-serving/v1.23.0, cloudnative-pg/v1.30.0) and the pods `app logs` reads.
    "serving.knative.dev/v1/services": ("Service", True),
    "serving.knative.dev/v1/revisions": ("Revision", True),
    "serving.knative.dev/v1/routes": ("Route", True),
    "serving.knative.dev/v1/configurations": ("Configuration", True),
    "postgresql.cnpg.io/v1/clusters": ("Cluster", True),
    "v1/pods": ("Pod", True),
}
_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
# kmock's reading of a request (kmock/_internal/enums.py action) as the Kubernetes verb.
_VERB_OF_ACTION = {
    kmock.action.FETCH: "get",
    kmock.action.LIST: "list",
    kmock.action.WATCH: "watch",
    kmock.action.CREATE: "create",
    kmock.action.UPDATE: "patch",
    kmock.action.DELETE: "delete",
}


_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock reads `/api/v1/namespaces/NAME` as a namespace with no resource; it is the Namespace NAME."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (len(parts) <= 4 or (len(parts) == 5 and parts[4] in ("status", "finalize"))):
        return parsing.ParsedPath("", "v1", "namespaces", None, *(parts[3:] + [None, None])[:2])
    return _kmock_parse_path(path)


parsing.parse_path = _parse_path


def resource_of(api_version: str, kind: str) -> str:
    """The `group/version/plural` key of RESOURCES serving `kind` at `api_version`."""
    for key, (known, _) in RESOURCES.items():
        if known == kind and key.rsplit("/", 1)[0] == api_version:
            return key
    raise KeyError(f"{api_version} {kind} is not served by the emulator; add it to RESOURCES")


# --------------------------------------------------------------------------- selectors

_REQUIREMENT = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[^\s,!=()]+)"
    r"|(?P<key>[^\s,!=()]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[^\s,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)"
    r")?)\s*(?:,|$)"
)


def label_selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector syntax: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`
    (kubernetes/apimachinery pkg/labels/selector.go)."""
    text = selector.strip()
    pos = 0
    while pos < len(text):
        m = _REQUIREMENT.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unable to parse requirement: {text[pos:]!r}")
        pos = m.end()
        if m["not"]:
            if m["nkey"] in labels:
                return False
        elif m["op"]:
            present = labels.get(m["key"])
            if m["op"] == "!=":
                if present == m["value"]:
                    return False
            elif present != m["value"]:
                return False
        elif m["setop"]:
            values = {v.strip() for v in m["values"].split(",") if v.strip()}
            present = labels.get(m["key"])
            if m["setop"] == "in" and present not in values:
                return False
            if m["setop"] == "notin" and present in values:
                return False
        elif m["key"] not in labels:
            return False
    return True


def field_selector_matches(selector: str, obj: Mapping[str, Any]) -> bool:
    """`metadata.name` and `metadata.namespace` with `=`, `==` and `!=`: what every kind supports."""
    meta = obj.get("metadata") or {}
    for part in filter(None, (p.strip() for p in selector.split(","))):
        m = re.fullmatch(r"(metadata\.name|metadata\.namespace)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise ValueError(f"field label not supported: {part!r}")
        actual = meta.get(m[1].split(".")[1])
        if (actual == m[3]) == (m[2] == "!="):
            return False
    return True


# --------------------------------------------------------------------------- faults and the request log


@dataclass(frozen=True)
class Logged:
    """One request as the API saw it."""

    method: str
    path: str
    params: Mapping[str, str]
    verb: str  # get, list, watch, create, patch, delete; discovery for /api and /apis
    plural: str | None  # the resource asked for, if any
    answer: int | str  # the HTTP status, or "dropped"


@dataclass
class Fault:
    """What the next `times` matching requests get instead of an answer (None: forever)."""

    status: int | None  # None: the connection is closed without an answer
    times: int | None = 1
    retry_after: int | None = None
    reason: str = ""
    message: str = ""
    when: Callable[[rendering.Request], bool] = field(default=lambda request: True)
    body: Any = None  # instead of the Status body


_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def _status_body(status: int, reason: str, message: str) -> dict[str, Any]:
    # The apiserver's error body (k8s.io/apimachinery pkg/apis/meta/v1 types.go Status).
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": status,
    }


# --------------------------------------------------------------------------- the emulator


@attrs.define(kw_only=True)
class KubeApi(kmock.KubernetesEmulator):
    """kmock's Kubernetes emulator with the gaps listed in the module docstring closed."""

    log: list[Logged] = attrs.field(factory=list, init=False)
    _faults: list[Fault] = attrs.field(factory=list, init=False)
    _fault_lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _down: bool = attrs.field(default=False, init=False)
    _down_after: int | None = attrs.field(default=None, init=False)
    on_down: Callable[[], None] | None = attrs.field(default=None, init=False)
    # Called in the emulator's thread before each request is served, with (verb, plural, namespace, name):
    # how a test plays a controller that moves on while a command watches (tests/support/capi_sim.py).
    before: list[Callable[[str, str | None, str | None, str | None], None]] = attrs.field(factory=list, init=False)
    # (namespace, pod, container) -> the container's log text.
    pod_logs: dict[tuple[str, str, str], str] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # The client asks for `/apis/` (kubernetes/client/api/apis_api.py); kmock only knows `/apis`.
        self.fallback["get /apis/"] << self._serve_apis
        for key, (kind, namespaced) in RESOURCES.items():
            self.resources[key] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, singular=kind.lower(), verbs=_VERBS,
                subresources={"status", "log"} if key == "v1/pods" else {"status"},
            )

    # -- what tests call ----------------------------------------------------------

    def add(self, *objs: Mapping[str, Any]) -> None:
        """Store objects as the API would hold them (uid and creationTimestamp filled in if absent)."""
        for obj in objs:
            obj = copy.deepcopy(dict(obj))
            _fill_metadata(obj)
            meta = obj["metadata"]
            key = resource_of(obj["apiVersion"], obj["kind"])
            namespaced = RESOURCES[key][1]
            self.objects[kmock.resource(key), meta.get("namespace") if namespaced else None, meta["name"]] = obj

    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        message: str | None = None,
        when: Callable[[rendering.Request], bool] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` matching requests (None: all) with `status` and a Status body (or `body`)."""
        reason = _REASONS.get(status, "InternalError")
        self._add_fault(Fault(status, times, retry_after, reason, message or f"injected {status}", when or (lambda r: True), body))

    def drop(self, *, times: int | None = 1, when: Callable[[rendering.Request], bool] | None = None) -> None:
        """Close the connection of the next `times` matching requests without answering."""
        self._add_fault(Fault(None, times, when=when or (lambda r: True)))

    def down_after(self, requests: int) -> None:
        """Answer `requests` more requests, then go down (see `KubeApiServer.down`)."""
        self._down_after = requests

    def count(self, verb: str | None = None, plural: str | None = None) -> int:
        """How many requests were made, optionally only those of a verb (get, list, ...) and resource."""
        return sum(1 for e in self.log if (verb is None or e.verb == verb) and (plural is None or e.plural == plural))

    def clear_log(self) -> None:
        self.log.clear()

    # -- serving --------------------------------------------------------------------

    def _add_fault(self, fault: Fault) -> None:
        with self._fault_lock:
            self._faults.append(fault)

    def _take_fault(self, request: rendering.Request) -> Fault | None:
        with self._fault_lock:
            for fault in self._faults:
                if fault.when(request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _verb(self, request: rendering.Request) -> str:
        if request.resource is None or request.resource.plural is None:  # /api, /apis, /apis/<group>[/<version>], /version
            return "discovery" if request.url.path.startswith(("/api", "/version")) else str(request.method.value).lower()
        if request.method.value == "PUT":
            return "update"
        return _VERB_OF_ACTION.get(request.action, str(request.method.value).lower())

    def _record(self, request: rendering.Request, answer: Any) -> None:
        plural = request.resource.plural if request.resource is not None else None
        self.log.append(Logged(request.method.value, request.url.path, dict(request.params), self._verb(request), plural, answer))

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if self._down_after is not None:
            if self._down_after <= 0:
                self._down = True
                self._down_after = None
                if self.on_down is not None:
                    self.on_down()
            else:
                self._down_after -= 1
        if self._down:
            self._record(request, "dropped")
            return _drop(request)
        for hook in self.before:
            plural = request.resource.plural if request.resource is not None else None
            hook(self._verb(request), plural, request.namespace, request.name)
        fault = self._take_fault(request)
        if fault is None and request.resource is not None and request.resource.plural == "pods" and request.subresource == "log":
            response = await self._serve_log(request)
            self._record(request, response.status)
            return response
        if fault is not None and fault.status is None:
            self._record(request, "dropped")
            return _drop(request)
        if fault is not None:
            self._record(request, fault.status)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body = fault.body if fault.body is not None else _status_body(fault.status, fault.reason, fault.message)
            return aiohttp.web.json_response(body, status=fault.status, headers=headers)
        if request.method.value == "PUT" and request.resource is not None and request.name is not None:
            response = await self._serve_replace(request)
            self._record(request, response.status)
            return response
        if request.action == kmock.action.UPDATE and request.name is not None and isinstance(request.data, dict):
            refused = await self._check_and_move_version(request)
            if refused is not None:
                self._record(request, refused.status)
                return refused
        if request.action == kmock.action.CREATE and request.namespace and not self._namespace_exists(request.namespace):
            # The NamespaceLifecycle admission plugin answers with the NotFound of its own Namespace get
            # (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go).
            response = _error(404, "NotFound", f'namespaces "{request.namespace}" not found')
            self._record(request, response.status)
            return response
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            _fill_metadata(request.data)
        try:
            response = await super()._handle(request)
        except Exception as exc:  # answered by kmock's error rendering (a Status body), counted here
            self._record(request, exc.status if isinstance(exc, kmock.KubernetesError) else 500)
            raise
        self._record(request, response.status)
        return response

    def _namespace_exists(self, name: str) -> bool:
        key = (kmock.resource("v1/namespaces"), None, name)
        return key in self.objects and not self.objects[key].deleted

    async def _serve_log(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        async with self._lock:
            _, pod = self._stored(request)
        if pod is None:
            return _error(404, "NotFound", f'pods "{request.name}" not found')
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = request.params.get("container") or (containers[0] if len(containers) == 1 else None)
        if container not in containers:
            return _error(400, "BadRequest", f"container {container} is not valid for pod {request.name}")
        text = self.pod_logs.get((request.namespace, request.name, container), "")
        if request.params.get("follow") != "true":
            return aiohttp.web.Response(text=text, content_type="text/plain")
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request._raw_request)
        for line in text.splitlines(keepends=True):
            await response.write(line.encode())
        await response.write_eof()
        return response

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        payload = await super()._serve_list(request)
        items = payload["items"]
        labels = request.params.get("labelSelector")
        fields = request.params.get("fieldSelector")
        try:
            if labels:
                items = [i for i in items if label_selector_matches(labels, (i.get("metadata") or {}).get("labels") or {})]
            if fields:
                items = [i for i in items if field_selector_matches(fields, i)]
        except ValueError as exc:
            raise kmock.KubernetesError(status=400, reason="BadRequest", message=str(exc), details={}) from None
        res = request.resource
        kind = RESOURCES[f"{res.group}/{res.version}/{res.plural}" if res.group else f"{res.version}/{res.plural}"][0]
        metadata, items = _page(items, request.params.get("limit"), request.params.get("continue"))
        return {
            "kind": f"{kind}List",
            "apiVersion": f"{res.group}/{res.version}" if res.group else res.version,
            "metadata": metadata,
            "items": items,
        }

    async def _serve_fetch(self, request: rendering.Request) -> rendering.Payload:
        try:
            return await super()._serve_fetch(request)
        except kmock.KubernetesObjectNotFoundError:
            # The apiserver's wording (k8s.io/apimachinery pkg/api/errors/errors.go NewNotFound).
            res = request.resource
            what = f"{res.plural}.{res.group}" if res.group else res.plural
            raise kmock.KubernetesError(status=404, reason="NotFound", message=f'{what} "{request.name}" not found', details={}) from None

    async def _serve_create(self, request: rendering.Request) -> rendering.Payload:
        # The client reads the body of a 201; on a 200 from a create it would read none.
        return rendering.Response(status=201, payload=await super()._serve_create(request))

    def _stored(self, request: rendering.Request) -> tuple[Any, dict[str, Any] | None]:
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return key, None
        return key, self.objects[key].raw

    async def _serve_replace(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """PUT: the object as sent replaces the stored one (the status subresource: its status only)."""
        body = request.data if isinstance(request.data, dict) else {}
        async with self._lock:
            key, current = self._stored(request)
            if current is None:
                return _error(404, "NotFound", f'{_qualified(request)} "{request.name}" not found')
            refused = _stale(request, body, current)
            if refused is not None:
                return refused
            if request.subresource == "status":
                new = {**copy.deepcopy(current), "status": copy.deepcopy(body.get("status"))}
            else:
                # The object's own endpoint ignores status (the status subresource owns it), and
                # what the server set is kept (kubernetes.io/docs custom-resource-definitions, Status subresource).
                new = {k: copy.deepcopy(v) for k, v in body.items() if k != "status"}
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                kept = {k: current["metadata"][k] for k in ("uid", "creationTimestamp", "generation") if k in current["metadata"]}
                new["metadata"] = {**copy.deepcopy(body.get("metadata") or {}), **kept}
                if "generation" in kept and new.get("spec") != current.get("spec"):
                    new["metadata"]["generation"] = kept["generation"] + 1
            new["metadata"]["resourceVersion"] = _next_version()
            stored = self.objects[key]
            stored.delete()
            stored.create(new)
            await self._buses[request.resource].put({"type": "MODIFIED", "object": new})
        return aiohttp.web.json_response(new, status=200)

    async def _check_and_move_version(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """A merge patch: 409 when it carries a stale resourceVersion, else it moves the version on."""
        async with self._lock:
            _, current = self._stored(request)
            if current is None:
                return None  # kmock answers the 404
            refused = _stale(request, request.data, current)
            if refused is not None:
                return refused
            request.data.setdefault("metadata", {})["resourceVersion"] = _next_version()
            generation = (current.get("metadata") or {}).get("generation")
            if generation is not None and request.subresource is None and "spec" in request.data:
                if _merge_patched(current.get("spec"), request.data["spec"]) != current.get("spec"):
                    request.data["metadata"]["generation"] = generation + 1
        return None


def _merge_patched(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null removes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patched(out.get(key), value)
    return out


def _qualified(request: rendering.Request) -> str:
    res = request.resource
    return f"{res.plural}.{res.group}" if res.group else res.plural


def _error(status: int, reason: str, message: str) -> aiohttp.web.StreamResponse:
    return aiohttp.web.json_response(_status_body(status, reason, message), status=status)


def _stale(request: rendering.Request, sent: Mapping[str, Any], current: Mapping[str, Any]) -> aiohttp.web.StreamResponse | None:
    """409 when a write names a resourceVersion other than the stored one, worded as the apiserver
    words it (k8s.io/apimachinery pkg/api/errors NewConflict; k8s.io/apiserver
    pkg/registry/generic/registry/store.go OptimisticLockErrorMsg)."""
    version = ((sent or {}).get("metadata") or {}).get("resourceVersion")
    if version and version != (current.get("metadata") or {}).get("resourceVersion"):
        return _error(
            409, "Conflict",
            f'Operation cannot be fulfilled on {_qualified(request)} "{request.name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
        )
    return None


def _page(items: list[Any], limit: str | None, token: str | None) -> tuple[dict[str, Any], list[Any]]:
    """One page of a list in key order, and its list metadata (`continue`, `remainingItemCount`)."""
    def key(item: Mapping[str, Any]) -> str:
        meta = item.get("metadata") or {}
        return f"{meta.get('namespace') or ''}/{meta.get('name', '')}"

    items = sorted(items, key=key)
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise kmock.KubernetesError(status=400, reason="BadRequest", message=f"invalid continue token: {token}", details={}) from None
        items = [i for i in items if key(i) > after]
    metadata: dict[str, Any] = {"resourceVersion": "1"}
    if limit and int(limit) > 0 and len(items) > int(limit):
        rest = len(items) - int(limit)
        items = items[: int(limit)]
        metadata["continue"] = base64.urlsafe_b64encode(key(items[-1]).encode()).decode()
        metadata["remainingItemCount"] = rest
    return metadata, items


def _drop(request: rendering.Request) -> aiohttp.web.StreamResponse:
    raw = request._raw_request
    if raw is not None and raw.transport is not None:
        raw.transport.close()
    return aiohttp.web.Response(status=500)


_clock = 0


def _next_version() -> str:
    global _clock
    _clock += 1
    return str(_clock)


def _fill_metadata(obj: dict[str, Any]) -> None:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    meta.setdefault("resourceVersion", _next_version())
    if obj.get("kind") not in ("Secret", "Node", "Namespace", "Pod"):
        meta.setdefault("generation", 1)


# --------------------------------------------------------------------------- running it

# The namespaces every cluster starts with: the apiserver's system namespaces controller makes them
# (kubernetes/kubernetes pkg/controlplane/controller/systemnamespaces/system_namespaces_controller.go).
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def namespace(name: str) -> dict[str, Any]:
    """A Namespace object, for `add`: creates in it are then accepted."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": "Active"}}


class KubeApiServer:
    """The emulator on 127.0.0.1 in a thread of its own; `api` is the KubeApi, `url` where it listens."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-api", daemon=True)
        self.api: KubeApi
        self._server: kmock.Server
        self.url = ""

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def start(self) -> KubeApiServer:
        self._thread.start()
        self._call(self._start())
        self.add(*(namespace(n) for n in BUILTIN_NAMESPACES))
        return self

    async def _start(self) -> None:
        self.api = KubeApi()
        await self.api.__aenter__()
        self._server = kmock.Server(self.api)
        await self._server.__aenter__()
        self.url = f"http://{self._server.host}:{self._server.port}"
        self.api.on_down = lambda: asyncio.get_running_loop().create_task(self._stop_listening())

    def stop(self) -> None:
        async def _stop():
            await self._server.__aexit__(None, None, None)
            await self.api.__aexit__(None, None, None)
            # kmock's stream feeder (and any request still held) would outlive the loop otherwise.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            self._call(_stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def add(self, *objs: Mapping[str, Any]) -> None:
        """Store objects (in the emulator's own thread, so never beside a request being served)."""
        self.edit(lambda api: api.add(*objs))

    def edit(self, change: Callable[[KubeApi], Any]) -> Any:
        """Run `change(api)` in the emulator's own thread, so never beside a request being served."""

        async def _edit():
            return change(self.api)

        return self._call(_edit())

    # -- the API going away and coming back ---------------------------------------

    async def _stop_listening(self) -> None:
        for site in list(self._server.server.runner.sites):
            await site.stop()

    def down(self) -> None:
        """The API goes away: new connections are refused, requests on open ones are dropped."""
        self.api._down = True
        self._call(self._stop_listening())

    def up(self) -> None:
        """The API is back on the same address."""

        async def _listen():
            runner = self._server.server.runner
            if not runner.sites:
                site = aiohttp.web.TCPSite(runner, self._server.host, self._server.port, reuse_address=True)
                await site.start()

        self._call(_listen())
        self.api._down = False

    # -- what the client needs ---------------------------------------------------------

    def kubeconfig(self, token: str = "emulator-token") -> dict[str, Any]:
        """A kubeconfig for this API: plain HTTP on 127.0.0.1, a bearer token (the emulator checks none)."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "admin"}}],
            "current-context": "emulator",
        }


@contextmanager
def serve(objects: Iterable[Mapping[str, Any]] = ()) -> Iterator[KubeApiServer]:
    """A running emulator holding `objects`; stopped on exit."""
    server = KubeApiServer().start()
    try:
        server.add(*objects)
        yield server
    finally:
        server.stop()


def without_retry_sleep(monkeypatch) -> None:
    """Commands build their client with `kube.default_client`; make its retries wait no real time."""
    from clusterctl_py.clients import kube

    for factory in ("default_client", "object_client"):
        real = getattr(kube, factory)
        monkeypatch.setattr(kube, factory, lambda config, _real=real, **kw: _real(config, **kw, sleep=lambda s: None))
