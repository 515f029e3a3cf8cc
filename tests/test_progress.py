"""Progress lines: what a user reads on stderr while stacks run, on a terminal and in a CI log."""

from __future__ import annotations

import io

import pytest
from pulumi.automation import events as ev

from clusterctl_py.ops import progress as progress_mod
from clusterctl_py.ops.progress import Progress
from tests.support.fake_engine import diagnostic, step

STACK = "urn:pulumi:prod::clusterctl-cluster::pulumi:pulumi:Stack::clusterctl-cluster-prod"
PROVIDER = "urn:pulumi:prod::clusterctl-cluster::pulumi:providers:hcloud::default_1_20_0"
SERVER = "urn:pulumi:prod::clusterctl-cluster::hcloud:index/server:Server::prod-cp-0"
# A child resource: its type in the URN is prefixed by its parent's ($), its name may hold "::".
CHILD = "urn:pulumi:prod::clusterctl-cluster::clusterctl:index:Cluster$kubernetes:core/v1:Secret::ns::prod-kubeconfig"


class Clock:
    """time.monotonic as the test sets it: elapsed times are then exact, not timed."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(progress_mod.time, "monotonic", clock)
    return clock


def log_progress(**kwargs) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    return Progress(3, 4, "mgmt-cluster-prod", "up", out=out, tty=False, **kwargs), out


def test_a_ci_log_gets_whole_lines_per_finished_resource(clock):
    progress, out = log_progress()
    progress(step("pre", STACK, "pulumi:pulumi:Stack"))
    progress(step("pre", PROVIDER, "pulumi:providers:hcloud"))
    progress(step("out", PROVIDER, "pulumi:providers:hcloud"))
    progress(step("pre", SERVER, "hcloud:index/server:Server"))
    clock.now += 75
    progress(step("out", SERVER, "hcloud:index/server:Server", op=ev.OpType.UPDATE))
    progress(step("pre", CHILD, "kubernetes:core/v1:Secret", op=ev.OpType.REPLACE))
    progress(step("out", STACK, "pulumi:pulumi:Stack"))
    clock.now += 3600 - 75 + 5
    progress.finish(ok=True)
    # The stack and its providers are no resources of the user's; the server's line comes when
    # it is done, and starting a resource prints nothing in a log.
    assert out.getvalue().splitlines() == [
        "[3/4] mgmt-cluster-prod: 1/1 resources, create hcloud:index/server:Server prod-cp-0, 01:15 elapsed",
        "[3/4] mgmt-cluster-prod: up done: 1/2 resources in 60:05",
    ]
    assert progress.current == "replace kubernetes:core/v1:Secret ns::prod-kubeconfig"


def test_a_terminal_redraws_one_line_until_something_final(clock):
    out = Terminal()
    progress = Progress(1, 1, "mgmt-capi", "destroy", out=out)
    progress(step("pre", SERVER, "hcloud:index/server:Server", op=ev.OpType.DELETE))
    clock.now += 9
    progress(step("out", SERVER, "hcloud:index/server:Server", op=ev.OpType.DELETE))
    progress.note("a line of its own")
    progress.finish(ok=False)
    assert out.getvalue() == (
        "\r\033[K[1/1] mgmt-capi: 0/1 resources, delete hcloud:index/server:Server prod-cp-0, 00:00 elapsed"
        "\r\033[K[1/1] mgmt-capi: 1/1 resources, delete hcloud:index/server:Server prod-cp-0, 00:09 elapsed"
        "\r\033[K[1/1] mgmt-capi: a line of its own\n"
        "\r\033[K[1/1] mgmt-capi: destroy failed: 1/1 resources in 00:09\n"
    )


def test_a_terminal_shared_with_other_stacks_gets_whole_lines(clock):
    out = Terminal()
    progress = Progress(2, 4, "mgmt-cluster-a", "up", out=out, redraw=False)
    progress(step("pre", SERVER, "hcloud:index/server:Server"))
    progress(step("pre", CHILD, "kubernetes:core/v1:Secret"))
    progress(step("out", SERVER, "hcloud:index/server:Server"))
    progress(step("out", CHILD, "kubernetes:core/v1:Secret"))
    assert out.getvalue() == (
        "[2/4] mgmt-cluster-a: 1/2 resources, create kubernetes:core/v1:Secret ns::prod-kubeconfig, 00:00 elapsed\n"
        "[2/4] mgmt-cluster-a: 2/2 resources, create kubernetes:core/v1:Secret ns::prod-kubeconfig, 00:00 elapsed\n"
    )


def test_redraw_needs_a_terminal(clock):
    progress, out = log_progress(redraw=True)
    progress(step("pre", SERVER, "hcloud:index/server:Server"))
    progress(step("out", SERVER, "hcloud:index/server:Server"))
    assert out.getvalue() == "[3/4] mgmt-cluster-prod: 1/1 resources, create hcloud:index/server:Server prod-cp-0, 00:00 elapsed\n"


def test_errors_get_a_line_each_naming_the_resource(clock):
    progress, out = log_progress()
    progress(step("pre", SERVER, "hcloud:index/server:Server"))
    progress(diagnostic(SERVER, "<{%reset%}>creating server: limit reached\n  (resource_limit_exceeded)<{%reset%}>\n"))
    progress(step("fail", SERVER, "hcloud:index/server:Server"))
    progress(diagnostic(STACK, "update failed"))
    # Warnings and ephemeral statuses are not errors.
    progress(ev.EngineEvent(sequence=0, timestamp=0, diagnostic_event=ev.DiagnosticEvent(
        message="deprecated field", color="raw", severity="warning", urn=SERVER)))
    progress(ev.EngineEvent(sequence=0, timestamp=0, diagnostic_event=ev.DiagnosticEvent(
        message="retrying", color="raw", severity="error", urn=SERVER, ephemeral=True)))
    assert out.getvalue().splitlines() == [
        "[3/4] mgmt-cluster-prod: error prod-cp-0: creating server: limit reached",
        "[3/4] mgmt-cluster-prod: error prod-cp-0:   (resource_limit_exceeded)",
        "[3/4] mgmt-cluster-prod: failed: hcloud:index/server:Server prod-cp-0",
        "[3/4] mgmt-cluster-prod: error: update failed",
    ]


def test_errors_on_a_terminal_stay_on_screen(clock):
    out = Terminal()
    progress = Progress(1, 1, "mgmt-capi", "up", out=out)
    progress(diagnostic(SERVER, "creating server: limit reached"))
    progress(step("fail", SERVER, "hcloud:index/server:Server"))
    assert out.getvalue() == (
        "\r\033[K[1/1] mgmt-capi: error prod-cp-0: creating server: limit reached\n"
        "\r\033[K[1/1] mgmt-capi: failed: hcloud:index/server:Server prod-cp-0\n"
    )
