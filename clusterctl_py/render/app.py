"""An app request (what `clusterctl-py app deploy` was asked for), validated, and the objects it becomes.

Pure: flags in, plain dicts out, no I/O. The same objects go to the API
(clusterctl_py.apps.deploy) and into a GitOps checkout (clusterctl_py.apps.gitops).

* a Knative `serving.knative.dev/v1` Service `<name>`, one container
  `user-container`, scale bounds as annotations of the revision template,
  all traffic on the latest revision;
* a Secret `<name>-env` holding the `--secret-env` values, each read by the
  container through a `secretKeyRef` (values never reach the Service);
  `--env-from-secret S` instead reads every key of a Secret `S` the user keeps
  in the cluster (`envFrom`), which is how a GitOps deploy gets its secrets;
* with `--database`, a CloudNativePG `postgresql.cnpg.io/v1` Cluster
  `<name>-db`, whose application secret's `uri` reaches the container as
  `DATABASE_URL`.

Every object carries `app.kubernetes.io/managed-by: clusterctl-py` and
`app.kubernetes.io/name: <name>`: the commands touch nothing without them.
Bad input raises SpecError, one line per problem naming the flag, the value
and what is allowed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from clusterctl_py.errors import Problem, SpecError

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "clusterctl-py"
NAME_LABEL = "app.kubernetes.io/name"

SERVING_API = "serving.knative.dev/v1"
CNPG_API = "postgresql.cnpg.io/v1"
MIN_SCALE = "autoscaling.knative.dev/min-scale"
MAX_SCALE = "autoscaling.knative.dev/max-scale"
# The container's name, set rather than left to Knative's default (config-defaults
# `container-name-template`, "user-container"): `app logs` reads this container.
CONTAINER = "user-container"
DEFAULT_PORT = 8080  # what Knative gives a container that names no port (its runtime contract)
DEFAULT_NAMESPACE = "default"

# The database: what the platform stack provides (StorageClass on the Hetzner CSI driver,
# whose volumes start at 10 GB) and the database and owner CloudNativePG's initdb creates.
DB_STORAGE_CLASS = "hcloud-postgres"
DB_SIZE = "10Gi"
DB_NAME = "app"
DATABASE_URL = "DATABASE_URL"
# cloudnative-pg api/v1/cluster_funcs.go GetApplicationSecretName: `<cluster>` + ApplicationUserSecretSuffix ("-app").
DB_SECRET_KEY = "uri"

# A revision is named `<service>-<5-digit generation>` (knative/serving
# pkg/reconciler/configuration/resources/revision.go, kmeta.ChildName: longer
# names are cut and hashed) and must be a DNS-1035 label
# (pkg/apis/serving/v1/revision_validation.go validateRevisionName).
NAME_MAX = 63 - len("-00001")
# cloudnative-pg internal/webhook/v1/cluster_webhook.go validateName: a DNS-1035 label of at most 50.
DB_NAME_MAX = 50 - len("-db")
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

# distribution/reference regexp.go (referencePat): name [":" tag] ["@" digest], the
# path lowercase; reference.go Parse: the path at most 255 characters.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_REMOTE = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_REMOTE})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII)
# The name's first component is a domain only with a "." or ":" or when it is localhost (normalize.go splitDockerDomain).
_PATH_MAX = 255

# knative/serving pkg/apis/serving/k8s_validation.go: reservedEnvVars and reservedPorts
# (queue-proxy's 8012, 8013, 8022, 9090, 9091 and the profiling port 8008).
RESERVED_ENV = ("PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION")
RESERVED_PORTS = (8008, 8012, 8013, 8022, 9090, 9091)
# Secret data keys (kubernetes/apimachinery pkg/util/validation/validation.go IsConfigMapKey).
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class AppRequest:
    """A validated `app deploy`: build it with `app_request`, never directly."""

    name: str
    image: str
    namespace: str = DEFAULT_NAMESPACE
    env: tuple[tuple[str, str], ...] = ()
    secret_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    port: int = DEFAULT_PORT
    min_scale: int = 0
    max_scale: int | None = None
    database: bool = False
    env_from_secrets: tuple[str, ...] = ()

    @property
    def secret_name(self) -> str:
        return env_secret_name(self.name)

    @property
    def database_name(self) -> str:
        return database_name(self.name)


def env_secret_name(app: str) -> str:
    return f"{app}-env"


def database_name(app: str) -> str:
    return f"{app}-db"


def database_secret_name(app: str) -> str:
    return f"{database_name(app)}-app"


# --------------------------------------------------------------------------- validation


def name_problem(name: str, flag: str = "NAME") -> Problem | None:
    """The app name: a DNS-1035 label short enough for its revisions' names."""
    if not (0 < len(name) <= NAME_MAX and _DNS1035.fullmatch(name)):
        return Problem(flag, f"{name[:80]!r} is not a valid app name: use 1-{NAME_MAX} lowercase letters, digits and '-', "
                             "starting with a letter and ending with a letter or digit (its revisions are named NAME-00001, ...)")
    return None


