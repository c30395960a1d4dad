"""The table of every run-definition key, generated from the settings models.

``machi validate --keys`` prints it and the README carries it between
``<!-- keys:start -->`` and ``<!-- keys:end -->``; a test fails when the two disagree, so
the documentation of a key is its field's description, written once.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

README_START = "<!-- keys:start -->"
README_END = "<!-- keys:end -->"


@dataclass(frozen=True)
class Key:
    """One documented key: dotted path, default (as YAML-ish text), meaning, bounds."""

    path: str
    default: str
    description: str
    bounds: str
    annotation: Any


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The settings model inside an annotation (``Model``, ``list[Model]``), and whether listed."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0], True
    return None, False


def _text(value: Any) -> str:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        if not value:
            return "{}"
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, (int, float, str)) else str(value)


def _default(info: FieldInfo) -> str:
    if info.default is not PydanticUndefined:
        return _text(info.default)
    if info.default_factory is not None:
        return _text(info.default_factory())
    return "(required)"


def _bounds(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        for name, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, name, None)
            if value is not None:
                parts.append(f"{sign} {_text(value)}")
        if getattr(item, "min_length", None):
            parts.append(f"at least {item.min_length}")
    literal = _literal_values(info.annotation)
    if literal:
        parts.append("one of " + ", ".join(f"`{_text(v)}`" for v in literal))
    return ", ".join(parts)


def _literal_values(annotation: Any) -> tuple:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return ()


def iter_keys(model: type[BaseModel], prefix: str = "") -> Iterator[Key]:
    """Every leaf key of ``model`` in definition order (sub-models expanded)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        sub, listed = _model_of(info.annotation)
        if sub is not None and not listed:
            yield from iter_keys(sub, path + ".")
            continue
        yield Key(path, _default(info), (info.description or "").strip(), _bounds(info), info.annotation)
        if sub is not None and listed:
            yield from iter_keys(sub, path + "[].")


def keys_markdown(model: type[BaseModel]) -> str:
    """The README's key table (Markdown) of ``model``."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key in iter_keys(model):
        meaning = (key.description + (f" ({key.bounds})" if key.bounds else "")).replace("|", r"\|")
        lines.append(f"| `{key.path}` | `{key.default}` | {meaning} |")
    return "\n".join(lines)


def readme_keys(readme_text: str) -> str:
    """The key table as the README holds it (between the markers)."""
    start = readme_text.index(README_START) + len(README_START)
    return readme_text[start : readme_text.index(README_END)].strip()
