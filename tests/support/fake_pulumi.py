"""A stand-in for the `pulumi` CLI, for tests of the Automation API engine.

It answers the commands the Automation API for Python sends (read from
pulumi/automation/_local_workspace.py and _stack.py): `version`, `whoami
--json`, `org get-default`, `stack select|init|rm|output|history`,
`config set-all`, and `up`/`preview`/`destroy`, which write engine events
to the `--event-log` target (a file, or `tcp://` for the gRPC event stream
of CLIs newer than 3.205) the way the real engine does. Nothing is
deployed: stacks are entries in a JSON file.

Every call is appended to calls.jsonl with its argv, working directory and
what the environment held. Environment values that may be secret are
recorded only as SHA-256 digests, so the record itself never holds a token.

Driven by $FAKE_PULUMI_DIR/scenario.json (see `FakePulumi` in
tests/test_engine.py): backend URL, user, default organisation, the
outputs each project exports, which stacks fail and with what diagnostic,
which commands the backend refuses, and which runs of the CLI crash.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HOME = Path(os.environ["FAKE_PULUMI_DIR"])
SECRET_ENV = ("HCLOUD_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN")
PLAIN_ENV = ("PULUMI_PYTHON_CMD", "PULUMI_DEFAULT_ORGANIZATION", "PULUMI_HOME")


def scenario() -> dict:
    path = HOME / "scenario.json"
    return json.loads(path.read_text()) if path.exists() else {}


@contextmanager
def locked():
    with open(HOME / "lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_stacks() -> dict:
    path = HOME / "stacks.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save_stacks(stacks: dict) -> None:
    (HOME / "stacks.json").write_text(json.dumps(stacks, indent=1, sort_keys=True))


def record(argv: list[str]) -> None:
    env = {}
    for key in SECRET_ENV:
        value = os.environ.get(key)
        env[key] = None if value is None else ("" if value == "" else "sha256:" + hashlib.sha256(value.encode()).hexdigest())
    for key in PLAIN_ENV:
        env[key] = os.environ.get(key)
    line = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": env}) + "\n"
    with locked(), open(HOME / "calls.jsonl", "a") as fh:
        fh.write(line)


def fail(message: str, code: int = 255) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


def option(argv: list[str], name: str) -> str | None:
    if name in argv:
        return argv[argv.index(name) + 1]
    return None


def words(argv: list[str]) -> list[str]:
    """The command words, without flags and their values."""
    out, skip = [], False
    takes_value = {"--stack", "--event-log", "--exec-kind", "--color", "--secrets-provider", "--page-size", "--page",
                   "--plaintext", "--secret", "--parallel", "--client", "--message"}
    for arg in argv:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def is_diy() -> bool:
    return not scenario().get("backend", "https://api.pulumi.com").startswith(("https://", "http://"))


def project_here() -> dict:
    import yaml

    path = Path("Pulumi.yaml")
    if not path.exists():
        fail("no Pulumi.yaml project file found")
    return yaml.safe_load(path.read_text())


def stack_name(name: str) -> tuple[str, str]:
    """(qualified name, short name); checks the parts the real CLI checks."""
    parts = name.split("/")
    if len(parts) == 3:
        org, project, short = parts
        if is_diy() and org != "organization":
            fail(f"stack names for the DIY backend must use 'organization' as the organization, got {org!r}")
        if project != project_here()["name"]:
            fail(f"provided project name {project!r} doesn't match Pulumi.yaml")
        return name, short
    default = "organization" if is_diy() else (scenario().get("default_org") or scenario().get("user", "alice"))
    return f"{default}/{project_here()['name']}/{name}", name


def config_file(short: str) -> Path:
    return Path(f"Pulumi.{short}.yaml")


# -- engine events ------------------------------------------------------------

class Events:
    def __init__(self, target: str | None):
        self.target = target
        self.events: list[dict] = []

    def add(self, **event) -> None:
        self.events.append({"sequence": len(self.events), "timestamp": int(time.time()), **event})

    def step(self, kind: str, op: str, urn: str, typ: str) -> None:
        # The URN holds the parents' types ("parent$child"); the event's type is the resource's own.
        meta = {"op": op, "urn": urn, "type": typ.rsplit("$", 1)[-1], "provider": ""}
        if kind == "pre":
            self.add(resourcePreEvent={"metadata": meta})
        elif kind == "out":
            self.add(resOutputsEvent={"metadata": meta})
        else:
            self.add(resOpFailedEvent={"metadata": meta, "status": 1, "steps": 1})

    def diag(self, urn: str, message: str) -> None:
        self.add(diagnosticEvent={"urn": urn, "prefix": "error: ", "message": f"<{{%reset%}}>{message}<{{%reset%}}>\n",
                                  "color": "raw", "severity": "error"})

    def flush(self) -> None:
        self.add(cancelEvent={})
        if not self.target:
            return
        lines = [json.dumps(e) for e in self.events]
        if self.target.startswith("tcp://"):
            import grpc
            from pulumi.runtime.proto import events_pb2, events_pb2_grpc

            with grpc.insecure_channel(self.target[len("tcp://"):]) as channel:
                events_pb2_grpc.EventsStub(channel).StreamEvents(iter([events_pb2.EventRequest(event=line) for line in lines]))
        else:
            with open(self.target, "a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))


def check_program() -> str:
    """What the real CLI would run: the project's `main`, with PULUMI_PYTHON_CMD or python3."""
    project = project_here()
    runtime = project.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    if "virtualenv" in options:
        fail(f"Pulumi.yaml sets virtualenv {options['virtualenv']!r}")
    main = project.get("main")
    target = Path(main) if main else Path.cwd()
    if not target.is_absolute():
        target = Path.cwd() / target
    if not target.exists():
        fail(f"project 'main' could not be read: {target}")
    if scenario().get("import_programs"):
        # Load the program module (without running it) with the interpreter Pulumi would use.
        python = os.environ.get("PULUMI_PYTHON_CMD") or "python3"
        code = ("import importlib.util, sys; s = importlib.util.spec_from_file_location('program', sys.argv[1]); "
                "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); assert callable(m.main)")
        done = subprocess.run([python, "-c", code, str(target)], capture_output=True, text=True)
        if done.returncode:
            fail(f"the program {target} does not load with {python}: {done.stderr.strip().splitlines()[-1:]}")
    return str(target)


