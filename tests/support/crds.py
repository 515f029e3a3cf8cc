"""Offline validation of rendered objects against upstream CRD schemas.

kubectl applies with strict field validation, so a misspelled field fails
on a real cluster; this module makes it fail in the test suite first. CRD
schemas are OpenAPI 3.0 (structural); they are mapped to JSON Schema Draft 4:
`nullable` allows null, `x-kubernetes-int-or-string` allows int or string,
`x-kubernetes-preserve-unknown-fields` keeps an object open, and every other
object with `properties` rejects unknown keys. CEL rules
(`x-kubernetes-validations`) are not evaluated.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
ENV = "CLUSTERCTL_PY_REFERENCE"

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")

_METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}

_BUILTIN: dict[tuple[str, str], dict] = {
    ("v1", "Namespace"): {"type": "object", "properties": {"spec": {"type": "object"}}},
    ("v1", "Secret"): {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "immutable": {"type": "boolean"},
            "data": {
                "type": "object",
                "additionalProperties": {"type": "string", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"},
            },
            "stringData": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    ("v1", "ConfigMap"): {
        "type": "object",
        "properties": {
            "data": {"type": "object", "additionalProperties": {"type": "string"}},
            "binaryData": {"type": "object", "additionalProperties": {"type": "string"}},
            "immutable": {"type": "boolean"},
        },
    },
}


def reference_dir() -> Path | None:
    """The `reference` folder (holding `crds/`): $CLUSTERCTL_PY_REFERENCE or ../shared/reference."""
    env = os.environ.get(ENV)
    path = Path(env) if env else REPO.parent / "shared" / "reference"
    return path if path.is_dir() else None


def require_reference(*subdirs: str) -> Path:
    import pytest

    root = reference_dir()
    if root is None:
        where = os.environ.get(ENV) or str(REPO.parent / "shared" / "reference")
        pytest.skip(f"upstream CRDs not found at {where}; set {ENV} to a folder holding crds/")
    for sub in subdirs:
        if not (root / "crds" / sub).is_dir():
            pytest.skip(f"upstream CRDs for {sub} not found under {root / 'crds'}")
    return root


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "format"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **{k: v for k, v in out.items() if k != "anyOf"}}
    if node.get("nullable"):
        out.pop("nullable", None)
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
    if node.get("type") == "object" and "additionalProperties" not in node:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            pass
        elif "properties" in node:
            out["additionalProperties"] = False
    return out


class CrdCatalog:
    """Validators by (apiVersion, kind), for served versions only."""

    def __init__(self, validators: dict[tuple[str, str], jsonschema.Draft4Validator], served: dict[str, set[str]],
                 deprecated: set[tuple[str, str]]):
        self._validators = validators
        self._served = served  # "group/Kind" -> served versions
        self.deprecated = deprecated

    @classmethod
    def load(cls, root: Path, subdirs: Iterable[str]) -> "CrdCatalog":
        return _load(str(Path(root) / "crds" if (Path(root) / "crds").is_dir() else root), tuple(subdirs))

    def validate(self, obj: dict) -> list[str]:
        api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        name = (obj.get("metadata") or {}).get("name", "?")
        who = f"{kind}/{name}"
        errors = [f"{who} metadata{_path(e)}: {e.message}" for e in _META_VALIDATOR.iter_errors(obj.get("metadata") or {})]
        errors += [f"{who} metadata.labels: {m}" for m in _label_problems((obj.get("metadata") or {}).get("labels") or {})]
        validator = self._validators.get((api, kind))
        if validator is None:
            group = api.rpartition("/")[0]
            versions = self._served.get(f"{group}/{kind}")
            if versions:
                return errors + [f"{who}: apiVersion {api} is not served (served: {', '.join(sorted(versions))})"]
            return errors + [f"{who}: no schema for {api} {kind}"]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            if err.validator == "additionalProperties" and err.validator_value is False:
                extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
                for key in extra:
                    errors.append(f"{who} {_dotted(list(err.absolute_path) + [key])}: unknown field")
            else:
                errors.append(f"{who} {_dotted(list(err.absolute_path))}: {err.message}")
        return errors

    def assert_valid(self, objs: Iterable[dict]) -> None:
        problems = [m for obj in objs for m in self.validate(obj)]
        assert not problems, "objects do not validate:\n" + "\n".join(problems)


def _dotted(parts: list) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


def _path(err) -> str:
    d = _dotted(list(err.absolute_path))
    return "" if d == "<root>" else "." + d


def _label_problems(labels: dict) -> list[str]:
    out = []
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not (0 < len(name) <= 63 and _LABEL_NAME.match(name)) or (prefix and not re.match(_DNS_SUBDOMAIN, prefix)):
            out.append(f"invalid label key {key!r}")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            out.append(f"invalid label value {value!r} for {key!r}")
    return out


_META_VALIDATOR = jsonschema.Draft4Validator(_METADATA)


@lru_cache(maxsize=None)
def _load(crds_root: str, subdirs: tuple[str, ...]) -> CrdCatalog:
    validators: dict[tuple[str, str], jsonschema.Draft4Validator] = {}
    served: dict[str, set[str]] = {}
    deprecated: set[tuple[str, str]] = set()
    for key, schema in _BUILTIN.items():
        validators[key] = jsonschema.Draft4Validator(schema)
    for sub in subdirs:
        folder = Path(crds_root) / sub
        if not folder.is_dir():
            raise FileNotFoundError(f"no CRD folder {folder}")
        for path in sorted(folder.rglob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
                for version in doc["spec"]["versions"]:
                    if not version.get("served", False):
                        continue
                    api = f"{group}/{version['name']}"
                    served.setdefault(f"{group}/{kind}", set()).add(version["name"])
                    if version.get("deprecated"):
                        deprecated.add((api, kind))
                    schema = dict(version["schema"]["openAPIV3Schema"])
                    props = {k: v for k, v in schema.get("properties", {}).items() if k not in ("apiVersion", "kind", "metadata")}
                    schema = {**schema, "properties": props}
                    schema.pop("required", None) if "metadata" in (schema.get("required") or []) else None
                    validators[(api, kind)] = jsonschema.Draft4Validator(_convert(schema))
    return CrdCatalog(validators, served, deprecated)
