"""Turn a parsed TOML table into frozen dataclasses, collecting every problem with its key path.

The dataclasses are the schema: their type hints say what each key takes, field metadata adds a
check and a human description. A user who mistypes a key needs to hear which key, in which
file, what was expected and what was found, so nothing here raises on the first problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NewType, get_args, get_origin

EnvVar = NewType("EnvVar", str)
"""The name of an environment variable that holds a secret; the secret itself is never in the file."""

Check = Callable[[Any], str | None]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "url")
_MISSING = object()


def option(
    default: Any = dataclasses.MISSING,
    *,
    expected: str | None = None,
    check: Check | None = None,
) -> Any:
    """A dataclass field with a description of what it takes and an optional check.

    ``check`` gets the converted value and returns None when it is fine, or what was expected.
    """
    metadata = {"expected": expected, "check": check}
    if isinstance(default, list | dict):
        raise TypeError("use a tuple or a dataclass for defaults, not a mutable value")
    return dataclasses.field(default=default, metadata=metadata)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def describe(tp: Any) -> str:
    """What a value of this type looks like in TOML, for error messages ("a list of integers")."""
    origin = get_origin(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is dt.date:
        return "a date (YYYY-MM-DD)"
    if tp is Path:
        return "a path (a string)"
    if tp is EnvVar:
        return 'the name of an environment variable (e.g. "SMTP_PASSWORD")'
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(describe(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        inner = get_args(tp)[0]
        if _is_dataclass_type(inner):
            return "an array of tables"
        return "a list of " + _plural(describe(inner))
    if origin is dict or _is_dataclass_type(tp):
        return "a table"
    return getattr(tp, "__name__", str(tp))


def _plural(text: str) -> str:
    for one, many in (
        ("a string", "strings"),
        ("an integer", "integers"),
        ("a number", "numbers"),
        ("a date", "dates"),
        ("a path", "paths"),
        ("the name of an environment variable", "environment variable names"),
    ):
        if text.startswith(one):
            return many + text[len(one) :]
    return text


def show(value: Any) -> str:
    """A short TOML-like rendering of what the user wrote, for "got ..."."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, dt.date | dt.datetime | dt.time):
        text = value.isoformat()
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def key_path(parent: str, key: str | int) -> str:
    """Join a key path the way a user reads TOML: ``marks[1].registrations[0].classes``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    part = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
    return f"{parent}.{part}" if parent else part


class Loader:
    """Converts TOML data into a dataclass, gathering problems as ``"key.path: message"`` lines."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def load(self, cls: type, data: dict[str, Any], path: str = "") -> Any:
        """Build ``cls`` from ``data``; returns None (and records why) when it cannot."""
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in data:
            if key not in fields:
                self._unknown_key(path, key, fields)
        values: dict[str, Any] = {}
        ok = True
        for name, f in fields.items():
            sub = key_path(path, name)
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    expected = f.metadata.get("expected") or describe(hints[name])
                    self.problem(sub, f"required key is missing (expected {expected})")
                    ok = False
                continue
            value = self.convert(hints[name], data[name], sub, f.metadata)
            if value is _MISSING:
                ok = False
            else:
                values[name] = value
        return cls(**values) if ok else None

    def _unknown_key(self, path: str, key: str, fields: dict[str, dataclasses.Field]) -> None:
        sub = key_path(path, key)
        lowered = key.lower()
        if any(w in lowered for w in _SECRET_WORDS) and f"{key}_env" in fields:
            self.problem(
                sub,
                f"secrets are not stored in the config file; put it in an environment variable "
                f'and name that variable instead: {key}_env = "{key.upper()}"',
            )
            return
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else f"; known keys: {', '.join(fields)}"
        self.problem(sub, f"unknown key{hint}")

    def convert(self, tp: Any, value: Any, path: str, meta: Any = None) -> Any:
        """Convert one value to ``tp``; on failure record the problem and return the sentinel."""
        meta = meta or {}
        converted = self._convert(tp, value, path, meta.get("expected"))
        if converted is _MISSING:
            return _MISSING
        check = meta.get("check")
        if check is not None:
            expected = check(converted)
            if expected:
                self.problem(path, f"expected {expected}, got {show(value)}")
                return _MISSING
        return converted

    def _fail(self, tp: Any, value: Any, path: str, expected: str | None = None) -> Any:
        self.problem(path, f"expected {expected or describe(tp)}, got {show(value)}")
        return _MISSING

    def _convert(self, tp: Any, value: Any, path: str, expected: str | None = None) -> Any:
        """``expected`` (the field's own description) replaces the type's in a top-level mismatch."""
        origin = get_origin(tp)
        if origin in (types.UnionType, typing.Union):
            options = [a for a in get_args(tp) if a is not type(None)]
            if len(options) != 1:
                raise TypeError(f"unsupported union {tp!r} in config schema")
            return self._convert(options[0], value, path, expected)
        if _is_dataclass_type(tp):
            if not isinstance(value, dict):
                return self._fail(tp, value, path)
            result = self.load(tp, value, path)
            return _MISSING if result is None else result
        if origin is tuple:
            if not isinstance(value, list):
                return self._fail(tp, value, path, expected)
            inner = get_args(tp)[0]
            items = [self._convert(inner, v, key_path(path, i)) for i, v in enumerate(value)]
            return _MISSING if any(i is _MISSING for i in items) else tuple(items)
        if origin is dict:
            if not isinstance(value, dict):
                return self._fail(tp, value, path)
            inner = get_args(tp)[1]
            items = {k: self._convert(inner, v, key_path(path, k)) for k, v in value.items()}
            return _MISSING if any(v is _MISSING for v in items.values()) else items
        if origin is Literal:
            choices = get_args(tp)
            if value in choices and isinstance(value, str):
                return value
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.problem(path, f"expected {describe(tp)}, got {show(value)}{hint}")
            return _MISSING
        return self._scalar(tp, value, path, expected)

    def _scalar(self, tp: Any, value: Any, path: str, expected: str | None) -> Any:
        if tp is bool:
            return value if isinstance(value, bool) else self._fail(tp, value, path, expected)
        if tp is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            return value if ok else self._fail(tp, value, path, expected)
        if tp is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return float(value) if ok else self._fail(tp, value, path, expected)
        if tp is dt.date:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            return self._fail(tp, value, path, expected)
        if tp is EnvVar:
            if isinstance(value, str) and _ENV_NAME.match(value):
                return EnvVar(value)
            return self._fail(tp, value, path, expected)
        if not isinstance(value, str):
            return self._fail(tp, value, path, expected)
        if tp is Path:
            if "\x00" in value or not value.strip():
                return self._fail(tp, value, path, "a path (a non-empty string without NUL)")
            try:
                p = Path(value).expanduser()
            except RuntimeError:  # "~nouser/..." names a user this machine does not have
                return self._fail(tp, value, path, "a path whose ~user exists on this machine")
            return p if p.is_absolute() else self.base_dir / p
        if tp is str:
            return value
        raise TypeError(f"unsupported type {tp!r} in config schema")


def leaf_paths(cls: type, prefix: str = "") -> list[str]:
    """Every key a dataclass schema accepts, as dotted paths (arrays and tables as ``[]`` / ``*``).

    Used to check that the example config.toml documents every key.
    """
    out: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        if get_origin(tp) in (types.UnionType, typing.Union):
            tp = next(a for a in get_args(tp) if a is not type(None))
        path = f"{prefix}.{f.name}" if prefix else f.name
        if _is_dataclass_type(tp):
            out += leaf_paths(tp, path)
        elif get_origin(tp) is tuple and _is_dataclass_type(get_args(tp)[0]):
            out += leaf_paths(get_args(tp)[0], path + "[]")
        elif get_origin(tp) is dict and _is_dataclass_type(get_args(tp)[1]):
            out += leaf_paths(get_args(tp)[1], path + ".*")
        else:
            out.append(path)
    return out
