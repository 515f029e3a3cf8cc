"""Pulumi stack config -> the same validated PlatformSpec as platform.yaml.

Each top-level key of the spec is one structured config key in the
`clusterctl` namespace (`clusterctl:hetzner`, `clusterctl:clusters`, ...);
`clusterctl:platformFile` may point at a platform.yaml instead, and keys set
in config override that file's top-level keys. Stack-specific keys (which
cluster a stack deploys, which stacks it references) are declared by each
stack; anything else in the namespace is an error, like an unknown YAML key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import Problem, SpecError

NAMESPACE = "clusterctl"
PLATFORM_FILE = "platformFile"


def _raw_config() -> dict[str, Any]:
    # Pulumi keeps config as "namespace:key" -> string (JSON for objects).
    from pulumi.runtime import config as runtime_config

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    prefix = NAMESPACE + ":"
    return {k[len(prefix):]: v for k, v in merged.items() if k.startswith(prefix)}


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load(stack_keys: Iterable[str] = (), base_dir: str | Path = ".") -> tuple[spec_mod.PlatformSpec, dict[str, Any]]:
    """Return the validated spec and the stack-specific settings.

    Raises SpecError naming the `clusterctl:<key>` at fault, so `pulumi
    preview` fails with the same message the CLI prints.
    """
    raw = {k: _decode(v) for k, v in _raw_config().items()}
    stack_keys = set(stack_keys)
    spec_keys = {f.alias or n for n, f in spec_mod.PlatformSpec.model_fields.items()}
    stack_settings = {k: raw.pop(k) for k in list(raw) if k in stack_keys}

    data: dict[str, Any] = {}
    source = "Pulumi config"
    if PLATFORM_FILE in raw:
        path = Path(base_dir) / str(raw.pop(PLATFORM_FILE))
        loaded = spec_mod.load(path)  # validates the file on its own first
        data = loaded.model_dump(by_alias=True, exclude_unset=True)
        source = f"Pulumi config + {path}"
    unknown = sorted(set(raw) - spec_keys)
    if unknown:
        allowed = ", ".join(f"{NAMESPACE}:{k}" for k in sorted(spec_keys | stack_keys | {PLATFORM_FILE}))
        raise SpecError(
            [Problem(f"{NAMESPACE}:{k}", f"unknown config key; allowed: {allowed}") for k in unknown], source
        )
    data.update(raw)
    try:
        spec = spec_mod.parse(data)
    except SpecError as err:
        problems = [Problem(f"{NAMESPACE}:{p.path}" if p.path else NAMESPACE, p.message) for p in err.problems]
        raise SpecError(problems, source) from None
    return spec, stack_settings


def load_cluster(
    stack: str, stack_keys: Iterable[str], base_dir: str | Path = "."
) -> tuple[spec_mod.PlatformSpec, dict[str, Any], spec_mod.ClusterSpec]:
    """`load` for a stack of one workload cluster: every key of `stack_keys`
    is required, and `clusterctl:cluster` must name a cluster of the spec."""
    stack_keys = list(stack_keys)
    spec, settings = load(stack_keys=stack_keys, base_dir=base_dir)
    missing = [k for k in stack_keys if not settings.get(k)]
    if missing:
        raise SpecError([Problem(f"{NAMESPACE}:{k}", f"required for the {stack} stack but not set") for k in missing])
    try:
        cluster = spec.cluster(str(settings["cluster"]))
    except SpecError as err:
        raise SpecError([Problem(f"{NAMESPACE}:cluster", p.message) for p in err.problems], "Pulumi config") from None
    return spec, settings, cluster
