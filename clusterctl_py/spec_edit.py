"""Change values in a platform file the way a person would: only the value changes.

`scale` and `upgrade apply` write into the user's platform.yaml, which is
reviewed, commented and kept in git. So an edit replaces the characters of
one value (or adds one `key: value` line) and leaves every other byte as it
was: comments, key order, quoting, blank lines, indentation, anchors.

Why splice text rather than dump a round-trip tree: ruamel.yaml's round trip
re-emits the whole document with one indentation setting, so a file that
indents its mappings by 4 and its lists by 2 (or aligns end-of-line comments)
comes back with lines changed that the edit never touched. PyYAML's composer
(already a dependency) gives each value's exact start and end, which is all
a splice needs.

An edit is checked before anything is written: the new text must load as a
valid spec (`spec.loads`, so a refused value fails with the spec's own
message naming the field); the file is then replaced atomically, keeping its
mode. A value that other places share through an anchor (`&x` / `*x`, or a
`<<: *x` merge) is refused: changing it would change them too.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import Problem, SpecError

_SEGMENT = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)(?:\[(?P<field>[A-Za-z0-9_-]+)=(?P<value>[^\]]+)\])?$")
_MERGE = "tag:yaml.org,2002:merge"
_FLOW_INDICATORS = set(",[]{}")


@dataclass(frozen=True)
class Edit:
    """Set `path` to `value`.

    `path` reads like `clusters[name=prod].pools[name=general].max`: mapping
    keys, and list items picked by one of their fields. A key that is not in
    the file yet is added (in front of the sibling `before`, if given).
    """

    path: str
    value: str | int
    before: str | None = None


@dataclass(frozen=True)
class Edited:
    """An edit computed and validated, not yet written."""

    file: Path
    original: str
    text: str
    spec: spec_mod.PlatformSpec

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.text.splitlines(keepends=True),
                fromfile=str(self.file),
                tofile=f"{self.file} (edited)",
            )
        )


def _refused(path: str, message: str, source: str | None) -> SpecError:
    return SpecError([Problem(path, message)], source)


def _segments(path: str) -> list[tuple[str, tuple[str, str] | None]]:
    out = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise ValueError(f"not an edit path segment: {part!r} in {path!r}")
        out.append((m["key"], (m["field"], m["value"]) if m["field"] else None))
    return out


def _references(root: yaml.Node) -> dict[int, int]:
    """How many places refer to each node: more than one means it is shared through an alias."""
    seen: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        seen[id(node)] = seen.get(id(node), 0) + 1
        if seen[id(node)] > 1:
            continue
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return seen


def _merged(mapping: yaml.MappingNode) -> list[yaml.MappingNode]:
    """The mappings a `<<` key merges into this one, nearest first."""
    out: list[yaml.MappingNode] = []
    for k, v in mapping.value:
        if k.tag == _MERGE:
            out += [v] if isinstance(v, yaml.MappingNode) else [n for n in v.value if isinstance(n, yaml.MappingNode)]
    return out


def _lookup(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of `key`: the mapping's own, else one merged into it."""
    for k, v in mapping.value:
        if k.tag != _MERGE and isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    for other in _merged(mapping):
        found = _lookup(other, key)
        if found is not None:
            return found
    return None


def _own(mapping: yaml.MappingNode, key: str) -> bool:
    return any(k.tag != _MERGE and isinstance(k, yaml.ScalarNode) and k.value == key for k, _ in mapping.value)


