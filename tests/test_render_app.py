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
