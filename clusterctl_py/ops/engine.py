"""The one seam between clusterctl-py and Pulumi's engine.

`StackEngine` is all the CLI needs; `PulumiAutomationEngine` implements it
with the Automation API, which runs the `pulumi` CLI as a subprocess for
every step (so stacks can run side by side: each `up` is its own Pulumi
process, and the program its own Python process). Tests substitute their
own engine through `default_engine`, or a stand-in `pulumi` on PATH.

How the engine keeps the Hetzner token out of sight: it reaches the Pulumi
process through its environment (`HCLOUD_TOKEN`, which pulumi-hcloud and
the cluster program read), never through `pulumi config set` (whose values
are command-line arguments, readable by every local user in `ps`). Stack
config files go to a per-user state directory, not into the checkout or
site-packages.

No `--color` option is passed: the Automation API reads the CLI's output
through pipes, where the default, `auto`, already means no colour
(pulumi/pulumi sdk/go/common/util/cmdutil/diag.go GetGlobalColorization,
console.go InteractiveTerminal: stdin and stdout must both be terminals).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from pulumi import automation as auto

from clusterctl_py.errors import ClusterctlError

if TYPE_CHECKING:
    from clusterctl_py.ops.plan import StackRun

EventCallback = Callable[[Any], None]

SECRET = "[secret]"  # what a secret output is returned as
DIY_ORGANIZATION = "organization"  # the only organisation self-managed backends know
NO_DEFAULT_ORG = "No Default Org Specified"  # `pulumi org get-default` without one (pkg/cmd/pulumi/org/org.go)


def split_urn(urn: str | None) -> tuple[str, str]:
    """(type, name) of a resource URN, urn:pulumi:<stack>::<project>::<parent$...$type>::<name>;
    the name is everything after the third "::" (pulumi/pulumi sdk/go/common/resource/urn.go)."""
    parts = (urn or "").split("::", 3)
    if len(parts) < 4:
        return "", ""
    return parts[2].rsplit("$", 1)[-1], parts[3]


@dataclass(frozen=True)
class Diagnostic:
    """One error Pulumi reported, with the resource it is about (if any)."""

    urn: str | None
    message: str

    @property
    def resource(self) -> str:
        """`type name` of the resource, or "" when the message is about the stack or program."""
        typ, name = split_urn(self.urn)
        return "" if typ in ("", "pulumi:pulumi:Stack") else f"{typ} {name}"

    @property
    def headline(self) -> str:
        """One line: an unhandled exception's last line (the exception), else the first."""
        lines = self.message.splitlines() or [""]
        return lines[-1].strip() if lines[0].startswith("Program failed with an unhandled exception") else lines[0]

    def __str__(self) -> str:
        return f"{self.resource}: {self.headline}" if self.resource else self.headline


class EngineError(ClusterctlError):
    """A stack operation failed; the message names the failing resource where Pulumi said which."""


class StackMissing(EngineError):
    """The stack does not exist (and the operation must not create it)."""


class SetupError(EngineError):
    """Pulumi cannot run at all (not logged in, wrong organisation): nothing was touched."""


class StackEngine(Protocol):
    def organization(self, given: str | None) -> str:
        """The organisation stacks and StackReferences live in."""

    def exists(self, run: StackRun) -> bool:
        """Whether the stack exists (never creates it)."""

    def up(self, run: StackRun, on_event: EventCallback) -> dict[str, Any]:
        """Create or select the stack, set its config, run `up`; outputs, secret ones as SECRET."""

    def preview(self, run: StackRun, on_event: EventCallback) -> dict[str, int]:
        """Preview the stack; one that does not exist yet is created for it and removed after.

        Returns the planned changes per operation (create, update, delete, same, ...)."""

    def destroy(self, run: StackRun, on_event: EventCallback) -> None:
        """Destroy an existing stack's resources; StackMissing if there is no such stack."""

    def outputs(self, run: StackRun) -> dict[str, Any]:
        """An existing stack's outputs, secret ones in plain text (the caller keeps them out of
        sight); StackMissing if there is no such stack. Read-only: never creates the stack."""


