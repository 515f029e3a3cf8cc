"""Kubernetes API requests per `clusterctl-py app` command; prints a table.

    python benchmarks/app_requests.py

Each row runs one command through the CLI against the emulator
(tests/support/kube_api.py) with the Knative stand-in (tests/support/knative_sim.py),
driven by the real client, and counts the requests the emulator saw, and how
many of them wrote. The wait for a revision polls (`--poll 0` here), so deploy's
figure includes the looks the stand-in needs to make the revision Ready.
`app list` must not grow with the number of apps.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support

from typer.testing import CliRunner  # noqa: E402

from clusterctl_py.cli import app  # noqa: E402
from tests.support.knative_sim import KnativeSim  # noqa: E402
from tests.support.kube_api import serve  # noqa: E402

WRITES = ("create", "update", "patch", "delete")


def main() -> None:
    rows = []
    with serve() as server, tempfile.TemporaryDirectory() as tmp:
        KnativeSim(server)
        config = Path(tmp) / "kubeconfig"
        config.write_text(yaml.safe_dump(server.kubeconfig()))

        def count(*args: str) -> tuple[int, int]:
            server.api.clear_log()
            result = CliRunner().invoke(app, ["app", *args, "--kubeconfig", str(config)], catch_exceptions=False)
            if result.exit_code != 0:
                raise SystemExit(f"{' '.join(args)} failed: {result.output}")
            return len(server.api.log), sum(1 for e in server.api.log if e.verb in WRITES)

        deploy = ("deploy", "shop", "--image", "ghcr.io/acme/shop:1", "--database", "--secret-env", "T=x", "--poll", "0")
        rows.append(("deploy (first time, --database, --secret-env)", *count(*deploy)))
        rows.append(("deploy again, same flags", *count(*deploy)))
        rows.append(("deploy a new image", *count(*deploy[:3], "ghcr.io/acme/shop:2", *deploy[4:])))
        rows.append(("status", *count("status", "shop")))
        rows.append(("rollback", *count("rollback", "shop", "--poll", "0")))
        for name in ("a1", "a2"):
            count("deploy", name, "--image", "nginx", "--poll", "0")
        rows.append(("list, 3 apps", *count("list")))
        for i in range(3, 50):  # with shop: 50
            count("deploy", f"a{i}", "--image", "nginx", "--poll", "0")
        rows.append(("list, 50 apps", *count("list")))
    width = max(len(r[0]) for r in rows)
    print(f"{'command'.ljust(width)}  requests  writes")
    for name, requests, writes in rows:
        print(f"{name.ljust(width)}  {requests:8d}  {writes:6d}")


if __name__ == "__main__":
    main()
