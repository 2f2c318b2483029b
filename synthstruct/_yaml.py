"""Reading configuration YAML (schemas, policies, specs, recognizers) safely.

:func:`load_yaml_file` refuses, with a typed error naming the file and line, before any validation:

* a file larger than :data:`MAX_YAML_BYTES`, binary content (NUL bytes), text that is not UTF-8;
* YAML that expands to more than :data:`MAX_YAML_NODES` nodes through anchors and aliases (the
  "billion laughs" bomb: a few lines that expand to gigabytes once walked);
* tags that construct objects (``!!python/object``, any local ``!tag``): only plain YAML is read;
* syntax errors (with the line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from synthstruct.errors import InputError, Problem

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_NODES", "load_yaml_file"]

MAX_YAML_BYTES = 4 << 20
MAX_YAML_NODES = 200_000
_PLAIN_TAGS = {"tag:yaml.org,2002:" + t for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")}


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if depth > 200:
        return MAX_YAML_NODES + 1
    memo[key] = 1  # a cycle counts once (safe_load builds cycles as shared references)
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, memo, depth + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
                       for k, v in node.value)
    else:
        size = 1
    memo[key] = min(size, MAX_YAML_NODES + 1)
    return memo[key]


def _bad_tag(node: yaml.Node, seen: set[int]) -> yaml.Node | None:
    if id(node) in seen:
        return None
    seen.add(id(node))
    if node.tag not in _PLAIN_TAGS:
        return node
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    for child in children:
        found = _bad_tag(child, seen)
        if found is not None:
            return found
    return None


def load_yaml_file(path: str | Path, *, error: type[InputError] = InputError, what: str = "YAML file") -> Any:
    """Parse ``path`` as plain YAML within the bounds of the module docstring.

    Args:
        path: The file.
        error: The :class:`InputError` subclass to raise (``SchemaError``, ``PolicyError``...).
        what: What the file is, for messages ("policy", "schema").

    Raises:
        error: the file is missing, too large, binary, not UTF-8, not YAML, a bomb, or uses tags.
    """
    path = Path(path)
    source = str(path)

    def fail(where: str, message: str, fix: str) -> InputError:
        return error(f"invalid {what}", [Problem(where, message, fix)], source=source)

    if not path.is_file():
        raise error(f"{what} not found", [Problem(source, "no such file", "check the path")], source=source)
    if path.stat().st_size > MAX_YAML_BYTES:
        raise fail(path.name, f"is larger than {MAX_YAML_BYTES >> 20} MiB", f"pass a {what} YAML file")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise fail(path.name, "is a binary file, not YAML text", f"pass a {what} YAML file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail(path.name, "is not UTF-8 text", "re-save the file as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else path.name
        raise fail(where, "cannot be parsed as YAML", "fix the YAML syntax") from None
    if node is None:
        return None
    if _expanded_size(node, {}) > MAX_YAML_NODES:
        raise fail(path.name, f"expands to more than {MAX_YAML_NODES} values through anchors and aliases "
                   "(a YAML bomb?)", "write the values out without nested aliases")
    bad = _bad_tag(node, set())
    if bad is not None:
        raise fail(f"line {bad.start_mark.line + 1}", "uses a YAML tag that constructs objects; only plain "
                   "YAML (maps, lists, text, numbers) is read", "remove the tag")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else path.name
        raise fail(where, "cannot be parsed as YAML", "fix the YAML syntax") from None
