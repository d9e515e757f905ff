"""Where things are in a YAML file, for error messages that name the line and the field.

Used by every file the project loads (province, holidays and deadlines, officials directory).
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

Loc = tuple[str | int, ...]


def dotted(loc: Sequence[str | int]) -> str:
    """``officials[3].unit`` for the path ``("officials", 3, "unit")``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def node_lines(root: yaml.Node | None) -> tuple[dict[Loc, int], list[tuple[Loc, int]]]:
    """The 1-based line of every key and list item under ``root``, and each key given twice in one
    mapping (with the line of its repetition), in document order."""
    lines: dict[Loc, int] = {}
    repeated: list[tuple[Loc, int]] = []

    def walk(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*loc, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    repeated.append((child, line))
                seen.add(key)
                lines[child] = line
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, ())
    return lines, repeated


def text_lines(text: str) -> tuple[dict[Loc, int], list[tuple[Loc, int]]]:
    """``node_lines`` of a YAML text."""
    return node_lines(yaml.compose(text, Loader=yaml.SafeLoader))


def line_of(lines: dict[Loc, int], loc: Sequence[str | int]) -> int | None:
    """The line of ``loc``, else of the nearest enclosing key or item that has one."""
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None
