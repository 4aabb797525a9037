"""The longest functions of both packages, for reviews that want them short.

    uv run python bench/longest_functions.py [--top 10]

Counts the lines of each function and method (decorators and docstring included) with `ast`.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def function_lengths(source_root: Path) -> list[tuple[int, str]]:
    """(lines, "module.qualified_name") of every function under `source_root`."""
    found = []
    for path in sorted(source_root.rglob("*.py")):
        module = ".".join(path.relative_to(source_root).with_suffix("").parts)
        found.extend(_walk(ast.parse(path.read_text()), module))
    return sorted(found, reverse=True)


def _walk(node: ast.AST, prefix: str) -> list[tuple[int, str]]:
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}.{child.name}"
            if not isinstance(child, ast.ClassDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((child.end_lineno - first + 1, name))
            found.extend(_walk(child, name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    for package in ("fil-collect", "fil-learn"):
        print(f"{package}:")
        for lines, name in function_lengths(ROOT / "packages" / package / "src")[: args.top]:
            print(f"  {lines:4d}  {name}")


if __name__ == "__main__":
    main()
