"""The Hetzner API fake answers in the documented shapes, so client tests against it mean something.

Field names are spelled as the API reference spells them (docs.hetzner.cloud:
Pagination, Label Selector, Errors, Rate Limiting) and checked with plain
HTTP, not through the client under test.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.fake_hcloud import READ_ONLY_TOKEN, TOKEN, parse_selector


def get(fake, path, token=TOKEN, **params):
    return requests.get(fake.endpoint + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_pagination_meta_as_documented(fake_hcloud):
    for i in range(60):
        fake_hcloud.add_server(f"node-{i}")
    first = get(fake_hcloud, "/servers", per_page=25).json()
    assert first["meta"]["pagination"] == {
        "page": 1, "per_page": 25, "previous_page": None, "next_page": 2, "last_page": 3, "total_entries": 60,
    }
    last = get(fake_hcloud, "/servers", page=3, per_page=25).json()
    assert [s["name"] for s in last["servers"]] == [f"node-{i}" for i in range(50, 60)]
    assert last["meta"]["pagination"]["next_page"] is None and last["meta"]["pagination"]["previous_page"] == 2
    # The maximum per_page is 50.
    assert get(fake_hcloud, "/servers", per_page=51).status_code == 422


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("env=prod", {"a"}),
        ("env==prod", {"a"}),
        ("env!=prod", {"b", "c"}),
        ("env", {"a", "b"}),
        ("!env", {"c"}),
        ("env=prod,tier", {"a"}),
        ("env in (prod,dev)", {"a", "b"}),
        ("env notin (prod)", {"b", "c"}),
        ("env=dev,!tier", {"b"}),
    ],
)
def test_label_selectors(selector, expected):
    labels = {"a": {"env": "prod", "tier": "web"}, "b": {"env": "dev"}, "c": {}}
    match = parse_selector(selector)
    assert {name for name, ls in labels.items() if match(ls)} == expected


def test_label_selector_and_name_filter_over_http(fake_hcloud):
    fake_hcloud.add_network("prod", {"caph-cluster-prod": "owned"})
    fake_hcloud.add_network("other", {})
    names = [n["name"] for n in get(fake_hcloud, "/networks", label_selector="caph-cluster-prod=owned").json()["networks"]]
    assert names == ["prod"]
    assert [n["name"] for n in get(fake_hcloud, "/networks", name="other").json()["networks"]] == ["other"]


def test_errors_have_the_documented_body_and_status(fake_hcloud):
    answer = get(fake_hcloud, "/servers", token="nope")
    assert answer.status_code == 401
    assert answer.json() == {"error": {"code": "unauthorized", "message": "unable to authenticate", "details": {}}}
    missing = get(fake_hcloud, "/servers/424242")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    key = fake_hcloud.add_ssh_key("ops")
    readonly = requests.put(f"{fake_hcloud.endpoint}/ssh_keys/{key['id']}", json={"name": "ops"},
                            headers={"Authorization": f"Bearer {READ_ONLY_TOKEN}"}, timeout=5)
    assert readonly.status_code == 403 and readonly.json()["error"]["code"] == "token_readonly"
    clash = requests.post(f"{fake_hcloud.endpoint}/ssh_keys", json={"name": "ops", "public_key": "ssh-ed25519 AAAA"},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "uniqueness_error"


def test_rate_limit_headers_on_every_answer_and_429_body(fake_hcloud):
    ok = get(fake_hcloud, "/locations")
    assert ok.headers["RateLimit-Limit"] == "3600"
    assert int(ok.headers["RateLimit-Remaining"]) == 3599
    assert int(ok.headers["RateLimit-Reset"]) > 0
    fake_hcloud.rate_limit(1)
    limited = get(fake_hcloud, "/locations")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert "X-Correlation-Id" in limited.headers


def test_server_types_carry_per_location_availability_deprecation_and_prices(fake_hcloud):
    types = {st["name"]: st for st in get(fake_hcloud, "/server_types", per_page=50).json()["server_types"]}
    cx22 = types["cx22"]
    assert all(loc["deprecation"] is not None and loc["available"] is False for loc in cx22["locations"])
    cpx32 = types["cpx32"]
    fsn1 = next(loc for loc in cpx32["locations"] if loc["name"] == "fsn1")
    assert fsn1 == {"id": 1, "name": "fsn1", "deprecation": None, "available": True, "recommended": True}
    price = next(p for p in cpx32["prices"] if p["location"] == "fsn1")
    assert set(price["price_monthly"]) == {"net", "gross"} and isinstance(price["price_monthly"]["net"], str)
    pricing = get(fake_hcloud, "/pricing").json()["pricing"]
    assert pricing["currency"] == "EUR" and pricing["vat_rate"] == "19.00"
    assert {"server_types", "load_balancer_types", "primary_ips"} <= set(pricing)


def test_deprecated_images_only_with_include_deprecated(fake_hcloud):
    plain = {i["name"] for i in get(fake_hcloud, "/images", per_page=50).json()["images"]}
    everything = {i["name"] for i in get(fake_hcloud, "/images", per_page=50, include_deprecated="true").json()["images"]}
    assert "ubuntu-20.04" not in plain and "ubuntu-20.04" in everything


def test_actions_finish_after_polls(fake_hcloud):
    action = fake_hcloud.add_action(polls=2, error={"code": "action_failed", "message": "Action failed"})
    statuses = [get(fake_hcloud, f"/actions/{action['id']}").json()["action"]["status"] for _ in range(4)]
    assert statuses == ["running", "running", "error", "error"]


def test_dropped_connection_and_revoked_token(fake_hcloud):
    fake_hcloud.drop(1)
    with pytest.raises(requests.ConnectionError):
        get(fake_hcloud, "/locations")
    fake_hcloud.revoke(after=1)
    assert get(fake_hcloud, "/locations").status_code == 200
    assert get(fake_hcloud, "/locations").status_code == 401
    assert fake_hcloud.count(path="/locations") == 3


def delete(fake, path, token=TOKEN):
    return requests.delete(fake.endpoint + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_a_deleted_server_takes_its_attachments_with_it(fake_hcloud):
    # API reference, Delete a Server: "Any resources attached to the server (like Volumes, Primary IPs,
    # Floating IPs, Firewalls, Placement Groups) are detached while the server is deleted."
    server = fake_hcloud.add_server("mgmt-0")
    volume = fake_hcloud.add_volume("data", server=server["id"])
    kept = fake_hcloud.add_primary_ip("mgmt-0", assignee_id=server["id"])
    gone = fake_hcloud.add_primary_ip("mgmt-0-v6", assignee_id=server["id"], auto_delete=True)
    group = fake_hcloud.add_placement_group("mgmt", servers=[server["id"]])
    firewall = fake_hcloud.add_firewall("mgmt", servers=[server["id"]])
    assert delete(fake_hcloud, f"/firewalls/{firewall['id']}").json()["error"]["code"] == "resource_in_use"
    answer = delete(fake_hcloud, f"/servers/{server['id']}")
    assert answer.status_code == 200 and answer.json()["action"]["command"] == "delete_server"
    assert get(fake_hcloud, f"/volumes/{volume['id']}").json()["volume"]["server"] is None
    assert get(fake_hcloud, f"/primary_ips/{kept['id']}").json()["primary_ip"]["assignee_id"] is None
    assert get(fake_hcloud, f"/primary_ips/{gone['id']}").status_code == 404
    assert get(fake_hcloud, f"/placement_groups/{group['id']}").json()["placement_group"]["servers"] == []
    assert delete(fake_hcloud, f"/firewalls/{firewall['id']}").status_code == 204


def test_load_balancer_delete_answers_with_an_action_and_protection_refuses(fake_hcloud):
    lb = fake_hcloud.add_load_balancer("prod-kube-apiserver-x1y2z")
    network = fake_hcloud.add_network("prod")
    network["protection"]["delete"] = True
    refused = delete(fake_hcloud, f"/networks/{network['id']}")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "protected")
    assert delete(fake_hcloud, f"/load_balancers/{lb['id']}").json()["action"]["command"] == "delete_load_balancer"
