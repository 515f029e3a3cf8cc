"""The Hetzner client against the local API fake, driven by the real hcloud-python client.

Each fault a real project can show (429 for a while or for good, 5xx, a
dropped connection, a wrong, revoked or read-only token) ends either in a
result or in one clear line; request counts show what was retried and that
nothing made a hidden request.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from clusterctl_py.clients import hetzner
from clusterctl_py.clients.errors import ClientError, Forbidden, NotFound, Unauthorized, Unavailable
from tests.support.fake_hcloud import READ_ONLY_TOKEN, TOKEN


def client(fake, token=TOKEN) -> hetzner.HetznerClient:
    # No waiting between retries and polls; the policy (what is retried, how often) stays hcloud's.
    return hetzner.HetznerClient(token, fake.endpoint, poll_interval=0, backoff=lambda n: 0)


def one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and TOKEN not in text
    return text


def test_lists_walk_every_page_and_make_no_hidden_requests(fake_hcloud):
    for i in range(120):
        fake_hcloud.add_server(f"node-{i}", {"caph-cluster-prod": "owned"}, placement_group=None)
    servers = client(fake_hcloud).servers()
    assert [s.name for s in servers] == [f"node-{i}" for i in range(120)]
    assert servers[0].server_type == "cpx22" and servers[0].location == "fsn1"
    # 50 per page: three pages, and nothing else (a Bound object reading a missing field would GET it).
    assert [(r.method, r.path, r.query["page"]) for r in fake_hcloud.requests] == [
        ("GET", "/servers", ["1"]), ("GET", "/servers", ["2"]), ("GET", "/servers", ["3"]),
    ]


def test_server_types_carry_availability_deprecation_and_prices_per_location(fake_hcloud):
    fake_hcloud.set_server_type_location("cpx32", "nbg1", available=False)
    fake_hcloud.set_server_type_location("cpx32", "hel1", deprecated=True)
    types = {st.name: st for st in client(fake_hcloud).server_types()}
    cpx32 = types["cpx32"]
    assert cpx32.architecture == "x86" and types["cax21"].architecture == "arm"
    assert cpx32.at("fsn1").available and cpx32.at("fsn1").deprecation is None
    assert not cpx32.at("nbg1").available
    assert cpx32.at("hel1").deprecation is not None and cpx32.at("hel1").deprecation.unavailable_after.year == 2026
    assert cpx32.price_at("fsn1").monthly.net == Decimal("13.99")
    assert cpx32.price_at("fsn1").monthly.gross == Decimal("16.6481")
    # Reading each location's name made no request for the location itself.
    assert fake_hcloud.count() == 1


def test_label_selectors_reach_the_api(fake_hcloud):
    fake_hcloud.add_network("prod", {"caph-cluster-prod": "owned"})
    fake_hcloud.add_network("staging", {"caph-cluster-staging": "owned"})
    fake_hcloud.add_network("hand-made", {})
    api = client(fake_hcloud)
    assert [n.name for n in api.networks(label_selector="caph-cluster-prod=owned")] == ["prod"]
    assert [n.name for n in api.networks(label_selector="!caph-cluster-prod,!caph-cluster-staging")] == ["hand-made"]
    assert fake_hcloud.requests[-1].query["label_selector"] == ["!caph-cluster-prod,!caph-cluster-staging"]


def test_a_few_429_are_retried_by_hcloud(fake_hcloud):
    fake_hcloud.add_ssh_key("ops")
    fake_hcloud.rate_limit(2)
    assert [k.name for k in client(fake_hcloud).ssh_keys()] == ["ops"]
    assert fake_hcloud.count(path="/ssh_keys") == 3


def test_429_for_good_ends_in_one_line_naming_the_reset(fake_hcloud):
    fake_hcloud.rate_limit(1000)
    with pytest.raises(Unavailable) as caught:
        client(fake_hcloud).ssh_keys()
    text = one_line(caught.value)
    assert text.startswith("Hetzner API: rate limit exceeded while listing SSH keys, still after 5 retries")
    assert "full again at " in text and "(RateLimit-Reset)" in text and "(request id " in text
    assert caught.value.code == "rate_limit_exceeded"
    # hcloud's own 5 retries and nothing stacked on top.
    assert fake_hcloud.count() == 6


def test_429_without_the_error_code_is_not_retried_by_hcloud(fake_hcloud):
    # hcloud retries a 429 only when the body says rate_limit_exceeded; a bare 429 (a proxy) comes straight back.
    fake_hcloud.fail(429, None, 1000)
    with pytest.raises(Unavailable) as caught:
        client(fake_hcloud).ssh_keys()
    assert fake_hcloud.count() == 1
    assert "rate limit exceeded" in one_line(caught.value)


def test_502_is_retried_by_hcloud_and_503_ends_in_one_line(fake_hcloud):
    fake_hcloud.fail(502, "bad_gateway", 2)
    assert client(fake_hcloud).locations()
    assert fake_hcloud.count() == 3
    fake_hcloud.reset_log()
    fake_hcloud.fail(503, "unavailable", 1000)
    with pytest.raises(Unavailable) as caught:
        client(fake_hcloud).locations()
    assert one_line(caught.value).startswith("Hetzner API: listing locations failed: the API answered 'unavailable'; try again later")
    assert fake_hcloud.count() == 1


def test_a_dropped_connection_is_retried_a_bounded_number_of_times(fake_hcloud):
    fake_hcloud.drop(1)
    assert [loc.name for loc in client(fake_hcloud).locations()][:2] == ["fsn1", "nbg1"]
    assert fake_hcloud.count() == 2
    fake_hcloud.reset_log()
    fake_hcloud.drop(1000)
    with pytest.raises(Unavailable) as caught:
        client(fake_hcloud).locations()
    assert one_line(caught.value) == (
        f"Hetzner API: {fake_hcloud.endpoint} refused or dropped the connection while listing locations (3 attempts)"
    )
    assert fake_hcloud.count() == 3


def test_nothing_listening_is_one_line(fake_hcloud):
    endpoint = fake_hcloud.endpoint
    fake_hcloud.stop()
    with pytest.raises(Unavailable) as caught:
        hetzner.HetznerClient(TOKEN, endpoint, backoff=lambda n: 0).servers()
    assert "refused or dropped the connection while listing servers" in one_line(caught.value)


def test_a_wrong_or_revoked_token_is_one_line_without_the_token(fake_hcloud):
    with pytest.raises(Unauthorized) as caught:
        hetzner.HetznerClient("x" * 64, fake_hcloud.endpoint, backoff=lambda n: 0).servers()
    text = str(caught.value)
    assert text.startswith("Hetzner API: the token in HCLOUD_TOKEN was refused (unauthorized) while listing servers")
    assert "x" * 64 not in text and "\n" not in text
    fake_hcloud.revoke(after=1)
    api = client(fake_hcloud)
    api.locations()
    with pytest.raises(Unauthorized):
        api.locations()


def test_a_read_only_token_reads_but_may_not_write(fake_hcloud):
    fake_hcloud.add_ssh_key("ops")
    api = client(fake_hcloud, READ_ONLY_TOKEN)
    (key,) = api.ssh_keys()
    with pytest.raises(Forbidden) as caught:
        api.verify_write(key)
    assert "is read-only (token_readonly)" in one_line(caught.value)
    assert "Read & Write" in str(caught.value)
    assert caught.value.code == "token_readonly"


def test_the_write_check_changes_nothing(fake_hcloud):
    fake_hcloud.add_ssh_key("ops", {"team": "platform"})
    api = client(fake_hcloud)
    (key,) = api.ssh_keys()
    api.verify_write(key)
    (after,) = api.ssh_keys()
    assert after == key
    put = [r for r in fake_hcloud.requests if r.method == "PUT"]
    assert [r.path for r in put] == [f"/ssh_keys/{key.id}"]


def test_a_missing_permission_is_its_own_line(fake_hcloud):
    fake_hcloud.add_ssh_key("ops")
    fake_hcloud.forbid(method="PUT")
    api = client(fake_hcloud)
    with pytest.raises(Forbidden) as caught:
        api.verify_write(api.ssh_keys()[0])
    assert "may not update an SSH key (the write check) (forbidden): it lacks that permission" in one_line(caught.value)


def test_actions_are_polled_until_done(fake_hcloud):
    action = fake_hcloud.add_action("delete_server", polls=3)
    done = client(fake_hcloud).wait_for_action(action["id"])
    assert (done.status, done.command) == ("success", "delete_server")
    assert fake_hcloud.count(path=f"/actions/{action['id']}") == 4


def test_an_action_ending_in_error_is_one_line(fake_hcloud):
    action = fake_hcloud.add_action("delete_server", polls=1, error={"code": "action_failed", "message": "Action failed"})
    with pytest.raises(ClientError) as caught:
        client(fake_hcloud).wait_for_action(action["id"])
    assert one_line(caught.value) == (
        f"Hetzner API: waiting for action {action['id']}: the action 'delete_server' ended in error 'action_failed'"
    )


def test_an_action_still_running_after_the_polls_is_one_line(fake_hcloud):
    action = fake_hcloud.add_action("create_server", polls=10)
    api = hetzner.HetznerClient(TOKEN, fake_hcloud.endpoint, poll_interval=0, poll_max_retries=3, backoff=lambda n: 0)
    with pytest.raises(Unavailable) as caught:
        api.wait_for_action(action["id"])
    assert one_line(caught.value) == (
        f"Hetzner API: waiting for action {action['id']}: the action 'create_server' was still running after 3 polls"
    )
    # Polled, not stormed: three polls, and no GET before them.
    assert fake_hcloud.count(path=f"/actions/{action['id']}") == 3


def test_pricing_as_the_api_gives_it(fake_hcloud):
    pricing = client(fake_hcloud).pricing()
    assert (pricing.currency, pricing.vat_rate) == ("EUR", Decimal("19.00"))
    lb11 = next(p for p in pricing.load_balancer_types["lb11"] if p.location == "nbg1")
    assert (lb11.monthly.net, lb11.monthly.gross) == (Decimal("5.39"), Decimal("6.4141"))
    assert next(p for p in pricing.primary_ips["ipv4"] if p.location == "fsn1").monthly.net == Decimal("0.5")


def test_every_request_names_the_application(fake_hcloud):
    client(fake_hcloud).locations()
    assert fake_hcloud.requests[0].user_agent.startswith("clusterctl-py hcloud-python/")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "https://api.hetzner.cloud/v1"),
        ({"HCLOUD_ENDPOINT": ""}, "https://api.hetzner.cloud/v1"),
        ({"HCLOUD_ENDPOINT": "http://127.0.0.1:8080/v1/"}, "http://127.0.0.1:8080/v1"),
    ],
)
def test_endpoint_as_the_hcloud_cli_reads_it(env, expected):
    assert hetzner.endpoint_from_env(env) == expected


def test_other_resources_as_dataclasses(fake_hcloud):
    server = fake_hcloud.add_server("mgmt-0", {"clusterctl-py.dev/management": "mgmt"})
    fake_hcloud.add_placement_group("prod-md-0", {"caph-cluster-prod": "owned"}, servers=[server["id"]])
    fake_hcloud.add_primary_ip("mgmt-0", {"clusterctl-py.dev/management": "mgmt"}, assignee_id=server["id"])
    fake_hcloud.add_firewall("mgmt", {"clusterctl-py.dev/management": "mgmt"})
    fake_hcloud.add_load_balancer("prod-kube-apiserver-abcde", {"caph-cluster-prod": "owned"}, location="nbg1")
    fake_hcloud.add_volume("pvc-1", {"caph-cluster-prod": "owned"}, server=server["id"])
    api = client(fake_hcloud)
    fake_hcloud.reset_log()
    (group,) = api.placement_groups()
    assert (group.name, group.type, group.servers) == ("prod-md-0", "spread", (server["id"],))
    (ip,) = api.primary_ips(label_selector="clusterctl-py.dev/management=mgmt")
    assert (ip.name, ip.type, ip.assignee_id, ip.location) == ("mgmt-0", "ipv4", server["id"], "fsn1")
    assert [f.name for f in api.firewalls()] == ["mgmt"]
    (lb,) = api.load_balancers(label_selector="caph-cluster-prod")
    assert (lb.name, lb.type, lb.location) == ("prod-kube-apiserver-abcde", "lb11", "nbg1")
    (volume,) = api.volumes()
    assert (volume.name, volume.server_id, volume.size_gb) == ("pvc-1", server["id"], 10)
    images = {(i.name, i.architecture): i for i in api.images()}
    assert images[("ubuntu-20.04", "x86")].deprecation is not None and images[("ubuntu-24.04", "arm")].deprecation is None
    assert fake_hcloud.count() == 6  # one request per collection


# ---- deletes (cleanup) -----------------------------------------------------------------------


def test_deletes_answer_as_the_api_does(fake_hcloud):
    server = fake_hcloud.add_server("prod-md-0-abcde", {"caph-cluster-prod": "owned"})
    network = fake_hcloud.add_network("prod", {"caph-cluster-prod": "owned"})
    lb = fake_hcloud.add_load_balancer("a1b2c3", {"hcloud-ccm/service-uid": "1b2c3"}, networks=[network["id"]])
    group = fake_hcloud.add_placement_group("prod-control-plane", {"caph-cluster-prod": "owned"}, servers=[server["id"]])
    volume = fake_hcloud.add_volume("pvc-1", {"clusterctl-py.dev/cluster": "prod"})
    ip = fake_hcloud.add_primary_ip("mgmt-0", {"clusterctl-py.dev/management": "mgmt"})
    firewall = fake_hcloud.add_firewall("mgmt", {"clusterctl-py.dev/management": "mgmt"})
    api = client(fake_hcloud)
    (listed_lb,) = api.load_balancers()
    assert listed_lb.networks == (network["id"],)

    started = api.delete_server(api.servers()[0])
    assert (started.command, started.status) == ("delete_server", "running")
    assert api.wait_for_action(started.id).status == "success"
    lb_action = api.delete_load_balancer(listed_lb)
    assert lb_action is not None and api.wait_for_action(lb_action.id).status == "success"
    assert api.delete_volume(api.volumes()[0]) is None
    api.delete_primary_ip(api.primary_ips()[0])
    api.delete_firewall(api.firewalls()[0])
    api.delete_placement_group(api.placement_groups()[0])
    api.delete_network(api.networks()[0])
    assert all(not fake_hcloud.data[c] for c in ("servers", "load_balancers", "volumes", "primary_ips", "firewalls",
                                                  "placement_groups", "networks"))
    assert [r.path for r in fake_hcloud.requests if r.method == "DELETE"] == [
        f"/servers/{server['id']}", f"/load_balancers/{lb['id']}", f"/volumes/{volume['id']}",
        f"/primary_ips/{ip['id']}", f"/firewalls/{firewall['id']}", f"/placement_groups/{group['id']}",
        f"/networks/{network['id']}",
    ]


def test_a_load_balancer_delete_answered_without_an_action(fake_hcloud, monkeypatch):
    # hcloud-go reads no body from this DELETE; an answer without one must not break the client.
    fake_hcloud.add_load_balancer("prod-kube-apiserver-x1y2z", {"caph-cluster-prod": "owned"})
    original = fake_hcloud._delete

    def no_body(collection, obj):
        original(collection, obj)
        return 204, None, {}

    monkeypatch.setattr(fake_hcloud, "_delete", no_body)
    api = client(fake_hcloud)
    assert api.delete_load_balancer(api.load_balancers()[0]) is None
    assert not fake_hcloud.data["load_balancers"]


def test_deleting_what_is_gone_is_not_found(fake_hcloud):
    fake_hcloud.add_network("prod", {"caph-cluster-prod": "owned"})
    api = client(fake_hcloud)
    (network,) = api.networks()
    api.delete_network(network)
    with pytest.raises(NotFound) as caught:
        api.delete_network(network)
    assert one_line(caught.value).startswith(f"Hetzner API: delete network 'prod' (id {network.id}): not found")


def test_a_read_only_token_may_not_delete(fake_hcloud):
    fake_hcloud.add_server("prod-cp-0", {"caph-cluster-prod": "owned"})
    api = client(fake_hcloud, READ_ONLY_TOKEN)
    (server,) = api.servers()
    with pytest.raises(Forbidden) as caught:
        api.delete_server(server)
    assert one_line(caught.value).startswith(
        f"Hetzner API: the token in HCLOUD_TOKEN is read-only (token_readonly), so it may not delete server 'prod-cp-0'"
        f" (id {server.id}); create a token with the permission Read & Write"
    )
    assert fake_hcloud.data["servers"]


def test_refusals_keep_their_code(fake_hcloud):
    server = fake_hcloud.add_server("mgmt-0", {"clusterctl-py.dev/management": "mgmt"})
    fake_hcloud.add_firewall("mgmt", {"clusterctl-py.dev/management": "mgmt"}, servers=[server["id"]])
    fake_hcloud.add_network("mgmt", {"clusterctl-py.dev/management": "mgmt"})["protection"]["delete"] = True
    api = client(fake_hcloud)
    with pytest.raises(ClientError) as in_use:
        api.delete_firewall(api.firewalls()[0])
    with pytest.raises(ClientError) as protected:
        api.delete_network(api.networks()[0])
    assert (in_use.value.code, protected.value.code) == ("resource_in_use", "protected")
    assert one_line(protected.value).startswith("Hetzner API: delete network 'mgmt' (id ")
    # Once the server is gone, the firewall is no longer in use.
    api.wait_for_action(api.delete_server(api.servers()[0]).id)
    api.delete_firewall(api.firewalls()[0])
    assert not fake_hcloud.data["firewalls"]


def test_a_finished_action_costs_one_request(fake_hcloud):
    # Waiting on 200 server deletions must not cost 400 requests of the project's 3600 an hour.
    action = fake_hcloud.add_action("delete_server")
    assert client(fake_hcloud).wait_for_action(action["id"]).status == "success"
    assert fake_hcloud.count(path=f"/actions/{action['id']}") == 1
