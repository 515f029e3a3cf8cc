"""Deterministic YAML for rendered objects.

Key order is the order the renderers build (kind and metadata first, the way
people read manifests); multi-line strings are literal blocks so embedded
files stay readable in review.
"""

from __future__ import annotations

from typing import Iterable

import yaml


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Plain:
    """Renderers share dicts (the same kubelet args for init and join); PyYAML
    would write the second use as an alias (`*id001`), which hides the value
    from a reader and from tools that diff manifests. Write every use out."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class _PureDumper(_Plain, yaml.SafeDumper):
    pass


# libyaml's emitter is ~10x faster; the pure-Python one gives the same bytes.
class _Dumper(_Plain, getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


for _dumper in (_PureDumper, _Dumper):
    _dumper.add_representer(str, _str)


def dump(obj: object) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def dump_all(objs: Iterable[object], header: str | None = None) -> str:
    docs = [dump(o) for o in objs]
    text = "---\n" + "---\n".join(docs)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + text
    return text