def namespace_problem(namespace: str) -> Problem | None:
    if not (0 < len(namespace) <= 63 and _DNS1123.fullmatch(namespace)):
        return Problem("--namespace", f"{namespace[:80]!r} is not a valid namespace: use 1-63 lowercase letters, digits and '-', "
                                      "starting and ending with a letter or digit (DNS-1123 label)")
    return None


def check_name(name: str, namespace: str | None = None) -> None:
    """SpecError unless the app name (and namespace, if given) are valid: before any request."""
    problems = [p for p in (name_problem(name), namespace_problem(namespace) if namespace is not None else None) if p]
    if problems:
        raise SpecError(problems)


def env_from_problems(secrets: Iterable[str], app: str) -> list[Problem]:
    """Names of Secrets the user keeps: DNS-1123 subdomains, not ones the app's own objects use."""
    problems, seen = [], set()
    ours = {env_secret_name(app): "--secret-env", database_secret_name(app): "--database"}
    for name in secrets:
        if not (0 < len(name) <= 253 and all(_DNS1123.fullmatch(part) for part in name.split("."))):
            problems.append(Problem("--env-from-secret", f"{name[:80]!r} is not a Secret name: use lowercase letters, digits, "
                                                         "'-' and '.' (DNS-1123 subdomain, at most 253 characters)"))
        elif name in ours:
            problems.append(Problem("--env-from-secret", f"{name!r} is the Secret clusterctl-py keeps for {ours[name]}; "
                                                         "name a Secret of your own"))
        elif name in seen:
            problems.append(Problem("--env-from-secret", f"{name!r} is given twice"))
        seen.add(name)
    return problems


def image_problem(image: str) -> Problem | None:
    m = _REFERENCE.fullmatch(image)
    if m is None:
        lowered = _REFERENCE.fullmatch(image.lower()) is not None and image.lower() != image
        why = "the repository path must be lowercase" if lowered else (
            "expected [registry[:port]/]path[:tag][@digest], e.g. ghcr.io/acme/shop:1.4.2"
        )
        return Problem("--image", f"{image[:120]!r} is not an image reference: {why}")
    if len(m["path"]) > _PATH_MAX:
        return Problem("--image", f"{image[:80]!r}...: the repository path is longer than {_PATH_MAX} characters")
    return None


def _env_name_problem(key: str, *, secret: bool) -> str | None:
    # Kubernetes >= 1.34 (what the platform needs) accepts any printable ASCII but '=' in a
    # name: RelaxedEnvironmentVariableValidation is GA there (kubernetes/kubernetes
    # pkg/features/kube_features.go; apimachinery pkg/util/validation/validation.go IsRelaxedEnvVarName).
    if not key:
        return "the variable name is empty: write NAME=VALUE"
    if not all(" " <= ch <= "~" for ch in key):
        return f"{key!r}: a variable name may hold printable ASCII characters only"
    if key in RESERVED_ENV:
        return f"{key!r} is set by Knative itself (reserved: {', '.join(RESERVED_ENV)})"
    if secret and (not _SECRET_KEY.fullmatch(key) or key.startswith("..") or key == "."):
        return f"{key!r}: a secret variable's name is also its key in Secret NAME-env: use letters, digits, '-', '_' and '.'"
    return None


def parse_env(items: Iterable[str], flag: str, environ: Mapping[str, str] | None = None) -> tuple[list[tuple[str, str]], list[Problem]]:
    """`NAME=VALUE` items; with `environ`, a bare `NAME` takes its value from there (keeps secrets off command lines)."""
    pairs: list[tuple[str, str]] = []
    problems: list[Problem] = []
    secret = environ is not None
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            if environ is None:
                problems.append(Problem(flag, f"{item[:80]!r} has no '=': write NAME=VALUE"))
                continue
            if key not in environ:
                problems.append(Problem(flag, f"{key[:80]!r}: no '=' and no environment variable of that name to read the value from "
                                              "(write NAME=VALUE, or export NAME first)"))
                continue
            value = environ[key]
        why = _env_name_problem(key, secret=secret)
        if why:
            # A secret item is never quoted back: it holds the value.
            problems.append(Problem(flag, why if key or secret else f"{item[:80]!r}: {why}"))
            continue
        pairs.append((key, value))
    return pairs, problems


