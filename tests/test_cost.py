"""Monthly cost: what a spec costs idle and at full scale."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clusterctl_py import spec as spec_mod
from clusterctl_py.cli import app
from clusterctl_py.cost import monthly_estimate
from tests.conftest import platform_data


def test_min_and_max_follow_the_pools():
    est = monthly_estimate(spec_mod.parse(platform_data()))
    # management cpx32 + IPv4, 3x cpx22, lb11 (API) + lb11 (the platform's ingress), general 1..10 cpx32,
    # arm 0..20 cax21, 4..33 IPv4.
    assert est.min_eur == round(12.49 + 0.5 + 3 * 7.49 + 2 * 5.39 + 12.49 + 4 * 0.5, 2)
    assert est.max_eur == round(12.49 + 0.5 + 3 * 7.49 + 2 * 5.39 + 10 * 12.49 + 20 * 7.99 + 33 * 0.5, 2)


def test_scale_to_zero_pool_costs_nothing_idle():
    data = platform_data()
    data["clusters"][0]["pools"] = [data["clusters"][0]["pools"][1]]
    lines = {line.item: line for line in monthly_estimate(spec_mod.parse(data)).lines}
    assert lines["prod: pool arm cax21"].min_eur == 0


def test_cost_command_prints_totals(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "platform.yaml"
    result = CliRunner().invoke(app, ["cost", "-f", str(example)])
    assert result.exit_code == 0
    total = next(line for line in result.stdout.splitlines() if line.startswith("total per month"))
    assert total.split()[-2:] == ["60.73", "347.44"]
