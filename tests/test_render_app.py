"""The app renderer: its objects validate against the upstream CRDs, its input rules follow upstream's."""

from __future__ import annotations

import pytest

from clusterctl_py.errors import SpecError
from clusterctl_py.render import app as render
from clusterctl_py.render.yaml import dump_all
from tests.support import crds as crds_support
from tests.support.kube_api import serve
from tests.support.knative_sim import KnativeSim

# The releases the platform stack installs (reference/SOURCES.md).
KNATIVE_CRDS = "knative-serving/v1.23.0"
CNPG_CRDS = "cloudnative-pg/v1.30.0"


@pytest.fixture(scope="module")
def catalog():
    root = crds_support.require_reference(KNATIVE_CRDS, CNPG_CRDS) / "crds"
    return crds_support.CrdCatalog.load(root, [KNATIVE_CRDS, CNPG_CRDS])


def full_request(**overrides):
    args = dict(
        namespace="shop", env=["MODE=prod", "my.relaxed-name=1"], secret_env=["TOKEN=x", "API_KEY"], port=8000,
        min_scale=1, max_scale=5, database=True, environ={"API_KEY": "k"}, env_from_secrets=["web-keys", "shared.smtp"],
    )
    args.update(overrides)
    return render.app_request("web", "ghcr.io/acme/web:1.0", **args)


