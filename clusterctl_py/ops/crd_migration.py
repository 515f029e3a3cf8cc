"""Stored-version migration of CRDs, run before a new release's CRDs are applied.

Why: the API server refuses a CRD that drops a version still listed in its
`status.storedVersions` ("status.storedVersions[0]: Invalid value: "v1alpha4":
must appear in spec.versions", kubernetes-sigs/cluster-api#6691), because
objects may still be stored in etcd in that version. So before a release that
drops a version is applied, every object must be stored in a version the new
CRD keeps, and `storedVersions` must say so.

The rule, as clusterctl applies it (kubernetes-sigs/cluster-api
cmd/clusterctl/client/cluster/crd_migration.go, crdMigrator.run), for each CRD
of the new release that is already installed:

1. S is the installed CRD's storage version (its `spec.versions[].storage`).
   If the new CRD has no version S, nothing can be migrated: the objects can
   only be written in S until the new CRD is applied, and the new CRD cannot be
   applied while they are. The upgrade must go through a release that still
   has S (one minor at a time).
2. If `status.storedVersions == [S]`, every object is already stored in S.
3. Otherwise every object of the kind is written back unchanged (the API
   server stores what it writes in S), then `status.storedVersions` is set
   to `[S]`; only then may the new CRD be applied.

The target is the installed storage version, not the new release's: before
the new CRD is applied the API server writes nothing else, and it accepts
only `storedVersions` entries its current `spec.versions` has. After the
apply, `storedVersions` is `[S, new storage]` until the next migration
(CAPI's own controllers, since v1.10, run the same migration for their CRDs at
start: controllers/crdmigrator/crd_migrator.go; clusterctl v1.13 dropped its
provider migration for that reason but still migrates cert-manager's CRDs).
Like clusterctl, step 3 runs whenever an old version is still listed, not only
when the new release drops it: `Migration.dropped` says when it is required.

The part that talks to the API is `migrate()`, against the `CrdMigrationApi`
Protocol; `plan_migrations()` decides, without I/O.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from clusterctl_py.clients.errors import Conflict, NotFound
from clusterctl_py.clients.kube import Crd, ListedObject, crd_from_object
from clusterctl_py.errors import ClusterctlError

CRD_KIND = "CustomResourceDefinition"
# A progress line every this many rewritten objects (and one at the end).
PROGRESS_EVERY = 100


@dataclass(frozen=True, slots=True)
class Migration:
    crd: str
    group: str
    kind: str
    plural: str
    via: str  # the version objects are listed and written through
    storage: str  # the installed storage version: storedVersions becomes [storage]
    stale: tuple[str, ...]  # stored versions other than `storage`
    dropped: tuple[str, ...]  # those of `stale` the new CRD no longer has: the apply would fail without this


class CrdMigrationError(ClusterctlError):
    """A release cannot be applied: its CRDs drop a version objects are stored in, or a migration failed."""


def crds_in(documents: Iterable[Mapping[str, Any] | None]) -> list[Crd]:
    """The CRDs among a release's documents (e.g. a components file, parsed)."""
    return [crd_from_object(d) for d in documents if d and d.get("kind") == CRD_KIND]


def plan_migrations(installed: Iterable[Crd], new: Iterable[Crd]) -> list[Migration]:
    """The migrations to run before `new` is applied, in the order of `new`.

    Raises CrdMigrationError, one line per CRD, when a CRD cannot be migrated;
    then nothing may be written.
    """
    current = {c.name: c for c in installed}
    migrations: list[Migration] = []
    problems: list[str] = []
    for crd in new:
        old = current.get(crd.name)
        if old is None:
            continue  # a new kind: nothing stored yet
        storage = old.storage
        if storage is None:
            problems.append(f"{crd.name}: the installed CRD has no storage version")
            continue
        keeps = {v.name for v in crd.versions}
        if storage not in keeps:
            problems.append(
                f"{crd.name}: {old.kind} objects are stored as {storage}, which the new release no longer has"
                f" (it has {', '.join(sorted(keeps))}); upgrade through a release that still has {storage} first"
            )
            continue
        if old.stored_versions == (storage,):
            continue
        served = [v.name for v in old.versions if v.served]
        if not served:
            problems.append(f"{crd.name}: the installed CRD serves no version to rewrite {old.kind} objects through")
            continue
        stale = tuple(v for v in old.stored_versions if v != storage)
        migrations.append(
            Migration(
                crd=crd.name,
                group=old.group,
                kind=old.kind,
                plural=old.plural,
                # Any served version writes in the storage version; clusterctl uses the storage one.
                via=storage if storage in served else served[0],
                storage=storage,
                stale=stale,
                dropped=tuple(v for v in stale if v not in keeps),
            )
        )
    if problems:
        raise CrdMigrationError("\n".join(problems))
    return migrations