def app_request(
    name: str,
    image: str,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    env: Iterable[str] = (),
    secret_env: Iterable[str] = (),
    port: int = DEFAULT_PORT,
    min_scale: int = 0,
    max_scale: int | None = None,
    database: bool = False,
    environ: Mapping[str, str] | None = None,
    env_from_secrets: Iterable[str] = (),
) -> AppRequest:
    """The request, or SpecError listing every problem (one line each)."""
    problems = [p for p in (name_problem(name), namespace_problem(namespace), image_problem(image)) if p]
    if database and not problems and len(name) > DB_NAME_MAX:
        problems.append(Problem("NAME", f"{name!r} is too long for --database: its CloudNativePG Cluster {database_name(name)} "
                                        f"may have at most 50 characters, so the app name at most {DB_NAME_MAX}"))
    plain, found = parse_env(env, "--env")
    problems += found
    secret, found = parse_env(secret_env, "--secret-env", environ if environ is not None else {})
    problems += found
    seen: dict[str, str] = {}
    taken = [(k, "--env") for k, _ in plain] + [(k, "--secret-env") for k, _ in secret]
    if database:
        taken.append((DATABASE_URL, "--database"))
    for key, flag in taken:
        if key in seen:
            other = seen[key]
            why = "--database sets it from the database's secret" if DATABASE_URL == key and "--database" in (flag, other) else f"also given by {other}"
            problems.append(Problem(flag, f"{key!r} is set twice: {why}"))
        else:
            seen[key] = flag
    if not 1 <= port <= 65535:
        problems.append(Problem("--port", f"{port} is not a port: use 1-65535"))
    elif port in RESERVED_PORTS:
        problems.append(Problem("--port", f"{port} is taken by Knative's queue-proxy in every pod (reserved: "
                                          f"{', '.join(map(str, RESERVED_PORTS))}); listen on another port, e.g. 8080"))
    if min_scale < 0:
        problems.append(Problem("--min-scale", f"{min_scale} is negative: use 0 (scale to zero when idle) or more"))
    if max_scale is not None:
        if max_scale < 1:
            problems.append(Problem("--max-scale", f"{max_scale}: use 1 or more (leave it out for no upper bound)"))
        elif max_scale < min_scale:
            problems.append(Problem("--max-scale", f"{max_scale} is below --min-scale {min_scale}"))
    env_from = list(env_from_secrets)
    problems += env_from_problems(env_from, name)
    if problems:
        raise SpecError(problems)
    return AppRequest(name, image, namespace, tuple(plain), tuple(secret), port, min_scale, max_scale, database, tuple(env_from))


# --------------------------------------------------------------------------- rendering


def labels(app: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, NAME_LABEL: app}


def _metadata(name: str, req: AppRequest) -> dict[str, Any]:
    return {"name": name, "namespace": req.namespace, "labels": labels(req.name)}


def _env(req: AppRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in req.env]
    out += [{"name": k, "valueFrom": {"secretKeyRef": {"name": req.secret_name, "key": k}}} for k, _ in req.secret_env]
    if req.database:
        out.append({"name": DATABASE_URL, "valueFrom": {"secretKeyRef": {"name": database_secret_name(req.name), "key": DB_SECRET_KEY}}})
    return out


def service(req: AppRequest) -> dict[str, Any]:
    annotations = {MIN_SCALE: str(req.min_scale)}
    if req.max_scale is not None:
        annotations[MAX_SCALE] = str(req.max_scale)
    container: dict[str, Any] = {"name": CONTAINER, "image": req.image, "ports": [{"containerPort": req.port}]}
    env = _env(req)
    if env:
        container["env"] = env
    if req.env_from_secrets:
        # Every key becomes a variable; `env` wins over it (Kubernetes' EnvFromSource docs).
        container["envFrom"] = [{"secretRef": {"name": s}} for s in req.env_from_secrets]
    return {
        "apiVersion": SERVING_API,
        "kind": "Service",
        "metadata": _metadata(req.name, req),
        "spec": {
            "template": {
                # Labels of the template reach every revision (knative/serving
                # pkg/reconciler/configuration/resources/revision.go MakeRevision).
                "metadata": {"labels": labels(req.name), "annotations": annotations},
                "spec": {"containers": [container]},
            },
            "traffic": [{"latestRevision": True, "percent": 100}],
        },
    }


def env_secret(req: AppRequest) -> dict[str, Any]:
    data = {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in sorted(req.secret_env)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _metadata(req.secret_name, req), "type": "Opaque", "data": data}


def database(req: AppRequest) -> dict[str, Any]:
    return {
        "apiVersion": CNPG_API,
        "kind": "Cluster",
        "metadata": _metadata(req.database_name, req),
        "spec": {
            "instances": 1,
            "storage": {"size": DB_SIZE, "storageClass": DB_STORAGE_CLASS},
            "bootstrap": {"initdb": {"database": DB_NAME, "owner": DB_NAME}},
        },
    }


def render(req: AppRequest) -> list[dict[str, Any]]:
    """The app's objects, in the order they are created: what the Service reads comes first."""
    objs = []
    if req.secret_env:
        objs.append(env_secret(req))
    if req.database:
        objs.append(database(req))
    objs.append(service(req))
    return objs