def operation(command: str, argv: list[str]) -> None:
    name, short = stack_name(option(argv, "--stack") or "")
    project = project_here()["name"]
    main = check_program()
    sc = scenario()
    with locked():
        stacks = load_stacks()
    if name not in stacks:
        fail(f"no stack named '{name}' found")
    events = Events(option(argv, "--event-log"))
    stack_urn = f"urn:pulumi:{short}::{project}::pulumi:pulumi:Stack::{project}-{short}"
    resources = [tuple(r) for r in sc.get("resources", {}).get(project, [["hcloud:index/network:Network", f"{short}-net"]])]
    deployed = bool(stacks[name].get("resources"))
    # As the real engine plans: a stack never deployed creates everything, destroy deletes
    # everything, and a stack already up keeps its resources (`same`) unless the scenario's
    # `ops` ({resource name: op}) says its inputs changed.
    op = "delete" if command == "destroy" else ("same" if deployed else "create")
    if command == "destroy" and not deployed:
        resources = []
    failure = sc.get("fail", {}).get(short)
    if failure and failure.get("on", "up") != command:
        failure = None
    changes = {}
    for typ, res in resources:
        urn = f"urn:pulumi:{short}::{project}::{typ}::{res}"
        res_op = sc.get("ops", {}).get(res, op) if op == "same" else op
        events.step("pre", res_op, urn, typ)
        if failure and failure.get("resource") == res:
            events.diag(urn, failure["message"])
            events.step("failed", res_op, urn, typ)
            continue
        events.step("out", res_op, urn, typ)
        changes[res_op] = changes.get(res_op, 0) + 1
    if failure and not failure.get("resource"):
        events.diag(stack_urn, failure["message"])
    if failure:
        events.diag(stack_urn, "update failed")
    events.add(summaryEvent={"maybeCorrupt": False, "durationSeconds": 0, "resourceChanges": changes, "PolicyPacks": {}})
    events.flush()
    with locked():
        stacks = load_stacks()
        entry = stacks.setdefault(name, {})
        entry.setdefault("ran", []).append({"command": command, "main": main})
        if command == "up" and not failure:
            entry["outputs"] = sc.get("outputs", {}).get(project, {})
            entry["resources"] = len(resources)
        if command == "destroy" and not failure:
            entry["outputs"] = {}
            entry["resources"] = 0
        save_stacks(stacks)
    if failure:
        print(f"{command.capitalize()} failed for {name}")
        fail("update failed")
    print(f"{command} of {name} done")


# A panic outside the main goroutine: Go's own report, exit code 2.
GO_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1f3c2a5]

