"""`clusterctl-py app ...` through the CLI, the real `kubernetes` client, the emulator and a Knative stand-in.

Upstream names are spelled here as upstream spells them: Knative's
serving.knative.dev/v1 Service and its labels and annotations, CloudNativePG's
postgresql.cnpg.io/v1 Cluster and its `<cluster>-app` secret's `uri` key.
"""

from __future__ import annotations

import base64
import copy

import pytest
import yaml
from typer.testing import CliRunner

from clusterctl_py.apps.deploy import subset
from clusterctl_py.cli import app
from tests.support.kube_api import namespace, serve, without_retry_sleep
from tests.support.knative_sim import KnativeSim

IMAGE = "ghcr.io/acme/shop:1.4.2"
SERVICES = "serving.knative.dev/v1/services"


# A Secret the user keeps in the cluster (not ours: no labels), for --env-from-secret.
USER_SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-keys", "namespace": "default"},
               "type": "Opaque", "data": {"DJANGO_SECRET_KEY": "c2VjcmV0"}}


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A workload cluster's API with Knative (the stand-in) and CloudNativePG's Cluster kind served."""
    with serve() as server:
        path = tmp_path / "workload.yaml"
        path.write_text(yaml.safe_dump(server.kubeconfig()))
        without_retry_sleep(monkeypatch)
        monkeypatch.delenv("KUBECONFIG", raising=False)
        server.kubeconfig_path = path
        server.knative = KnativeSim(server)
        yield server


def run(server, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["app", *args, "--kubeconfig", str(server.kubeconfig_path)], catch_exceptions=False, env=env)


def deploy(server, name="shop", *flags: str, env: dict | None = None):
    return run(server, "deploy", name, "--image", IMAGE, "--poll", "0", *flags, env=env)


def objects(server) -> dict[tuple[str, str | None, str], dict]:
    """Everything the emulator holds: (resource, namespace, name) -> object."""
    def snapshot(api):
        out = {}
        for (res, ns, name), obj in api.objects.items():
            if not obj.deleted:
                key = f"{res.group}/{res.version}/{res.plural}" if res.group else f"{res.version}/{res.plural}"
                out[key, ns, name] = copy.deepcopy(obj.raw)
        return out

    return server.edit(snapshot)


def settle(server) -> None:
    """Let Knative reconcile what a test put in, as it would have long before the command runs."""
    server.edit(server.knative.reconcile)


def writes(server) -> list:
    return [e for e in server.api.log if e.verb in ("create", "update", "patch", "delete")]


def get(server, key: str, ns: str, name: str) -> dict:
    return objects(server)[key, ns, name]


# --------------------------------------------------------------------------- deploy


def test_first_deploy_creates_exactly_the_service_and_waits_for_its_revision(cluster):
    before = objects(cluster)
    result = deploy(cluster, "shop", "--env", "MODE=prod", "--min-scale", "1", "--max-scale", "4", "--port", "8000")
    assert result.exit_code == 0, result.output
    assert result.stdout == "https://shop.default.apps.example.com\n"
    made = set(objects(cluster)) - set(before)
    # Ours: the Service; Knative's: its first revision.
    assert made == {(SERVICES, "default", "shop"), ("serving.knative.dev/v1/revisions", "default", "shop-00001")}
    svc = get(cluster, SERVICES, "default", "shop")
    assert svc["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "clusterctl-py", "app.kubernetes.io/name": "shop"}
    template = svc["spec"]["template"]
    assert template["metadata"]["annotations"] == {"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "4"}
    container = template["spec"]["containers"][0]
    assert container["image"] == IMAGE and container["name"] == "user-container"
    assert container["ports"] == [{"containerPort": 8000}]
    assert container["env"] == [{"name": "MODE", "value": "prod"}]
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    # Progress on stderr: the revision deploying, then ready.
    assert "app default/shop: created Service default/shop" in result.stderr
    assert "revision shop-00001: not ready yet (Deploying)" in result.stderr
    assert "revision shop-00001 ready, serving shop-00001=100%" in result.stderr


def test_a_redeploy_of_the_same_image_and_settings_sends_no_write(cluster):
    flags = ("--env", "MODE=prod", "--secret-env", "TOKEN=s3cr3t", "--max-scale", "3")
    assert deploy(cluster, "shop", *flags).exit_code == 0
    revisions_before = [k for k in objects(cluster) if k[0].endswith("revisions")]
    cluster.api.clear_log()
    again = deploy(cluster, "shop", *flags)
    assert again.exit_code == 0, again.output
    assert writes(cluster) == []
    assert [k for k in objects(cluster) if k[0].endswith("revisions")] == revisions_before
    assert "unchanged Service default/shop" in again.stderr and "unchanged Secret default/shop-env" in again.stderr
    assert again.stdout == "https://shop.default.apps.example.com\n"


def test_a_new_image_makes_a_new_revision_and_a_dropped_setting_is_removed(cluster):
    assert deploy(cluster, "shop", "--max-scale", "3", "--env", "A=1").exit_code == 0
    result = run(cluster, "deploy", "shop", "--image", "ghcr.io/acme/shop:1.4.3", "--poll", "0")
    assert result.exit_code == 0, result.output
    svc = get(cluster, SERVICES, "default", "shop")
    template = svc["spec"]["template"]
    assert template["metadata"]["annotations"] == {"autoscaling.knative.dev/min-scale": "0"}
    assert "env" not in template["spec"]["containers"][0]
    # The creator annotation Knative's webhook set stays (its webhook refuses a change of it).
    assert svc["metadata"]["annotations"]["serving.knative.dev/creator"] == "admin"
    rev = get(cluster, "serving.knative.dev/v1/revisions", "default", "shop-00002")
    assert rev["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop:1.4.3"
    assert rev["metadata"]["labels"]["serving.knative.dev/configurationGeneration"] == "2"
    assert [e.verb for e in writes(cluster)][-1:] == ["update"]


@pytest.mark.parametrize("dropped", [["--env", "A=1"], ["--port", "8000"], ["--env-from-secret", "shop-keys"]])
def test_a_setting_dropped_with_the_image_unchanged_is_still_removed(cluster, dropped):
    cluster.add(USER_SECRET)
    assert deploy(cluster, "shop", *dropped).exit_code == 0
    result = deploy(cluster, "shop")
    assert result.exit_code == 0, result.output
    container = get(cluster, SERVICES, "default", "shop")["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container and "envFrom" not in container
    assert container["ports"] == [{"containerPort": 8080}]
    assert [e.verb for e in writes(cluster)][-1:] == ["update"]


def test_secret_env_goes_to_a_secret_read_by_reference_and_is_never_printed(cluster):
    result = deploy(cluster, "shop", "--secret-env", "TOKEN=s3cr3t-value", "--secret-env", "API_KEY", env={"API_KEY": "from-env-42"})
    assert result.exit_code == 0, result.output
    assert "s3cr3t-value" not in result.output and "from-env-42" not in result.output
    secret = get(cluster, "v1/secrets", "default", "shop-env")
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "clusterctl-py"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"TOKEN": "s3cr3t-value", "API_KEY": "from-env-42"}
    env = get(cluster, SERVICES, "default", "shop")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "shop-env", "key": "TOKEN"}}},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "shop-env", "key": "API_KEY"}}},
    ]
    # Deployed again without secrets: the Secret of ours goes, the references with it.
    assert deploy(cluster, "shop").exit_code == 0
    assert ("v1/secrets", "default", "shop-env") not in objects(cluster)


def test_database_is_a_cloudnativepg_cluster_whose_app_secret_uri_is_database_url(cluster):
    result = deploy(cluster, "shop", "--database")
    assert result.exit_code == 0, result.output
    db = get(cluster, "postgresql.cnpg.io/v1/clusters", "default", "shop-db")
    assert db["spec"] == {
        "instances": 1,
        "storage": {"size": "10Gi", "storageClass": "hcloud-postgres"},
        "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
    }
    assert db["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "clusterctl-py", "app.kubernetes.io/name": "shop"}
    env = get(cluster, SERVICES, "default", "shop")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-db-app", "key": "uri"}}}]


def test_a_redeploy_puts_back_what_it_owns_in_the_database_and_keeps_what_cloudnativepg_defaulted(cluster):
    assert deploy(cluster, "shop", "--database").exit_code == 0

    def drift(api):
        # CloudNativePG's webhook defaults fields (its api/v1 cluster_defaults.go, e.g. imageName,
        # postgresql.parameters); someone also scaled the database by hand.
        obj = next(o for (res, ns, name), o in api.objects.items() if res.plural == "clusters" and name == "shop-db")
        spec = obj.raw["spec"]
        spec["instances"] = 3
        spec["imageName"] = "ghcr.io/cloudnative-pg/postgresql:18.1"
        spec["storage"]["resizeInUseVolumes"] = True

    cluster.edit(drift)
    cluster.api.clear_log()
    result = deploy(cluster, "shop", "--database")
    assert result.exit_code == 0, result.output
    db = get(cluster, "postgresql.cnpg.io/v1/clusters", "default", "shop-db")
    assert db["spec"]["instances"] == 1  # what the deploy states
    assert db["spec"]["imageName"] == "ghcr.io/cloudnative-pg/postgresql:18.1"  # defaults kept
    assert db["spec"]["storage"] == {"size": "10Gi", "storageClass": "hcloud-postgres", "resizeInUseVolumes": True}
    assert [(e.verb, e.plural) for e in writes(cluster)] == [("update", "clusters")]


def test_a_database_on_a_cluster_without_cloudnativepg_is_refused_naming_platform_postgres(cluster):
    cluster.edit(lambda api: api.resources.__delitem__("postgresql.cnpg.io/v1/clusters"))
    before = objects(cluster)
    result = deploy(cluster, "shop", "--database")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --database: this cluster does not serve CloudNativePG's postgresql.cnpg.io/v1 Cluster")
    assert "platform.postgres: true" in result.stderr
    assert objects(cluster) == before
    assert writes(cluster) == []


@pytest.mark.parametrize("kind, obj", [
    ("Service", {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                 "metadata": {"name": "shop", "namespace": "default", "labels": {"team": "payments"}},
                 "spec": {"template": {"spec": {"containers": [{"image": "nginx"}]}}}}),
    ("Cluster", {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                 "metadata": {"name": "shop-db", "namespace": "default"}, "spec": {"instances": 3}}),
])
def test_a_name_taken_by_an_app_not_ours_is_refused_and_nothing_changes(cluster, kind, obj):
    cluster.add(obj)
    settle(cluster)
    before = objects(cluster)
    result = deploy(cluster, "shop", "--database")
    assert result.exit_code == 2
    assert result.stderr == (f"error: NAME: 'shop' is taken: {kind} default/{obj['metadata']['name']} exists, not made by clusterctl-py "
                             "(no label app.kubernetes.io/managed-by=clusterctl-py); choose another name\n")
    assert objects(cluster) == before
    assert writes(cluster) == []


def test_a_failing_revision_ends_the_wait_with_its_reason_and_message(cluster):
    cluster.knative.fail = ("ExitCode1", "Container failed with: ImportError: No module named 'shop'")
    result = deploy(cluster, "shop")
    assert result.exit_code == 1
    assert ("error: app default/shop: revision shop-00001 failed: False (ExitCode1): "
            "Container failed with: ImportError: No module named 'shop'") in result.stderr


def test_a_revision_that_never_gets_ready_times_out_naming_where_it_is_stuck(cluster):
    cluster.knative.stall = True
    result = deploy(cluster, "shop", "--timeout", "0")
    assert result.exit_code == 1
    assert "error: app default/shop: not ready after 0s: " in result.stderr
    assert "app status shop" in result.stderr


# --------------------------------------------------------------------------- bad input changes nothing


@pytest.mark.parametrize("flags, message", [
    (("deploy", "Shop", "--image", IMAGE),
     "error: NAME: 'Shop' is not a valid app name: use 1-57 lowercase letters, digits and '-', starting with a letter"),
    (("deploy", "1shop", "--image", IMAGE), "error: NAME: '1shop' is not a valid app name"),
    (("deploy", "s" * 58, "--image", IMAGE), f"error: NAME: '{'s' * 58}' is not a valid app name: use 1-57"),
    (("deploy", "s" * 48, "--image", IMAGE, "--database"),
     f"error: NAME: '{'s' * 48}' is too long for --database: its CloudNativePG Cluster {'s' * 48}-db may have at most 50 characters"),
    (("deploy", "shop", "--image", "ghcr.io/Acme/shop:1"),
     "error: --image: 'ghcr.io/Acme/shop:1' is not an image reference: the repository path must be lowercase"),
    (("deploy", "shop", "--image", "shop:latest:2"), "error: --image: 'shop:latest:2' is not an image reference: expected"),
    (("deploy", "shop", "--image", "ghcr.io/acme/shop@sha256:abc"), "error: --image: 'ghcr.io/acme/shop@sha256:abc' is not an image"),
    (("deploy", "shop", "--image", IMAGE, "--env", "MODE"), "error: --env: 'MODE' has no '=': write NAME=VALUE"),
    (("deploy", "shop", "--image", IMAGE, "--env", "=x"), "error: --env: '=x': the variable name is empty: write NAME=VALUE"),
    (("deploy", "shop", "--image", IMAGE, "--env", "PORT=9000"),
     "error: --env: 'PORT' is set by Knative itself (reserved: PORT, K_SERVICE, K_CONFIGURATION, K_REVISION)"),
    (("deploy", "shop", "--image", IMAGE, "--env", "A=1", "--env", "A=2"), "error: --env: 'A' is set twice: also given by --env"),
    (("deploy", "shop", "--image", IMAGE, "--env", "DATABASE_URL=x", "--database"),
     "error: --database: 'DATABASE_URL' is set twice: --database sets it from the database's secret"),
    (("deploy", "shop", "--image", IMAGE, "--secret-env", "NOT_EXPORTED"),
     "error: --secret-env: 'NOT_EXPORTED': no '=' and no environment variable of that name"),
    (("deploy", "shop", "--image", IMAGE, "--secret-env", "a b=c"),
     "error: --secret-env: 'a b': a secret variable's name is also its key in Secret NAME-env"),
    (("deploy", "shop", "--image", IMAGE, "--port", "0"), "error: --port: 0 is not a port: use 1-65535"),
    (("deploy", "shop", "--image", IMAGE, "--port", "8012"), "error: --port: 8012 is taken by Knative's queue-proxy"),
    (("deploy", "shop", "--image", IMAGE, "--min-scale", "-1"), "error: --min-scale: -1 is negative"),
    (("deploy", "shop", "--image", IMAGE, "--max-scale", "0"), "error: --max-scale: 0: use 1 or more"),
    (("deploy", "shop", "--image", IMAGE, "--min-scale", "3", "--max-scale", "2"), "error: --max-scale: 2 is below --min-scale 3"),
    (("deploy", "shop", "--image", IMAGE, "-n", "Prod"), "error: --namespace: 'Prod' is not a valid namespace"),
    (("status", "shop", "-n", "Prod"), "error: --namespace: 'Prod' is not a valid namespace"),
    (("rollback", "shop", "shop-00009"), "error: REVISION: 'shop-00009' is not a revision of app shop (its revisions: shop-00001)"),
    (("status", "bad_name"), "error: NAME: 'bad_name' is not a valid app name"),
])
def test_bad_input_exits_2_with_its_own_message_and_changes_nothing(cluster, flags, message):
    assert deploy(cluster, "shop").exit_code == 0
    before = objects(cluster)
    cluster.api.clear_log()
    result = CliRunner().invoke(app, ["app", *flags, "--kubeconfig", str(cluster.kubeconfig_path)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert objects(cluster) == before
    assert writes(cluster) == []


def test_a_namespace_that_does_not_exist_is_refused_before_any_write(cluster):
    before = objects(cluster)
    result = deploy(cluster, "shop", "-n", "shop", "--secret-env", "T=x", "--database")
    assert result.exit_code == 2
    assert result.stderr == ("error: --namespace: namespace 'shop' does not exist in this cluster; "
                             "create it with kubectl create namespace shop\n")
    assert objects(cluster) == before and writes(cluster) == []
    # Once it is there, the same deploy goes through.
    cluster.add(namespace("shop"))
    assert deploy(cluster, "shop", "-n", "shop", "--secret-env", "T=x", "--database").exit_code == 0
    assert (SERVICES, "shop", "shop") in objects(cluster)


def test_a_user_who_may_not_read_namespaces_still_deploys(cluster):
    # A developer bound to a namespace only: the cluster-scoped read of the Namespace is forbidden.
    cluster.api.fail(403, times=None, when=lambda r: r.url.path.startswith("/api/v1/namespaces/default") and r.resource.plural == "namespaces",
                     message='namespaces "default" is forbidden: User "dev" cannot get resource "namespaces" in API group "" at the cluster scope')
    result = deploy(cluster, "shop")
    assert result.exit_code == 0, result.output
    assert result.stdout == "https://shop.default.apps.example.com\n"
    assert [e.answer for e in cluster.api.log if e.plural == "namespaces"] == [403]


def test_env_from_secret_references_a_secret_the_user_keeps(cluster):
    cluster.add(USER_SECRET)
    result = deploy(cluster, "shop", "--env-from-secret", "shop-keys")
    assert result.exit_code == 0, result.output
    container = get(cluster, SERVICES, "default", "shop")["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "shop-keys"}}]
    assert get(cluster, "v1/secrets", "default", "shop-keys")["data"] == {"DJANGO_SECRET_KEY": "c2VjcmV0"}  # read, never written
    assert "c2VjcmV0" not in result.output and "secret" not in result.stdout


def test_env_from_a_secret_that_does_not_exist_is_refused_before_any_write(cluster):
    before = objects(cluster)
    result = deploy(cluster, "shop", "--env-from-secret", "shop-keys")
    assert result.exit_code == 2
    assert result.stderr == ("error: --env-from-secret: Secret default/shop-keys does not exist; create it first, e.g. "
                             "`kubectl create secret generic shop-keys -n default --from-literal=KEY=VALUE`\n")
    assert objects(cluster) == before and writes(cluster) == []


def test_a_secret_value_is_never_quoted_back_in_an_error(cluster):
    result = deploy(cluster, "shop", "--secret-env", "PORT=hunter2-secret")
    assert result.exit_code == 2
    assert "hunter2-secret" not in result.output
    assert result.stderr == "error: --secret-env: 'PORT' is set by Knative itself (reserved: PORT, K_SERVICE, K_CONFIGURATION, K_REVISION)\n"


# --------------------------------------------------------------------------- rollback


def _three_revisions(cluster):
    for tag in ("1", "2", "3"):
        result = run(cluster, "deploy", "shop", "--image", f"ghcr.io/acme/shop:{tag}", "--poll", "0")
        assert result.exit_code == 0, result.output


def test_rollback_sends_all_traffic_to_the_previous_ready_revision_in_one_patch_and_makes_no_revision(cluster):
    _three_revisions(cluster)
    before = {k for k in objects(cluster) if k[0].endswith("revisions")}
    cluster.api.clear_log()
    result = run(cluster, "rollback", "shop", "--poll", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout == "app default/shop: all traffic on shop-00002\n"
    assert [(e.verb, e.plural) for e in writes(cluster)] == [("patch", "services")]
    svc = get(cluster, SERVICES, "default", "shop")
    assert svc["spec"]["traffic"] == [{"revisionName": "shop-00002", "percent": 100, "latestRevision": False}]
    assert svc["status"]["traffic"] == [{"revisionName": "shop-00002", "latestRevision": False, "percent": 100}]
    assert svc["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop:3"
    assert {k for k in objects(cluster) if k[0].endswith("revisions")} == before
    # Again: one further back, skipping nothing Ready.
    assert run(cluster, "rollback", "shop", "--poll", "0").stdout == "app default/shop: all traffic on shop-00001\n"


def test_rollback_skips_a_revision_that_is_not_ready(cluster):
    _three_revisions(cluster)

    def break_second(api):
        key = next(k for k in api.objects if k[2] == "shop-00002")
        obj = copy.deepcopy(api.objects[key].raw)
        obj["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ExitCode1", "message": "crashed"}]
        api.objects[key] = obj

    cluster.edit(break_second)
    assert run(cluster, "rollback", "shop", "--poll", "0").stdout == "app default/shop: all traffic on shop-00001\n"
    refused = run(cluster, "rollback", "shop", "shop-00002")
    assert refused.exit_code == 2
    assert refused.stderr == "error: REVISION: shop-00002 is not Ready (False (ExitCode1): crashed); traffic goes only to a Ready revision\n"


def test_rollback_to_a_named_revision_and_a_deploy_puts_traffic_back_on_the_latest(cluster):
    _three_revisions(cluster)
    assert run(cluster, "rollback", "shop", "shop-00001", "--poll", "0").exit_code == 0
    cluster.api.clear_log()
    result = run(cluster, "deploy", "shop", "--image", "ghcr.io/acme/shop:3", "--poll", "0")
    assert result.exit_code == 0, result.output
    svc = get(cluster, SERVICES, "default", "shop")
    assert svc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    assert svc["status"]["traffic"] == [{"revisionName": "shop-00003", "latestRevision": True, "percent": 100}]
    assert not any(k[2] == "shop-00004" for k in objects(cluster))
    assert [(e.verb, e.plural) for e in writes(cluster)] == [("update", "services")]


def test_rollback_with_no_earlier_revision_says_so(cluster):
    assert deploy(cluster, "shop").exit_code == 0
    result = run(cluster, "rollback", "shop")
    assert result.exit_code == 1
    assert result.stderr == "error: app default/shop: no Ready revision older than shop-00001 to roll back to\n"


# --------------------------------------------------------------------------- delete


def test_delete_removes_service_secret_and_database_with_yes_only(cluster):
    assert deploy(cluster, "shop", "--database", "--secret-env", "T=x").exit_code == 0
    dry = run(cluster, "delete", "shop")
    assert dry.exit_code == 0
    assert dry.stdout == "dry run: would delete Service shop, Secret shop-env, Cluster shop-db in namespace default; run again with --yes\n"
    assert (SERVICES, "default", "shop") in objects(cluster)
    result = run(cluster, "delete", "shop", "--yes")
    assert result.exit_code == 0, result.output
    left = objects(cluster)
    for key in ((SERVICES, "default", "shop"), ("v1/secrets", "default", "shop-env"), ("postgresql.cnpg.io/v1/clusters", "default", "shop-db")):
        assert key not in left


def test_delete_keeps_the_database_when_asked(cluster):
    assert deploy(cluster, "shop", "--database").exit_code == 0
    result = run(cluster, "delete", "shop", "--keep-database", "--yes")
    assert result.exit_code == 0, result.output
    assert "note: database default/shop-db kept (--keep-database), with its secret shop-db-app" in result.stderr
    left = objects(cluster)
    assert (SERVICES, "default", "shop") not in left
    assert ("postgresql.cnpg.io/v1/clusters", "default", "shop-db") in left


def test_delete_never_touches_what_is_not_ours(cluster):
    cluster.add({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                 "spec": {"template": {"spec": {"containers": [{"image": "nginx"}]}}}})
    settle(cluster)
    before = objects(cluster)
    result = run(cluster, "delete", "web", "--yes")
    assert result.exit_code == 2
    assert result.stderr == ("error: NAME: Knative Service default/web was not made by clusterctl-py "
                             "(no label app.kubernetes.io/managed-by=clusterctl-py); it is left alone\n")
    assert objects(cluster) == before
    # A database of that name that is not this app's stays too.
    cluster.add({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "shop-db", "namespace": "default"},
                 "spec": {"instances": 1}})
    assert deploy(cluster, "other").exit_code == 0
    assert run(cluster, "delete", "shop", "--yes").stdout == "nothing of app shop in namespace default; nothing deleted\n"
    assert ("postgresql.cnpg.io/v1/clusters", "default", "shop-db") in objects(cluster)


# --------------------------------------------------------------------------- list, status, logs


def test_list_shows_our_apps_in_one_request(cluster):
    for name in ("alpha", "beta"):
        assert deploy(cluster, name).exit_code == 0
    cluster.add({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "foreign", "namespace": "default"},
                 "spec": {}})
    cluster.api.clear_log()
    result = run(cluster, "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "NAME   URL                                     READY  LATEST       TRAFFIC",
        "alpha  https://alpha.default.apps.example.com  True   alpha-00001  alpha-00001=100%",
        "beta   https://beta.default.apps.example.com   True   beta-00001   beta-00001=100%",
    ]
    assert [(e.verb, e.plural, e.params.get("labelSelector")) for e in cluster.api.log] == [
        ("list", "services", "app.kubernetes.io/managed-by=clusterctl-py")]


def test_status_shows_revisions_traffic_and_exits_1_when_not_ready(cluster):
    _three_revisions(cluster)
    result = run(cluster, "status", "shop")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == ["app default/shop", "  url: https://shop.default.apps.example.com", "  traffic: shop-00003 100% (latest)"]
    assert "    Ready: True" in lines
    revs = [line.split()[0] for line in lines if line.startswith("    shop-")]
    assert revs == ["shop-00003", "shop-00002", "shop-00001"]
    assert "image=ghcr.io/acme/shop:3  100%" in result.stdout
    cluster.knative.fail = ("ExitCode1", "boom")
    assert run(cluster, "deploy", "shop", "--image", "ghcr.io/acme/shop:4", "--poll", "0").exit_code == 1
    broken = run(cluster, "status", "shop")
    assert broken.exit_code == 1
    assert broken.stderr.startswith("error: app default/shop is not ready: False (RevisionFailed)")


def _pod(name: str, revision: str, created: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": created,
                         "labels": {"serving.knative.dev/service": "shop", "serving.knative.dev/revision": revision}},
            "spec": {"containers": [{"name": "user-container", "image": IMAGE}, {"name": "queue-proxy", "image": "qp"}]}}


def test_logs_read_the_user_container_of_each_pod_and_say_when_scaled_to_zero(cluster):
    assert deploy(cluster, "shop").exit_code == 0
    empty = run(cluster, "logs", "shop")
    assert empty.exit_code == 0
    assert empty.stdout == ""
    assert empty.stderr == "app default/shop has no pods: it is scaled to zero (the next request starts one) or not deployed\n"
    cluster.add(_pod("shop-00001-deployment-a", "shop-00001", "2026-08-24T10:00:00Z"),
                _pod("shop-00001-deployment-b", "shop-00001", "2026-08-24T10:05:00Z"))

    def logs(api):
        api.pod_logs["default", "shop-00001-deployment-a", "user-container"] = "booting\nlistening on 8080\n"
        api.pod_logs["default", "shop-00001-deployment-a", "queue-proxy"] = "not this one\n"
        api.pod_logs["default", "shop-00001-deployment-b", "user-container"] = "GET / 200\n"

    cluster.edit(logs)
    result = run(cluster, "logs", "shop")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "[shop-00001-deployment-a] booting", "[shop-00001-deployment-a] listening on 8080", "[shop-00001-deployment-b] GET / 200"]
    followed = run(cluster, "logs", "shop", "--follow")
    assert followed.stdout == "GET / 200\n"
    assert followed.stderr == "following the newest of 2 pods, shop-00001-deployment-b\n"
    none = run(cluster, "logs", "shop", "--revision", "shop-00002")
    assert none.stderr.startswith("revision shop-00002 of app default/shop has no pods")


# --------------------------------------------------------------------------- --gitops


def test_gitops_writes_the_same_objects_the_api_path_creates(cluster, tmp_path):
    flags = ("--env", "MODE=prod", "--database", "--max-scale", "3", "-n", "shop")
    cluster.add(namespace("shop"))
    api_side = deploy(cluster, "web", *flags)
    assert api_side.exit_code == 0, api_side.output
    cluster.api.clear_log()
    result = CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, *flags, "--gitops", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert cluster.api.log == []  # no cluster is asked anything
    folder = tmp_path / "shop" / "web"
    assert sorted(p.name for p in folder.iterdir()) == ["database.yaml", "kustomization.yaml", "service.yaml"]
    assert yaml.safe_load((folder / "kustomization.yaml").read_text()) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["database.yaml", "service.yaml"]}
    live = objects(cluster)
    for file, key in (("service.yaml", SERVICES), ("database.yaml", "postgresql.cnpg.io/v1/clusters")):
        written = yaml.safe_load((folder / file).read_text())
        name = written["metadata"]["name"]
        sent = next(e for e in live if e[0] == key and e[2] == name)
        have = live[sent]
        # Every field of the file is what the API holds (which has defaults and status on top).
        assert subset(written, have), file
    again = CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, *flags, "--gitops", str(tmp_path)])
    assert again.stdout == f"{folder}: already up to date; nothing written\n"


def test_gitops_refuses_secret_env_and_delete_removes_the_files(tmp_path):
    refused = CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, "--secret-env", "T=x", "--gitops", str(tmp_path)])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: --secret-env: is not written to git in plain text, so it cannot go with --gitops")
    assert list(tmp_path.iterdir()) == []
    assert CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, "--database", "--gitops", str(tmp_path)]).exit_code == 0
    kept = CliRunner().invoke(app, ["app", "delete", "web", "--keep-database", "--yes", "--gitops", str(tmp_path)])
    assert kept.exit_code == 0, kept.output
    folder = tmp_path / "default" / "web"
    assert sorted(p.name for p in folder.iterdir()) == ["database.yaml", "kustomization.yaml"]
    assert yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"] == ["database.yaml"]
    assert CliRunner().invoke(app, ["app", "delete", "web", "--yes", "--gitops", str(tmp_path)]).exit_code == 0
    assert not folder.exists()


def test_gitops_reads_secrets_the_cluster_keeps_through_env_from_secret(tmp_path):
    result = CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, "--env-from-secret", "web-keys", "--gitops", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "default" / "web"
    assert sorted(p.name for p in folder.iterdir()) == ["kustomization.yaml", "service.yaml"]
    container = yaml.safe_load((folder / "service.yaml").read_text())["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "web-keys"}}]


def test_gitops_leaves_files_it_did_not_write_alone(tmp_path):
    folder = tmp_path / "default" / "web"
    folder.mkdir(parents=True)
    (folder / "service.yaml").write_text("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web}\n")
    result = CliRunner().invoke(app, ["app", "deploy", "web", "--image", IMAGE, "--gitops", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {folder / 'service.yaml'} is not a manifest clusterctl-py wrote for app web; it is left alone\n"
    assert (folder / "service.yaml").read_text().startswith("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web}")