class CrdMigrationApi(Protocol):
    """The Kubernetes API calls the migration makes (the kube client implements them).

    Errors are the client's (clusterctl_py.clients.errors); `rewrite` raises
    NotFound for an object deleted since the list and Conflict for one written
    since: either is already stored in the storage version, or gone.
    """

    def list_crds(self) -> Sequence[Crd]:
        """Every installed CRD with its status (one list request)."""
        ...

    def list_objects(self, group: str, version: str, plural: str) -> Sequence[ListedObject]:
        """Every object of the kind in every namespace (pages followed)."""
        ...

    def rewrite(self, group: str, version: str, plural: str, obj: ListedObject) -> None:
        """Write the object back unchanged, guarded by `obj.resource_version`
        (clusterctl: an update of the object as listed)."""
        ...

    def set_stored_versions(self, crd: Crd, stored_versions: Sequence[str]) -> None:
        """Set `status.storedVersions` through the status subresource, guarded by `crd.resource_version`."""
        ...


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def migrate(api: CrdMigrationApi, new: Iterable[Crd], progress: Callable[[str], None] = _stderr) -> list[Migration]:
    """Migrate every installed CRD the new release needs migrated; return what was done.

    Stops at the first kind that fails, with an error naming it; the kinds
    after it are left alone, and the caller applies nothing. Running it again
    resumes: finished kinds already read `storedVersions == [storage]`, and
    rewriting an object twice does no harm.
    """
    new = list(new)
    try:
        installed = {c.name: c for c in api.list_crds()}
    except ClusterctlError as e:
        raise CrdMigrationError(f"crd migration: cannot read the installed CRDs: {e}; no CRD of the new release was applied") from e
    migrations = plan_migrations(installed.values(), new)
    for index, m in enumerate(migrations):
        try:
            refs = api.list_objects(m.group, m.via, m.plural)
            why = f"; the new release drops {', '.join(m.dropped)}" if m.dropped else ""
            progress(f"crd migration {index + 1}/{len(migrations)}: {m.kind} ({m.crd}): rewriting {len(refs)} object(s) stored as {', '.join(m.stale)} into {m.storage}{why}")
            for count, ref in enumerate(refs, 1):
                try:
                    api.rewrite(m.group, m.via, m.plural, ref)
                except (NotFound, Conflict):
                    pass  # gone, or written since the list (clusterctl: handleMigrateErr)
                if count % PROGRESS_EVERY == 0 and count < len(refs):
                    progress(f"crd migration {index + 1}/{len(migrations)}: {m.kind}: {count}/{len(refs)} objects")
            api.set_stored_versions(installed[m.crd], [m.storage])
            progress(f"crd migration {index + 1}/{len(migrations)}: {m.kind}: done, storedVersions [{m.storage}]")
        except ClusterctlError as e:
            after = [x.kind for x in migrations[index + 1 :]]
            rest = f"; not migrated: {', '.join(after)}" if after else ""
            # One line: `up` reports it as the reason the capi stack failed.
            raise CrdMigrationError(
                f"crd migration of {m.kind} ({m.crd}) failed: {e}{rest}; no CRD of the new release was applied, running it again resumes"
            ) from e
    return migrations
