"""Content-hashed names for immutable templates.

CAPI rolls machines only when a MachineDeployment or KubeadmControlPlane
points at a template with a new name, and CAPH forbids editing an
HCloudMachineTemplate in place. Naming each template after a hash of its
spec gives both: a changed spec is a new object and a rollout; an unchanged
spec is the same name and no diff.
"""

from __future__ import annotations

import hashlib
import json

HASH_LENGTH = 8


def spec_hash(spec: object) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def template_name(cluster: str, role: str, spec: object) -> str:
    return f"{cluster}-{role}-{spec_hash(spec)}"
