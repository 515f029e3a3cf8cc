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
Protocol; `plan_migrations()` decides, without I/O. `before_capi_up()` is what
`up` runs right before the capi stack: the new release's CRDs (every file
the stack applies CRDs from, at the pinned versions) against the management
cluster's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

import yaml

from clusterctl_py import versions
from clusterctl_py.clients.errors import Conflict, NotFound
from clusterctl_py.clients.kube import Crd, KubeClient, Kubeconfig, ListedObject, crd_from_object
from clusterctl_py.errors import ClusterctlError
from clusterctl_py.fetch import FetchError, fetch_text
from clusterctl_py.render import capi_components as cc
from clusterctl_py.render import k3s_upgrade as suc

if TYPE_CHECKING:
    from clusterctl_py.ops.engine import StackEngine
    from clusterctl_py.ops.plan import StackRun

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


def installed_crds(api: CrdMigrationApi) -> list[Crd]:
    try:
        return list(api.list_crds())
    except ClusterctlError as e:
        raise CrdMigrationError(f"crd migration: cannot read the installed CRDs: {e}; no CRD of the new release was applied") from e


def migrate(
    api: CrdMigrationApi,
    new: Iterable[Crd],
    progress: Callable[[str], None] = _stderr,
    *,
    installed: Iterable[Crd] | None = None,
) -> list[Migration]:
    """Migrate every installed CRD the new release needs migrated; return what was done.

    `installed` is the CRD list when the caller has read it already (else it is
    read here). Stops at the first kind that fails, with an error naming it; the
    kinds after it are left alone, and the caller applies nothing. Running it
    again resumes: finished kinds already read `storedVersions == [storage]`,
    and rewriting an object twice does no harm.
    """
    new = list(new)
    current = {c.name: c for c in (installed_crds(api) if installed is None else installed)}
    migrations = plan_migrations(current.values(), new)
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
            api.set_stored_versions(current[m.crd], [m.storage])
            progress(f"crd migration {index + 1}/{len(migrations)}: {m.kind}: done, storedVersions [{m.storage}]")
        except ClusterctlError as e:
            after = [x.kind for x in migrations[index + 1 :]]
            rest = f"; not migrated: {', '.join(after)}" if after else ""
            # One line: `up` reports it as the reason the capi stack failed.
            raise CrdMigrationError(
                f"crd migration of {m.kind} ({m.crd}) failed: {e}{rest}; no CRD of the new release was applied, running it again resumes"
            ) from e
    return migrations


# --------------------------------------------------------------------------- before the capi stack's `up`

# cert-manager's CRDs as a release asset: `helm template` of the chart with
# crds.enabled=true, the CRDs extracted (cert-manager/cert-manager
# make/manifests.mk, target cert-manager.crds.yaml), so the same CRDs the capi
# stack installs through the chart (components/capi.py).
CERT_MANAGER_REPO = "cert-manager/cert-manager"
CERT_MANAGER_CRDS = "cert-manager.crds.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the core components file is megabytes of YAML


def release_crd_sources(base_url: str | None = None) -> list[tuple[str, bool]]:
    """(URL, is a components file) of every file the capi stack's CRDs come from, at the pinned versions.

    The stack fetches the same URLs (components/capi.py ClusterApi, components/k3s_upgrade.py),
    except cert-manager's, whose chart it installs; `base_url` replaces https://github.com.
    """
    github = (base_url or cc.GITHUB).rstrip("/")
    return [
        *((p.components_url(base_url), True) for p in cc.PROVIDERS),
        (cc.inventory_crd_url(base_url), False),
        (suc.asset_url(suc.CRD_ASSET, base_url), False),
        (f"{github}/{CERT_MANAGER_REPO}/releases/download/{versions.CERT_MANAGER}/{CERT_MANAGER_CRDS}", False),
    ]


def release_crds(fetch: Callable[[str], str] = fetch_text, base_url: str | None = None) -> list[Crd]:
    """The CRDs the capi stack's next `up` applies (fetched once, then read from the cache)."""
    found: list[Crd] = []
    for url, components in release_crd_sources(base_url):
        try:
            text = fetch(url)
            if components:
                # Substituted as the stack applies it (components/capi.py provider_documents).
                text = cc.envsubst(text, {}, source=url)
            found += crds_in(yaml.load_all(text, Loader=_LOADER))
        except (FetchError, cc.MissingVariables, yaml.YAMLError) as e:
            problem = " ".join(str(e).split())
            raise CrdMigrationError(f"crd migration: cannot read the new release's CRDs: {problem}; nothing was applied") from e
    return found


def before_capi_up(
    run: StackRun,
    engine: StackEngine,
    note: Callable[[str], None],
    *,
    fetch: Callable[[str], str] = fetch_text,
    connect: Callable[[Kubeconfig], KubeClient] = KubeClient,
) -> list[Migration]:
    """Migrate stored versions in the management cluster before the capi stack applies a release.

    Only for a capi stack that exists: on the first `up` nothing of a release is
    installed, and nothing is asked of any API. The management cluster is the one
    the capi stack itself applies to: the management stack's `kubeconfig` output
    (never KUBECONFIG, which may name another cluster). When nothing needs
    migrating this is one request, the CRD list, and prints nothing; otherwise
    `note` gets the progress lines, and a failure raises CrdMigrationError (one
    line naming the kind) so the stack is not run; so does a management API that
    cannot be reached (the stack could not apply anything either).
    """
    if run.program != "capi" or not engine.exists(run):
        return []
    management = next((need for need in run.needs if need.program == "management"), None)
    kubeconfig = engine.outputs(management).get("kubeconfig") if management is not None else None
    if not isinstance(kubeconfig, str) or not kubeconfig.strip():
        return []  # the capi program requires that output as well: it stops before applying anything
    with connect(Kubeconfig(f"stack {management.name} output kubeconfig", text=kubeconfig)) as api:
        installed = installed_crds(api)
        if not installed:
            return []  # no CRD at all: nothing stored to migrate, nothing for a release to drop
        new = release_crds(fetch, run.config.get("clusterctl:componentsBaseUrl") or None)
        return migrate(api, new, progress=note, installed=installed)