def state_dir() -> Path:
    """Per-user state (XDG_STATE_HOME, default ~/.local/state): clusterctl-py/, mode 0700."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    path = root / "clusterctl-py"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def is_diy_backend(url: str | None) -> bool:
    """Self-managed backends (file://, s3://, gs://, azblob://, postgres://, ...) versus
    Pulumi Cloud and self-hosted Pulumi services, which are reached over http(s)."""
    return bool(url) and not url.startswith(("https://", "http://"))


_COLOR_TAG = re.compile(r"<\{%[^%]*%\}>")  # Pulumi's colour markup, e.g. <{%reset%}>


def clean_message(message: str) -> str:
    lines = [line.rstrip() for line in _COLOR_TAG.sub("", message).strip().splitlines()]
    return "\n".join(line for line in lines if line)


def error_diagnostic(event: Any) -> Diagnostic | None:
    """The error an engine event reports, if it reports one (not a warning, nor an ephemeral status)."""
    diag = event.diagnostic_event
    if diag is None or diag.severity != "error" or diag.ephemeral:
        return None
    message = clean_message(diag.message)
    return Diagnostic(diag.urn, message) if message else None


class _Collector:
    """Forwards engine events and keeps the error diagnostics."""

    def __init__(self, on_event: EventCallback):
        self.on_event = on_event
        self.diagnostics: list[Diagnostic] = []

    def __call__(self, event: Any) -> None:
        diagnostic = error_diagnostic(event)
        if diagnostic is not None:
            self.diagnostics.append(diagnostic)
        self.on_event(event)

    def error(self, exc: Exception) -> EngineError:
        return command_error(exc, self.diagnostics)


_ERROR_LINE = re.compile(r"^\s*(?:stderr: |stdout: )?error: (.+)$", re.MULTILINE)
_EXIT_CODE = re.compile(r"^ code: (-?\d+)$", re.MULTILINE)  # str(CommandResult): code, stdout, stderr


def command_error(exc: Exception, diagnostics: Sequence[Diagnostic] = ()) -> EngineError:
    """The first diagnostic naming a resource, else the first diagnostic, else the CLI's own
    first error line (stack init, config, login fail before any diagnostic), else how it ended."""
    culprit = next(iter([d for d in diagnostics if d.resource] or diagnostics), None)
    if culprit is not None:
        return EngineError(str(culprit))
    text = str(exc)
    line = _ERROR_LINE.search(text)
    if line:
        return EngineError(line.group(1).strip())
    # No error line: the CLI crashed (a Go panic prints its own first line) or was killed.
    code = int(_EXIT_CODE.search(text).group(1))
    ended = f"pulumi was killed by {signal.Signals(-code).name}" if code < 0 else f"pulumi exited with code {code}"
    # Its first line that says something (the CLI's panic handler starts with a rule of "=").
    said = re.search(r"^.*\w.*$", text.partition("\n stderr: ")[2], re.MULTILINE)
    return EngineError(f"{ended}: {said.group(0).strip()}" if said else ended)


class PulumiAutomationEngine:
    def __init__(self, hcloud_token: str, state: Path | None = None):
        self._token = hcloud_token
        self._state = state
        self._command = None
        self._lock = threading.Lock()

    # -- workspaces -----------------------------------------------------------

    def _state_dir(self) -> Path:
        if self._state is None:
            self._state = state_dir()
        return self._state

    def _pulumi(self):
        # One `pulumi version` check for the whole run, shared by every workspace.
        with self._lock:
            if self._command is None:
                try:
                    self._command = auto.PulumiCommand()
                except (auto.errors.InvalidVersionError, OSError, subprocess.CalledProcessError) as exc:
                    raise SetupError(f"the pulumi CLI cannot be used: {exc}") from None
            return self._command

    def _env(self, with_token: bool) -> dict[str, str]:
        return {
            # Program folders run with this interpreter, the one clusterctl-py is installed in
            # (pulumi/pulumi sdk/python/toolchain/pip.go CommandPath).
            "PULUMI_PYTHON_CMD": sys.executable,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # Overrides an exported token for stacks that must not have it.
            "HCLOUD_TOKEN": self._token if with_token else "",
        }

    def _options(self, run: StackRun):
        from clusterctl_py.programs import program_file

        work_dir = self._state_dir() / "stacks" / run.org / run.project / run.stack
        work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings = auto.ProjectSettings(
            name=run.project,
            runtime="python",  # no virtualenv option: PULUMI_PYTHON_CMD decides
            main=str(program_file(run.program)),
            description=f"clusterctl-py {run.program} stack (written by clusterctl-py; edits are overwritten)",
        )
        return str(work_dir), auto.LocalWorkspaceOptions(
            project_settings=settings,
            env_vars=self._env(run.hcloud_token),
            pulumi_command=self._pulumi(),
        )

    def _stack(self, run: StackRun, open_stack=auto.select_stack):
        """The stack through `open_stack`: select_stack (never creates), create_stack or create_or_select_stack."""
        work_dir, opts = self._options(run)
        return open_stack(stack_name=run.name, work_dir=work_dir, opts=opts)

    def _set_config(self, stack, run: StackRun) -> None:
        # Plain values only (paths and stack names): secrets never go through here.
        stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in run.config.items()})

    # -- StackEngine -----------------------------------------------------------

    def organization(self, given: str | None) -> str:
        ws = auto.LocalWorkspace(
            work_dir=str(self._state_dir()), env_vars=self._env(False), pulumi_command=self._pulumi()
        )
        try:
            who = ws.who_am_i()
        except auto.errors.CommandError as exc:
            raise SetupError(
                f"pulumi is not logged in to a backend ({command_error(exc)}); "
                "run `pulumi login` (Pulumi Cloud) or `pulumi login --local` (state on this machine)"
            ) from None
        if is_diy_backend(who.url):
            if given and given != DIY_ORGANIZATION:
                raise SetupError(
                    f"--org: {given!r} is not possible with the self-managed backend {who.url}, "
                    f"whose stacks all live in the organisation {DIY_ORGANIZATION!r}; drop --org"
                )
            return DIY_ORGANIZATION
        if given:
            return given
        if os.environ.get("PULUMI_DEFAULT_ORGANIZATION"):
            return os.environ["PULUMI_DEFAULT_ORGANIZATION"]
        try:
            if hasattr(ws, "org_get_default"):
                default = ws.org_get_default()
            else:  # SDKs before `org_get_default`: the same CLI command
                default = ws._run_pulumi_cmd_sync(["org", "get-default"]).stdout.strip()
        except auto.errors.CommandError:
            default = ""
        if default and default != NO_DEFAULT_ORG:
            return default
        return who.user

    def exists(self, run: StackRun) -> bool:
        try:
            self._stack(run)
        except auto.errors.StackNotFoundError:
            return False
        except auto.errors.CommandError as exc:
            raise command_error(exc) from None
        return True

    def up(self, run: StackRun, on_event: EventCallback) -> dict[str, Any]:
        collector = _Collector(on_event)
        try:
            stack = self._stack(run, auto.create_or_select_stack)
            self._set_config(stack, run)
            result = stack.up(on_event=collector)
        except auto.errors.CommandError as exc:
            raise collector.error(exc) from None
        return {k: SECRET if v.secret else v.value for k, v in result.outputs.items()}

    def preview(self, run: StackRun, on_event: EventCallback) -> dict[str, int]:
        collector = _Collector(on_event)
        try:
            try:
                stack = self._stack(run)
            except auto.errors.StackNotFoundError:
                stack = self._stack(run, auto.create_stack)
                try:
                    return self._preview(stack, run, collector)
                finally:
                    self._remove_preview_stack(stack, run)
            return self._preview(stack, run, collector)
        except auto.errors.CommandError as exc:
            raise collector.error(exc) from None

    def _preview(self, stack, run: StackRun, collector: _Collector) -> dict[str, int]:
        self._set_config(stack, run)
        # A summary event whose `resourceChanges` is null reads as no changes, not as a crash.
        return dict(stack.preview(on_event=collector).change_summary or {})

    def _remove_preview_stack(self, stack, run: StackRun) -> None:
        # Created only to preview: an empty stack, removed with its config file.
        try:
            stack.workspace.remove_stack(run.name)
        except auto.errors.CommandError as exc:
            raise EngineError(f"could not remove the stack {run.name} created for the preview: {command_error(exc)}") from None

    def destroy(self, run: StackRun, on_event: EventCallback) -> None:
        collector = _Collector(on_event)
        try:
            self._stack(run).destroy(on_event=collector)
        except auto.errors.StackNotFoundError:
            raise StackMissing(f"nothing to destroy for {run.stack}: there is no stack {run.name}") from None
        except auto.errors.CommandError as exc:
            raise collector.error(exc) from None


    def outputs(self, run: StackRun) -> dict[str, Any]:
        try:
            stack = self._stack(run)  # select_stack: never creates
            return {k: v.value for k, v in stack.outputs().items()}
        except auto.errors.StackNotFoundError:
            raise StackMissing(f"there is no stack {run.name}") from None
        except auto.errors.CommandError as exc:
            raise command_error(exc) from None


def default_engine(hcloud_token: str) -> StackEngine:
    return PulumiAutomationEngine(hcloud_token)
