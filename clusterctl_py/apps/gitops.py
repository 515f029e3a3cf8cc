"""`app deploy --gitops DIR`: the same objects as files in a Flux-watched checkout, instead of API calls.

`DIR/<namespace>/<name>/` holds one file per object and a `kustomization.yaml`
listing them. Flux's kustomize-controller applies a path that has no
kustomization.yaml of its own by generating one over every manifest and
kustomization below it, so a Flux `Kustomization` (or FluxInstance
`spec.sync.path`) pointing at DIR or above picks each app up.

Secrets never go to git in plain text: `--secret-env` with `--gitops` is refused.
Nothing is committed or pushed: that stays the user's step (and review).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from clusterctl_py.apps import knative
from clusterctl_py.errors import ClusterctlError, Problem, SpecError
from clusterctl_py.render import app as render
from clusterctl_py.render.app import AppRequest
from clusterctl_py.render.yaml import dump

KUSTOMIZATION = "kustomization.yaml"
_FILE = {"Service": "service.yaml", "Cluster": "database.yaml", "Secret": "secret.yaml"}


def refuse_secrets(secret_env: list[str]) -> None:
    if secret_env:
        raise SpecError([Problem("--secret-env", "is not written to git in plain text, so it cannot go with --gitops: create the "
                                                 "Secret in the cluster yourself (or encrypt it with SOPS for Flux) and read it "
                                                 "with --env-from-secret NAME, or deploy without --gitops")])


def folder(root: Path, namespace: str, name: str) -> Path:
    return root / namespace / name


def kustomization(files: list[str]) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files}


def files(req: AppRequest) -> dict[str, str]:
    """File name -> text, for the app's folder."""
    if req.secret_env:  # app_request lets them through; the CLI refuses them first
        refuse_secrets(["..."])
    out = {_FILE[o["kind"]]: dump(o) for o in render.render(req)}
    out[KUSTOMIZATION] = dump(kustomization(sorted(out)))
    return out


def write(root: Path, req: AppRequest) -> list[Path]:
    """Write (or rewrite) the app's folder; files of ours that are no longer rendered go. The paths written."""
    target = folder(root, req.namespace, req.name)
    if not root.is_dir():
        raise SpecError([Problem("--gitops", f"{root}: no such directory (the checkout Flux watches)")])
    _check_ours(target, req.name)
    wanted = files(req)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in wanted.items():
        path = target / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    for name in _FILE.values():
        if name not in wanted and (target / name).is_file():
            (target / name).unlink()
            written.append(target / name)
    return written


def remove(root: Path, namespace: str, name: str, *, keep_database: bool) -> list[Path]:
    """Delete the app's files (the database's too unless `keep_database`). The paths removed."""
    target = folder(root, namespace, name)
    if not target.is_dir():
        return []
    _check_ours(target, name)
    keep = {_FILE["Cluster"]} if keep_database and (target / _FILE["Cluster"]).is_file() else set()
    removed = []
    for file in sorted(_FILE.values()):
        path = target / file
        if path.is_file() and file not in keep:
            path.unlink()
            removed.append(path)
    if keep:
        (target / KUSTOMIZATION).write_text(dump(kustomization(sorted(keep))), encoding="utf-8")
    else:
        (target / KUSTOMIZATION).unlink(missing_ok=True)
        removed.append(target / KUSTOMIZATION)
        if not any(target.iterdir()):
            target.rmdir()
    return removed


def _check_ours(target: Path, name: str) -> None:
    """Files in the app's folder must be ours for this app: never overwrite or delete someone else's."""
    import yaml

    for file in _FILE.values():
        path = target / file
        if not path.is_file():
            continue
        try:
            obj = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            obj = None
        if not isinstance(obj, Mapping) or not knative.ours(obj, name):
            raise ClusterctlError(f"{path} is not a manifest clusterctl-py wrote for app {name}; it is left alone")