@pytest.mark.parametrize("req", [
    full_request(),
    render.app_request("web", "nginx"),
    render.app_request("web", "nginx", max_scale=1),
], ids=["every option", "defaults", "max-scale only"])
def test_every_rendered_object_validates_against_the_upstream_crds(catalog, req):
    objs = render.render(req)
    catalog.assert_valid(objs)
    assert all(o["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "clusterctl-py", "app.kubernetes.io/name": "web"}
               for o in objs)


def test_the_knative_stand_in_makes_objects_the_crds_accept(catalog):
    """The Revision and the Service status the stand-in writes are shaped as Knative's (so tests read real shapes)."""
    with serve() as server:
        sim = KnativeSim(server)
        server.add(render.service(full_request()))
        for _ in range(3):
            server.edit(sim.reconcile)
        objs = [o.raw for o in server.api.objects.values() if not o.deleted and o.raw["kind"] != "Namespace"]
    assert sorted(o["kind"] for o in objs) == ["Revision", "Service"]
    server_set = ("uid", "creationTimestamp", "generation", "resourceVersion")  # the validator checks what a client sends
    catalog.assert_valid([{**o, "metadata": {k: v for k, v in o["metadata"].items() if k not in server_set}} for o in objs])
    service = next(o for o in objs if o["kind"] == "Service")
    assert service["status"]["latestReadyRevisionName"] == "web-00001"


def test_rendering_is_deterministic():
    assert dump_all(render.render(full_request())) == dump_all(render.render(full_request()))


def test_the_order_is_what_the_service_reads_first():
    assert [o["kind"] for o in render.render(full_request())] == ["Secret", "Cluster", "Service"]


@pytest.mark.parametrize("image", [
    "nginx",
    "library/nginx:1.27",
    "docker.io/library/nginx:1.27-alpine",
    "localhost:5000/team/app:dev",
    "[::1]:5000/app",
    "registry.example.com/a__b/c--d/e.f:v1.0_rc",
    "ghcr.io/acme/shop@sha256:" + "a" * 64,
    "ghcr.io/acme/shop:1.2@sha256:" + "0" * 64,
    "Registry.Example.com/acme/shop",  # the domain may have capitals, the path may not
])
def test_image_references_upstream_accepts_are_accepted(image):
    assert render.image_problem(image) is None


@pytest.mark.parametrize("image", [
    "", "Nginx", "nginx:", ":tag", "nginx:-bad", "a//b", "-a/b", "a/b_", "nginx@sha256:short",
    "ghcr.io/acme/shop:" + "t" * 129, "ghcr.io/" + "/".join(["abcdefg"] * 40),
])
def test_image_references_upstream_refuses_are_refused(image):
    assert render.image_problem(image) is not None


def test_every_problem_is_reported_at_once():
    with pytest.raises(SpecError) as err:
        render.app_request("Web", "Nginx", env=["X"], port=0, min_scale=-1)
    assert [p.path for p in err.value.problems] == ["NAME", "--image", "--env", "--port", "--min-scale"]


def test_env_from_secret_reads_every_key_of_a_secret_the_user_keeps():
    container = render.service(render.app_request("web", "nginx", env_from_secrets=["web-keys", "shared.smtp"]))["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "web-keys"}}, {"secretRef": {"name": "shared.smtp"}}]
    assert "envFrom" not in render.service(render.app_request("web", "nginx"))["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("secrets, message", [
    (["Keys"], "--env-from-secret: 'Keys' is not a Secret name: use lowercase letters, digits, '-' and '.'"),
    (["web-env"], "--env-from-secret: 'web-env' is the Secret clusterctl-py keeps for --secret-env; name a Secret of your own"),
    (["web-db-app"], "--env-from-secret: 'web-db-app' is the Secret clusterctl-py keeps for --database"),
    (["keys", "keys"], "--env-from-secret: 'keys' is given twice"),
])
def test_env_from_secret_names_are_checked(secrets, message):
    with pytest.raises(SpecError) as err:
        render.app_request("web", "nginx", env_from_secrets=secrets)
    assert [f"{p.path}: {p.message}" for p in err.value.problems] == [message] or str(err.value).startswith(message)


# --------------------------------------------------------------------------- each rule: its bounds and its own message
# Found by mutation testing (docs/testing.md): the rules above were pinned by prefix or by
# "some problem", so a bound off by one, a message's tail or a second problem could change.


@pytest.mark.parametrize("kwargs", [
    dict(name="a"),
    dict(name="a" * 57),  # 63 minus "-00001", the revisions' suffix
    dict(name="a" * 47, database=True),  # its Cluster a...a-db: 50 characters
    dict(namespace="a"),
    dict(namespace="a" * 63),
    dict(env_from_secrets=["k"]),
    dict(env_from_secrets=["k" * 253]),
    dict(image="ghcr.io/" + "a" * 255),
    dict(env=["TILDE~NAME=1"]),  # any printable ASCII but '=' (IsRelaxedEnvVarName)
    dict(port=1),
    dict(port=65535),
    dict(max_scale=1),
    dict(min_scale=3, max_scale=3),
], ids=lambda kw: ",".join(f"{k}={str(v)[:12]}" for k, v in kw.items()))
def test_values_at_the_bounds_are_accepted(kwargs):
    args = {"name": "web", "image": "nginx", **kwargs}
    req = render.app_request(args.pop("name"), args.pop("image"), **args)
    assert req.name == kwargs.get("name", "web")


def problems_of(name: str = "web", image: str = "nginx", **kwargs) -> list[str]:
    with pytest.raises(SpecError) as err:
        render.app_request(name, image, **kwargs)
    return [f"{p.path}: {p.message}" for p in err.value.problems]


@pytest.mark.parametrize("kwargs, messages", [
    (dict(name="a" * 100), [  # a long value is quoted cut to 80 characters: one readable line
        f"NAME: '{'a' * 80}' is not a valid app name: use 1-57 lowercase letters, digits and '-', starting with a letter "
        "and ending with a letter or digit (its revisions are named NAME-00001, ...)"]),
    (dict(namespace="a" * 64), [
        f"--namespace: '{'a' * 64}' is not a valid namespace: use 1-63 lowercase letters, digits and '-', "
        "starting and ending with a letter or digit (DNS-1123 label)"]),
    (dict(namespace="N" * 100), [
        f"--namespace: '{'N' * 80}' is not a valid namespace: use 1-63 lowercase letters, digits and '-', "
        "starting and ending with a letter or digit (DNS-1123 label)"]),
    (dict(env_from_secrets=["k" * 254]), [
        f"--env-from-secret: '{'k' * 80}' is not a Secret name: use lowercase letters, digits, '-' and '.' "
        "(DNS-1123 subdomain, at most 253 characters)"]),
    (dict(image="NGINX"), ["--image: 'NGINX' is not an image reference: the repository path must be lowercase"]),
    (dict(image="Shop:latest:2"), [
        "--image: 'Shop:latest:2' is not an image reference: expected [registry[:port]/]path[:tag][@digest], e.g. ghcr.io/acme/shop:1.4.2"]),
    (dict(image="-" * 130), [
        f"--image: '{'-' * 120}' is not an image reference: expected [registry[:port]/]path[:tag][@digest], e.g. ghcr.io/acme/shop:1.4.2"]),
    (dict(image="ghcr.io/" + "a" * 256), [
        f"--image: '{('ghcr.io/' + 'a' * 256)[:80]}'...: the repository path is longer than 255 characters"]),
    (dict(env=["A" * 100]), [f"--env: '{'A' * 80}' has no '=': write NAME=VALUE"]),
    (dict(env=["=" + "v" * 99]), [f"--env: '{('=' + 'v' * 99)[:80]}': the variable name is empty: write NAME=VALUE"]),
    (dict(secret_env=["N" * 100], environ={}), [
        f"--secret-env: '{'N' * 80}': no '=' and no environment variable of that name to read the value from "
        "(write NAME=VALUE, or export NAME first)"]),
    # Secret data keys: IsConfigMapKey refuses ".", ".." and a leading "..".
    (dict(secret_env=["..x=1", ".=2"], environ={}), [
        "--secret-env: '..x': a secret variable's name is also its key in Secret NAME-env: use letters, digits, '-', '_' and '.'",
        "--secret-env: '.': a secret variable's name is also its key in Secret NAME-env: use letters, digits, '-', '_' and '.'"]),
    # Every bad item is reported, not only the first.
    (dict(env=["A", "B"]), ["--env: 'A' has no '=': write NAME=VALUE", "--env: 'B' has no '=': write NAME=VALUE"]),
    (dict(env=["PORT=1", "K_SERVICE=2"]), [
        "--env: 'PORT' is set by Knative itself (reserved: PORT, K_SERVICE, K_CONFIGURATION, K_REVISION)",
        "--env: 'K_SERVICE' is set by Knative itself (reserved: PORT, K_SERVICE, K_CONFIGURATION, K_REVISION)"]),
    (dict(secret_env=["X", "Y"], environ={}), [
        "--secret-env: 'X': no '=' and no environment variable of that name to read the value from (write NAME=VALUE, or export NAME first)",
        "--secret-env: 'Y': no '=' and no environment variable of that name to read the value from (write NAME=VALUE, or export NAME first)"]),
    (dict(env=["A=1"], secret_env=["A=2"], environ={}), ["--secret-env: 'A' is set twice: also given by --env"]),
    (dict(secret_env=["A=1", "A=2"], environ={}), ["--secret-env: 'A' is set twice: also given by --secret-env"]),
    # Without --database a repeated DATABASE_URL is an ordinary repeat.
    (dict(env=["DATABASE_URL=1", "DATABASE_URL=2"]), ["--env: 'DATABASE_URL' is set twice: also given by --env"]),
    (dict(port=65536), ["--port: 65536 is not a port: use 1-65535"]),
    (dict(port=8012), ["--port: 8012 is taken by Knative's queue-proxy in every pod (reserved: 8008, 8012, 8013, 8022, 9090, 9091); "
                       "listen on another port, e.g. 8080"]),
    (dict(min_scale=3, max_scale=2), ["--max-scale: 2 is below --min-scale 3"]),
    (dict(max_scale=0), ["--max-scale: 0: use 1 or more (leave it out for no upper bound)"]),
], ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_each_rule_says_its_own_whole_message(kwargs, messages):
    assert problems_of(**kwargs) == messages


def test_the_secret_of_secret_env_is_opaque():
    # A Secret's type cannot be changed once it exists (Kubernetes refuses the update):
    # another type would make every later deploy of the app fail.
    secret = render.env_secret(full_request())
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", "Opaque")
