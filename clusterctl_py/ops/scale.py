"""A pool's autoscaler bounds, changed in platform.yaml (pure apart from reading the file).

Only `min` and `max` change: they become the MachineDeployments'
cluster-autoscaler min/max-size annotations, while `spec.replicas` stays
the autoscaler's. Whether the new bounds are allowed is the spec's and the
provider's decision (min <= max, the per-pool cap, the private network's
capacity, spread-group names), made when the edited file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clusterctl_py import spec as spec_mod, spec_edit
from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.spec import PlatformSpec, PoolSpec


@dataclass(frozen=True)
class ScaleChange:
    cluster: str
    pool: str
    before: PoolSpec
    after: PoolSpec
    edited: spec_edit.Edited
    groups_before: tuple[str, ...]
    groups_after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.edited.changed

    def summary(self) -> str:
        def bound(name: str) -> str:
            old, new = getattr(self.before, name), getattr(self.after, name)
            return f"{name} {old}" if old == new else f"{name} {old} -> {new}"

        text = f"{self.cluster}/{self.pool}: {bound('min')}, {bound('max')}"
        if self.groups_after != self.groups_before:
            text += f"; node groups (MachineDeployments) {', '.join(self.groups_before)} -> {', '.join(self.groups_after)}"
        return text


def _pool(spec: PlatformSpec, cluster: str, pool: str) -> PoolSpec:
    c = spec.cluster(cluster)  # SpecError naming the defined clusters
    for p in c.pools:
        if p.name == pool:
            return p
    raise SpecError([Problem("POOL", f"cluster '{cluster}' has no pool named '{pool}'; its pools: {', '.join(p.name for p in c.pools)}")])


def _groups(spec: PlatformSpec, cluster: str, pool: PoolSpec) -> tuple[str, ...]:
    c = spec.cluster(cluster)
    return tuple(pool.name + g.suffix for g in spec.provider.node_groups(c, pool))


def prepare(file: Path, cluster: str, pool: str, min_: int | None, max_: int | None) -> ScaleChange:
    """The edit of `file` that sets the bounds, validated; nothing is written."""
    if min_ is None and max_ is None:
        raise SpecError([Problem("--min/--max", "nothing to change: give --min, --max or both")])
    current = spec_mod.load(file)
    before = _pool(current, cluster, pool)
    base = f"clusters[name={cluster}].pools[name={pool}]"
    edits = []
    if min_ is not None and min_ != before.min:
        edits.append(spec_edit.Edit(f"{base}.min", min_, before="max"))
    if max_ is not None and max_ != before.max:
        edits.append(spec_edit.Edit(f"{base}.max", max_))
    edited = spec_edit.prepare(file, edits)
    after = _pool(edited.spec, cluster, pool)
    return ScaleChange(
        cluster, pool, before, after, edited, _groups(current, cluster, before), _groups(edited.spec, cluster, after)
    )