class _Splicer:
    def __init__(self, text: str, source: str | None):
        self.text = text
        self.source = source
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def apply(self, edit: Edit) -> str:
        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None
        if not isinstance(root, yaml.MappingNode):
            raise _refused("", "the file is not a YAML mapping; nothing was changed", self.source)
        refs = _references(root)
        node: yaml.Node = root
        shown = ""  # the path walked so far, as messages show it
        segments = _segments(edit.path)
        for i, (key, pick) in enumerate(segments):
            if not isinstance(node, yaml.MappingNode):
                raise _refused(shown, "is not a mapping; cannot set a key in it", self.source)
            self._not_shared(node, refs, shown or "the document")
            parent = node
            found = _lookup(parent, key)
            shown = f"{shown}.{key}" if shown else key
            if i == len(segments) - 1:
                if pick is not None:
                    raise ValueError(f"edit path ends in a list item, not a key: {edit.path!r}")
                if found is None or not _own(parent, key):
                    # Absent, or only merged in: an own key overrides a merged one.
                    return self._insert(parent, key, edit)
                return self._replace(found[1], edit, refs, shown, in_flow=bool(parent.flow_style))
            if found is None:
                raise _refused(shown, "not found in the file", self.source)
            node = found[1]
            if pick is None:
                continue
            field, wanted = pick
            if not isinstance(node, yaml.SequenceNode):
                raise _refused(shown, "is not a list", self.source)
            self._not_shared(node, refs, shown)
            shown = f"{shown}[{field}={wanted}]"
            matches = [
                item
                for item in node.value
                if isinstance(item, yaml.MappingNode)
                and (hit := _lookup(item, field)) is not None
                and isinstance(hit[1], yaml.ScalarNode)
                and hit[1].value == wanted
            ]
            if len(matches) != 1:
                raise _refused(shown, f"{len(matches)} items match" if matches else "not found in the file", self.source)
            node = matches[0]
        raise ValueError(f"empty edit path: {edit.path!r}")

    def _not_shared(self, node: yaml.Node, refs: dict[int, int], where: str) -> None:
        if refs.get(id(node), 0) > 1:
            raise _refused(
                where,
                "is shared with other places through a YAML anchor (&name / *name or <<: *name);"
                " changing it here would change them too, so edit the file by hand",
                self.source,
            )

    def _replace(self, node: yaml.Node, edit: Edit, refs: dict[int, int], where: str, in_flow: bool) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise _refused(where, "holds a mapping or a list, not a single value", self.source)
        start, end = node.start_mark.index, node.end_mark.index
        token = self.text[start:end]
        if token[:1] in ("&", "!") or refs.get(id(node), 0) > 1:
            raise _refused(
                where,
                f"is written with an anchor or a tag ({token.split()[0]}); other places may repeat it,"
                " so edit the file by hand",
                self.source,
            )
        if node.style in ("|", ">"):
            raise _refused(where, "is a block scalar (| or >); edit the file by hand", self.source)
        rendered = self._scalar(edit.value, node.style, in_flow)
        if start == end:  # `key:` with no value
            rendered = " " + rendered
        return self.text[:start] + rendered + self.text[end:]

    def _scalar(self, value: str | int, style: str | None, in_flow: bool) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"edit values are strings or integers, got {value!r}")
        if isinstance(value, int):
            return str(value)
        if style == "'" and "\n" not in value and value.isprintable():
            return "'" + value.replace("'", "''") + "'"
        if style is None:
            plain = yaml.safe_dump(value, default_flow_style=True, width=10**6).split("\n", 1)[0]
            if plain == value and not (in_flow and _FLOW_INDICATORS & set(value)):
                return plain
        # JSON strings are YAML double-quoted scalars.
        return json.dumps(value, ensure_ascii=False)

    def _insert(self, mapping: yaml.MappingNode, key: str, edit: Edit) -> str:
        own = [(k, v) for k, v in mapping.value if k.tag != _MERGE]
        if mapping.flow_style:
            pair = f"{key}: {self._scalar(edit.value, None, True)}"
            anchor = next((k for k, _ in own if k.value == edit.before), None)
            if anchor is not None:
                at = anchor.start_mark.index
                return self.text[:at] + pair + ", " + self.text[at:]
            if not own:
                at = mapping.start_mark.index + self.text[mapping.start_mark.index :].index("{") + 1
                return self.text[:at] + pair + self.text[at:]
            at = own[-1][1].end_mark.index
            return self.text[:at] + ", " + pair + self.text[at:]
        pair = f"{key}: {self._scalar(edit.value, None, False)}"
        keys = [k for k, _ in mapping.value]
        column = keys[0].start_mark.column
        anchor = next((k for k, _ in own if k.value == edit.before), None)
        single_line = [
            (k, v)
            for k, v in own
            if _one_line(v) and "\n" not in self.text[k.start_mark.index : v.end_mark.index]
        ]
        if anchor is None and single_line:
            # After the last one-line pair, past its end-of-line comment.
            end = single_line[-1][1].end_mark.index
            eol = self.text.find("\n", end)
            if eol < 0:
                return self.text + self.newline + " " * column + pair
            if self.text[eol - 1 : eol] == "\r":
                eol -= 1
            return self.text[:eol] + self.newline + " " * column + pair + self.text[eol:]
        # In front of `before` (or of the first key): the new line takes its place and indentation.
        at = (anchor or keys[0]).start_mark.index
        return self.text[:at] + pair + self.newline + " " * column + self.text[at:]


def _one_line(node: yaml.Node) -> bool:
    """A value that may end on its key's line: a scalar other than a block scalar, or a flow collection."""
    if isinstance(node, yaml.ScalarNode):
        return node.style not in ("|", ">")
    return bool(node.flow_style)


def _value_at(data: object, path: str) -> object:
    for key, pick in _segments(path):
        data = data[key]  # type: ignore[index]
        if pick is not None:
            data = next(item for item in data if item.get(pick[0]) == pick[1])  # type: ignore[union-attr]
    return data


def edit_text(text: str, edits: Sequence[Edit], source: str | None = None) -> tuple[str, spec_mod.PlatformSpec]:
    """`text` with the edits applied, and the spec it now holds; SpecError if the result is refused.

    `text` must be a valid spec already (prepare() checks the file first).
    """
    splicer = _Splicer(text, source)
    for edit in edits:
        splicer.text = splicer.apply(edit)
    new = splicer.text
    spec = spec_mod.loads(new, source=source)  # the spec's own checks, with its messages
    data = yaml.safe_load(new)
    for edit in edits:
        # A splice that landed elsewhere would be a bug here, never the user's doing.
        if _value_at(data, edit.path) != edit.value:
            raise AssertionError(f"edit of {edit.path} did not take effect")
    return new, spec


def prepare(file: str | Path, edits: Sequence[Edit]) -> Edited:
    """Read `file`, apply and validate the edits; nothing is written."""
    file = Path(file)
    spec_mod.load(file)  # the file as it is must be valid: its problems are reported as `validate` does
    original = file.read_bytes().decode()
    text, spec = edit_text(original, edits, source=str(file))
    return Edited(file, original, text, spec)


def write(edited: Edited) -> None:
    """Replace the file with the edited text atomically, keeping its mode.

    A symlink is followed (the file it points to is replaced, the link
    stays). If the file changed since it was read, nothing is written.
    """
    if not edited.changed:
        return
    target = edited.file.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(edited.text.encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if target.read_bytes() != edited.original.encode():
            raise _refused("", f"{edited.file} changed while it was being edited; nothing was written, run the command again", None)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