goroutine 1 [running]:
github.com/pulumi/pulumi/pkg/v3/backend.(*cloudBackend).Update(0x0)
\t/home/runner/work/pulumi/pulumi/pkg/backend/httpstate/backend.go:1234 +0x25
"""


# A panic in the main goroutine: the CLI's handler (pulumi/pulumi pkg/cmd/pulumi/main.go panicHandler), exit code 1.
FATAL = """================================================================================
The Pulumi CLI encountered a fatal error. This is a bug!
We would appreciate a report: https://github.com/pulumi/pulumi/issues/
Please provide all of the text below in your report.
================================================================================
Pulumi Version:   v3.200.0
"""


def mishap(cmd: list[str], argv: list[str]) -> None:
    """What the scenario makes go wrong for this command and stack: `refuse` ({verb: {stack: message}},
    the backend says no), `crash` ({verb: {stack: "panic" | "fatal" | "kill"}}); stack "*" is any stack."""
    verb = " ".join(cmd[:2]) if cmd and cmd[0] in ("stack", "config", "org") else " ".join(cmd[:1])
    target = option(argv, "--stack") or (cmd[2] if len(cmd) > 2 else "")
    short = target.rsplit("/", 1)[-1]
    sc = scenario()
    for kind in ("refuse", "crash"):
        by_stack = sc.get(kind, {}).get(verb, {})
        what = by_stack.get(short) or by_stack.get("*")
        if what and kind == "refuse":
            fail(what)
        if what == "panic":
            sys.stderr.write(GO_PANIC)
            sys.exit(2)
        if what == "fatal":
            sys.stderr.write(FATAL)
            sys.exit(1)
        if what == "kill":
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    argv = [a for a in argv if a != "--non-interactive"]
    record(argv)
    sc = scenario()
    cmd = words(argv)
    mishap(cmd, argv)
    if cmd == ["version"]:
        print(sc.get("version", "3.200.0"))
    elif cmd == ["whoami"]:
        if not sc.get("logged_in", True):
            fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")
        print(json.dumps({"user": sc.get("user", "alice"), "url": sc.get("backend", "https://api.pulumi.com"),
                          "organizations": sc.get("organizations", [sc.get("user", "alice")])}))
    elif cmd == ["org", "get-default"]:
        if is_diy():
            fail('backends of this type "local" do not support organizations')
        print(sc.get("default_org") or "No Default Org Specified")
    elif cmd == ["stack", "select"]:
        name, _ = stack_name(option(argv, "--stack") or "")
        with locked():
            if name not in load_stacks():
                fail(f"no stack named '{name}' found")
    elif cmd[:2] == ["stack", "init"]:
        name, short = stack_name(cmd[2])
        with locked():
            stacks = load_stacks()
            if name in stacks:
                fail(f"stack '{name}' already exists")
            stacks[name] = {"outputs": {}, "resources": 0}
            save_stacks(stacks)
        if is_diy():
            config_file(short).write_text("encryptionsalt: v1:fakesalt\n")
    elif cmd[:2] == ["stack", "rm"]:
        name, short = stack_name(cmd[2])
        with locked():
            stacks = load_stacks()
            if name not in stacks:
                fail(f"no stack named '{name}' found")
            del stacks[name]
            save_stacks(stacks)
        if "--preserve-config" not in argv:
            config_file(short).unlink(missing_ok=True)
    elif cmd == ["config", "set-all"]:
        import yaml

        _, short = stack_name(option(argv, "--stack") or "")
        path = config_file(short)
        data = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        config = data.setdefault("config", {})
        for flag, pair in zip(argv, argv[1:]):
            if flag in ("--plaintext", "--secret"):
                key, _, value = pair.partition("=")
                config[key] = {"secure": "v1:encrypted"} if flag == "--secret" else value
        path.write_text(yaml.safe_dump(data))
    elif cmd in (["up"], ["preview"], ["destroy"]):
        operation(cmd[0], argv)
    elif cmd == ["stack", "output"]:
        name, _ = stack_name(option(argv, "--stack") or "")
        with locked():
            outputs = load_stacks().get(name, {}).get("outputs", {})
        secret = set(sc.get("secret_outputs", []))
        if "--show-secrets" not in argv:
            outputs = {k: "[secret]" if k in secret else v for k, v in outputs.items()}
        print(json.dumps(outputs))
    elif cmd == ["stack", "history"]:
        print(json.dumps([{"kind": "update", "startTime": "2026-01-01T00:00:00.000Z", "message": "", "environment": {},
                           "config": {}, "result": "succeeded", "endTime": "2026-01-01T00:00:01.000Z", "version": 1}]))
    else:
        fail(f"fake pulumi: unsupported command {' '.join(argv)}", code=2)


if __name__ == "__main__":
    main(sys.argv[1:])
