"""The one seam between clusterctl-py and Pulumi's engine.

`StackEngine` is all the CLI needs; `PulumiAutomationEngine` implements it
with the Automation API (which drives the `pulumi` CLI). Tests substitute
their own engine through `default_engine`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

EventCallback = Callable[[Any], None]


class EngineError(RuntimeError):
    pass


class StackEngine(Protocol):
    def run(
        self,
        action: str,
        work_dir: Path,
        stack: str,
        config: dict[str, str],
        secret_config: dict[str, str],
        on_event: EventCallback,
    ) -> dict[str, Any]:
        """Select or create `stack` of the project in `work_dir`, set config, run `action`; return outputs."""


class PulumiAutomationEngine:
    def run(self, action, work_dir, stack, config, secret_config, on_event):
        from pulumi import automation as auto

        try:
            s = auto.create_or_select_stack(stack_name=stack, work_dir=str(work_dir))
            values = {k: auto.ConfigValue(value=v) for k, v in config.items()}
            values.update({k: auto.ConfigValue(value=v, secret=True) for k, v in secret_config.items()})
            s.set_all_config(values)
            if action == "up":
                result = s.up(on_event=on_event)
                return {k: v.value for k, v in result.outputs.items() if not v.secret}
            if action == "preview":
                s.preview(on_event=on_event)
                return {}
            if action == "destroy":
                s.destroy(on_event=on_event)
                return {}
        except auto.errors.CommandError as exc:
            raise EngineError(str(exc).strip().splitlines()[-1] if str(exc).strip() else "pulumi failed") from None
        raise ValueError(f"unknown action {action!r}")


def default_engine() -> StackEngine:
    return PulumiAutomationEngine()
