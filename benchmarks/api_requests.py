"""API requests per command, for platforms whose pools allow 3 and 200 machines; prints a table.

    python benchmarks/api_requests.py

Each row runs one command through the CLI against local API fakes
(tests/support/), driven by the real clients, and counts the requests the
fakes saw. A Hetzner project may make 3600 requests an hour, so a command's
count must not grow with the pools: the same figure in both columns.

To add a row, write `def count_<command>(machines: int) -> int` (set up the
fakes, run the command, return the count) and add it to ROWS.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support, tests.conftest

from typer.testing import CliRunner  # noqa: E402

from clusterctl_py.cli import app  # noqa: E402
from tests.conftest import platform_data  # noqa: E402
from tests.support.fake_hcloud import TOKEN, FakeHcloud  # noqa: E402

MACHINES = (3, 200)
OTHER_SERVERS = 120  # what else the project runs: three pages of servers


def platform_file(machines: int, directory: Path) -> Path:
    """The example platform with pools allowing `machines` in all, at most 50 per cluster (a private network holds 100)."""
    data = platform_data()
    template, clusters, left = data["clusters"][0], [], machines
    while left > 0:
        size = min(50, left)
        pool = {"name": "work", "serverType": "cpx32", "min": 0, "max": size}
        clusters.append({**template, "name": f"c{len(clusters)}", "pools": [pool]})
        left -= size
    data["clusters"] = clusters
    path = directory / f"platform-{machines}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@contextmanager
def hetzner_project() -> Iterator[FakeHcloud]:
    """A running Hetzner API fake with the platform's SSH key and other servers; HCLOUD_* point at it."""
    fake = FakeHcloud().start()
    fake.add_ssh_key("ops")
    for i in range(OTHER_SERVERS):
        fake.add_server(f"other-{i}")
    saved = {k: os.environ.get(k) for k in ("HCLOUD_ENDPOINT", "HCLOUD_TOKEN")}
    os.environ.update(HCLOUD_ENDPOINT=fake.endpoint, HCLOUD_TOKEN=TOKEN)
    try:
        yield fake
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        fake.stop()


def run(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise SystemExit(f"`clusterctl-py {' '.join(args)}` failed:\n{result.output}{result.exception!r}")


def count_preflight(machines: int) -> int:
    with tempfile.TemporaryDirectory() as tmp, hetzner_project() as fake:
        path = platform_file(machines, Path(tmp))
        fake.reset_log()
        run("preflight", "-f", str(path))
        return fake.count()


def count_cost_live(machines: int) -> int:
    with tempfile.TemporaryDirectory() as tmp, hetzner_project() as fake:
        path = platform_file(machines, Path(tmp))
        fake.reset_log()
        run("cost", "--live", "-f", str(path))
        return fake.count()


def _leftovers(fake: FakeHcloud, machines: int) -> None:
    """What cluster c0 left when its pools held `machines` servers: CAPH's objects, labelled as CAPH labels them."""
    owned = {"caph-cluster-c0": "owned"}
    network = fake.add_network("c0", owned)
    servers = [fake.add_server(f"c0-work-{i}", owned, server_type="cpx32") for i in range(machines)]
    for g in range(0, machines, 10):
        fake.add_placement_group(f"c0-work-{g // 10 + 1}", owned, servers=[s["id"] for s in servers[g:g + 10]])
    fake.add_load_balancer("c0-kube-apiserver-x1y2z", owned, networks=[network["id"]])


def count_cleanup(machines: int, *flags: str) -> int:
    with hetzner_project() as fake:
        _leftovers(fake, machines)
        fake.reset_log()
        run("cleanup", "c0", *flags)
        return fake.count()


def count_describe(machines: int) -> int:
    # benchmarks/describe_requests.py measures describe against the Kubernetes API emulator.
    import importlib.util

    spec = importlib.util.spec_from_file_location("describe_requests", Path(__file__).with_name("describe_requests.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    requests, *_ = module.measure(machines, 1, False)
    return requests


ROWS: dict[str, Callable[[int], int]] = {
    "describe cluster (Kubernetes)": count_describe,
    "preflight (Hetzner)": count_preflight,
    "cost --live (Hetzner)": count_cost_live,
    # Listing is one walk per label; leftover servers past 50 cost one page more per 50.
    "cleanup NAME, dry run (Hetzner)": count_cleanup,
    # Deleting is one request per object and one poll per server's action.
    "cleanup NAME --yes (Hetzner)": lambda machines: count_cleanup(machines, "--yes"),
}


def main() -> None:
    width = max(len(name) for name in ROWS)
    print(f"{'requests':<{width}}  " + "  ".join(f"{f'{m} machines':>12}" for m in MACHINES))
    for name, count in ROWS.items():
        print(f"{name:<{width}}  " + "  ".join(f"{count(m):>12}" for m in MACHINES))
    print(f"(the project also runs {OTHER_SERVERS} other servers: listing servers takes 3 pages of 50)")


if __name__ == "__main__":
    main()
