"""Engine events -> progress lines, one stream per stack.

While one stack runs on a terminal, its line is redrawn in place. Elsewhere
(CI logs), and whenever stacks run side by side, every line is printed and
starts with the stack's name, so interleaved lines stay readable. Only
resource types, names, operations and Pulumi's error messages are shown:
never inputs or outputs, so no secret can leak through here.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from clusterctl_py.ops.engine import error_diagnostic, split_urn

_SKIPPED_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


class Progress:
    def __init__(
        self,
        position: int,
        total: int,
        stack: str,
        action: str,
        out: TextIO | None = None,
        tty: bool | None = None,
        *,
        redraw: bool | None = None,
        lock: threading.Lock | None = None,
    ):
        self.out = out or sys.stderr
        tty = self.out.isatty() if tty is None else tty
        # Redrawing one line only works while no other stack writes.
        self.redraw = tty if redraw is None else (redraw and tty)
        self.lock = lock or threading.Lock()
        self.prefix = f"[{position}/{total}] {stack}"
        self.action = action
        self.started = time.monotonic()
        self.seen: set[str] = set()
        self.done: set[str] = set()
        self.current = "starting"

    def elapsed(self) -> str:
        s = int(time.monotonic() - self.started)
        return f"{s // 60:02d}:{s % 60:02d}"

    def line(self) -> str:
        return f"{self.prefix}: {len(self.done)}/{len(self.seen)} resources, {self.current}, {self.elapsed()} elapsed"

    def _emit(self, text: str, final: bool = False) -> None:
        with self.lock:
            if self.redraw:
                self.out.write("\r\033[K" + text + ("\n" if final else ""))
            else:
                self.out.write(text + "\n")
            self.out.flush()

    def note(self, text: str) -> None:
        """A line of its own, e.g. why a stack is not run."""
        self._emit(f"{self.prefix}: {text}", final=True)

    def __call__(self, event: Any) -> None:
        pre = event.resource_pre_event
        outputs = event.res_outputs_event
        failed = event.res_op_failed_event
        diagnostic = error_diagnostic(event)
        if pre is not None and not pre.metadata.type.startswith(_SKIPPED_TYPES):
            meta = pre.metadata
            self.seen.add(meta.urn)
            self.current = f"{meta.op.value} {meta.type} {split_urn(meta.urn)[1]}"
            if self.redraw:
                self._emit(self.line())
        elif outputs is not None and outputs.metadata.urn in self.seen:
            self.done.add(outputs.metadata.urn)
            self._emit(self.line())
        elif failed is not None:
            self._emit(f"{self.prefix}: failed: {failed.metadata.type} {split_urn(failed.metadata.urn)[1]}", final=True)
        elif diagnostic is not None:
            where = f" {split_urn(diagnostic.urn)[1]}" if diagnostic.resource else ""
            for text in diagnostic.message.splitlines():
                self._emit(f"{self.prefix}: error{where}: {text}", final=True)

    def finish(self, ok: bool) -> None:
        self._emit(f"{self.prefix}: {self.action} {'done' if ok else 'failed'}: {len(self.done)}/{len(self.seen)} resources in {self.elapsed()}", final=True)
