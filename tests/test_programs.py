"""The packaged cluster program, as `clusterctl-py up` runs it: token from the
environment, references qualified with the run's organisation, a clear stop
when Cluster API is not installed yet. Run whole under Pulumi's mocks."""

from __future__ import annotations

import base64

import pulumi
import pytest

from clusterctl_py.errors import SpecError
from tests.support import pulumi_mocks as pm

TOKEN = "e" * 64
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
MGMT = "acme/clusterctl-management/prod"
CAPI = "acme/clusterctl-capi/prod"
INSTALLED = {"cluster-api": "v1.13.5", "infrastructure-hetzner": "v1.1.8"}


def config(**over) -> dict:
    cfg = {
        "clusterctl:cluster": "shop",
        "clusterctl:managementStack": MGMT,
        "clusterctl:capiStack": CAPI,
        "clusterctl:hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "clusterctl:clusters": [{"name": "shop", "kubernetesVersion": "v1.34.2", "pools": [{"name": "w", "serverType": "cpx22", "max": 2}]}],
    }
    cfg.update(over)
    return cfg


def outputs_for(args: pulumi.runtime.MockResourceArgs) -> dict:
    if args.typ == "kubernetes:core/v1:Secret" and args.resource_id:
        return {"data": {"value": base64.b64encode(KUBECONFIG.encode()).decode()}}
    return {}


def run(cfg: dict, stacks: dict | None = None, secret_keys=(), organization=None):
    pm.set_config(cfg, secret_keys=list(secret_keys))
    mocks = pm.RecordingMocks(
        stack_outputs={MGMT: {"kubeconfig": KUBECONFIG}, CAPI: {"installed": INSTALLED}} if stacks is None else stacks,
        outputs_for=outputs_for,
    )
    monitor, _ = pm.run_recorded("cluster", mocks, organization=organization)
    return mocks, monitor


def test_token_from_the_environment_stays_secret(monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    mocks, monitor = run(config())
    secret = mocks.named("shop-hcloud-token")
    assert pm.plain(secret.inputs["stringData"]) == {"hcloud": TOKEN}
    assert "stringData" in monitor.named("shop-hcloud-token").secret_inputs


def test_token_in_stack_config_still_wins(monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    mocks, _ = run(config(**{"hcloud:token": "c" * 64}), secret_keys=["hcloud:token"])
    assert pm.plain(mocks.named("shop-hcloud-token").inputs["stringData"]) == {"hcloud": "c" * 64}


def test_no_token_anywhere_names_both_ways_to_give_it(monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    with pytest.raises(SpecError) as err:
        run(config())
    assert str(err.value) == "hcloud:token: not set: export HCLOUD_TOKEN, or set it with `pulumi config set --secret hcloud:token`"


def forget_failed_outputs() -> None:
    """A program that failed inside an apply leaves its failed output tasks in the
    runtime's settings, and `set_mocks` keeps that set (MockSettings only renews
    the RPC manager): the next program run would re-raise them."""
    from pulumi.runtime.settings import SETTINGS

    SETTINGS.outputs.clear()


def test_stops_clearly_while_cluster_api_is_not_installed(monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    with pytest.raises(pulumi.RunError) as err:
        try:
            run(config(), stacks={MGMT: {"kubeconfig": KUBECONFIG}, CAPI: {}})
        finally:
            forget_failed_outputs()
    assert str(err.value) == (
        "clusterctl:capiStack: stack acme/clusterctl-capi/prod has no `installed` output, so Cluster API is not "
        "(completely) installed in the management cluster; run `up` for that stack first"
    )


def test_bare_stack_names_are_completed_with_the_organisation(monkeypatch):
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    mocks, _ = run(config(**{"clusterctl:managementStack": "prod", "clusterctl:capiStack": "prod"}), organization="acme")
    refs = sorted(r.resource_id for r in mocks.of_type("pulumi:pulumi:StackReference"))
    assert refs == [CAPI, MGMT]
    assert mocks.named("shop-hcloud-token")  # the program ran through
