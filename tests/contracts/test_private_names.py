"""No package imports another package's private names or private modules.

``from synthstruct.schema.io import _plain`` in relational/ couples relational to a detail schema may
change at will; a name used across packages is part of that package's interface and is public
(listed in its ``__all__``). Top-level helper modules (``synthstruct._registry``, ``_yaml``,
``_seeds`` ...) are shared by design: their *public* names may be imported anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "synthstruct"


def _layer(module: str) -> str:
    layer = ".".join(module.split(".")[:2])
    return "synthstruct._cli" if layer == "synthstruct.cli" else layer  # cli.py + _cli/ are one app


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def cross_package_private_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join(parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("synthstruct."):
                source = node.module or ""
                if _layer(source) == _layer(module):
                    continue
                inner = source.split(".")[2:]  # private module inside another package
                if any(_private(p) for p in inner):
                    found.append(f"{module}:{node.lineno} imports private module {source}")
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"{module}:{node.lineno} imports {source}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("synthstruct.") and _layer(alias.name) != _layer(module) and any(
                            _private(p) for p in alias.name.split(".")[2:]):
                        found.append(f"{module}:{node.lineno} imports private module {alias.name}")
    return found


def test_the_scan_sees_imports():
    assert _private("_plain") and not _private("__all__") and not _private("plain")
    assert _layer("synthstruct.schema.io") == "synthstruct.schema"


def test_no_cross_package_private_imports():
    found = cross_package_private_imports()
    assert not found, "make these names public in their package (and list them in __all__):\n" + "\n".join(found)
