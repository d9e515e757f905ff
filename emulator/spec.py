"""Loader for the machine-readable Bot API specification shipped as ``emulator/api.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("api.json")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter of a method (or one field of a type)."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A Bot API method: its canonical name, parameters and return types."""

    name: str
    fields: tuple[FieldSpec, ...]
    returns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """The whole specification, with methods indexed by lower-cased name."""

    version: str
    methods: dict[str, MethodSpec]
    types: dict[str, tuple[FieldSpec, ...]]

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up case-insensitively, as Telegram does."""
        return self.methods.get(name.lower())


def _fields(raw: list[dict[str, Any]] | None) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f["name"], tuple(f["types"]), bool(f["required"])) for f in raw or [])


@cache
def load_spec(path: Path = SPEC_PATH) -> ApiSpec:
    """Parse ``api.json`` once and return the cached :class:`ApiSpec`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    methods = {
        name.lower(): MethodSpec(name, _fields(m.get("fields")), tuple(m.get("returns", [])))
        for name, m in data["methods"].items()
    }
    types = {name: _fields(t.get("fields")) for name, t in data["types"].items()}
    return ApiSpec(str(data["version"]), methods, types)
