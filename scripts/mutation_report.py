"""Summarise the mutmut results left in mutants/ by scripts/mutation.sh.

mutmut prints one total; the issue asks for figures per mutated path and for every
surviving mutant with its file, line and diff, so this reads mutmut's own result files
(through mutmut's API, pinned to 3.8 in the `mutation` extra) and writes them out.
Run from the repository root, where pyproject.toml holds [tool.mutmut].
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
from collections import Counter
from pathlib import Path

import libcst as cst
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import (
    get_diff_for_mutant,
    read_functions_from_index,
    read_mutant_function,
    read_mutants_module,
    read_original_function,
)
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import mangled_name_from_mutant_name, orig_function_and_class_names_from_key

# The paths the issue names, in its order; a file counts under the first that contains it.
GROUPS = ("clusterctl_py/spec.py", "clusterctl_py/render/", "providers/hetzner/", "clusterctl_py/ops/", "clusterctl_py/apps/")
COLUMNS = ("total", "killed", "survived", "timeout", "no tests", "import only", "other")
NOT_KILLED = ("survived", "no tests", "import only", "suspicious", "segfault", "not checked", "check was interrupted by user")
IMPORT_ONLY = (
    "import only: the function runs only while its module is imported (it builds a validator or a table);"
    " mutmut's workers fork after every module is imported, so no test can see these mutants."
    " mutmut cannot measure them, so they are left out of the kill rate."
)


def group_of(path: str) -> str:
    return next((g for g in GROUPS if path == g or path.startswith(g)), path)


def function_def_lines(source: str) -> dict[tuple[str | None, str], int]:
    """Line of each top-level function's and method's `def` (mutmut mutates no other functions)."""
    lines: dict[tuple[str | None, str], int] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines[(None, node.name)] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines[(node.name, item.name)] = item.lineno
    return lines


def mutant_line(name: str, path: Path, def_lines: dict[tuple[str | None, str], int]) -> int | None:
    """Line of the original file that the mutant changes.

    mutmut's diffs number lines from the start of the function, so the first changed
    line is located in the function's own text and shifted by the line of its `def`.
    """
    functions = read_functions_from_index(name, path)
    if functions is None:
        module = read_mutants_module(path)
        functions = (read_original_function(module, name), read_mutant_function(module, name))
    orig, mutant = (cst.Module([f]).code.strip().splitlines() for f in functions)
    changed = next((op for op in difflib.SequenceMatcher(None, orig, mutant).get_opcodes() if op[0] != "equal"), None)
    def_index = next((i for i, line in enumerate(orig) if line.lstrip().startswith(("def ", "async def "))), None)
    function, cls = orig_function_and_class_names_from_key(name)
    def_line = def_lines.get((cls, function))
    if changed is None or def_index is None or def_line is None:
        return None
    return def_line + changed[1] - def_index


def import_only_functions(stats_path: Path = Path("mutants/mutmut-stats.json")) -> set[str]:
    """Functions mutmut saw called only before the first test ran, i.e. at import.

    mutmut credits every call made while pytest imports the test modules to the first
    test of its stats run, so a function recorded for that test alone ran only then.
    """
    if not stats_path.exists():
        return set()
    stats = json.loads(stats_path.read_text())
    first = next(iter(stats["duration_by_test"]), None)
    return {name for name, tests in stats["tests_by_mangled_function_name"].items() if tests == [first]}


def collect() -> list[tuple[str, str, int | None, str]]:
    """(mutant name, file, line, status) for every mutant, in file order."""
    import_only = import_only_functions()
    rows = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        def_lines = function_def_lines(path.read_text())
        for name, exit_code in data.exit_code_by_key.items():
            status = status_by_exit_code[exit_code]
            if status == "survived" and mangled_name_from_mutant_name(name) in import_only:
                status = "import only"
            rows.append((name, str(path), mutant_line(name, path, def_lines), status))
    rows.sort(key=lambda r: (r[1], r[2] or 0, r[0]))
    return rows


def summary(rows: list[tuple[str, str, int | None, str]]) -> str:
    counts: dict[str, Counter] = {}
    for _, path, _, status in rows:
        for key in (group_of(path), "all"):
            c = counts.setdefault(key, Counter())
            c["total"] += 1
            c[status if status in COLUMNS else "other"] += 1
    out = [f"{'path':24}" + "".join(f"{c:>12}" for c in COLUMNS) + f"{'kill rate':>11}"]
    for key in [g for g in GROUPS if g in counts] + ["all"]:
        c = counts[key]
        measured = c["total"] - c["import only"]
        rate = (c["killed"] + c["timeout"]) / measured if measured else 0.0
        out.append(f"{key:24}" + "".join(f"{c[col]:>12}" for col in COLUMNS) + f"{rate:>11.1%}")
    out.append("kill rate = (killed + timeout) / (total - import only); survived and no tests count against it.")
    if counts["all"]["import only"]:
        out.append(IMPORT_ONLY)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="write every mutant: name, file:line, status")
    parser.add_argument("--survivors", type=Path, help="write the diff of every mutant not killed")
    args = parser.parse_args()

    rows = collect()
    if not rows:
        raise SystemExit("error: no mutmut results in mutants/; run scripts/mutation.sh first")
    text = summary(rows)
    if args.results:
        lines = [f"{name}\t{path}:{line or '?'}\t{status}" for name, path, line, status in rows]
        args.results.write_text(text + "\n\n" + "\n".join(lines) + "\n")
    if args.survivors:
        parts = [text, ""]
        for name, path, line, status in rows:
            if status in NOT_KILLED:
                parts += [f"# {name}  {path}:{line or '?'}  {status}", get_diff_for_mutant(name, path=path), ""]
        args.survivors.write_text("\n".join(parts))
    print(text)


if __name__ == "__main__":
    main()
