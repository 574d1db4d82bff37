"""Which names may become MongoDB field names.

Free-form product attributes are stored as they come, and attribute filters name fields, so a
client controls field names. MongoDB reads a name starting with ``$`` as an operator and a name
containing ``.`` as a path into another field: neither may ever reach a query or a document.
Everything that becomes a field name passes :func:`check_key`; attribute values are bounded by
:func:`check_attributes`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from msh_common.text import ControlCharacters, check_text

# Letters, digits, "_" and "-", starting with a letter or digit: never "$", never ".".
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_KEY = re.compile(KEY_PATTERN)

MAX_ATTRIBUTES = 50
MAX_DEPTH = 3  # {"dimensions": {"cm": {"width": 20}}}
MAX_LIST_ITEMS = 50
MAX_STRING = 500


class UnsafeKey(ValueError):
    pass


def is_safe_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def check_key(key: object) -> str:
    if not is_safe_key(key):
        raise UnsafeKey(
            f"{str(key)[:70]!r} is not an allowed name: letters, digits, '_' and '-' only "
            "(at most 64, starting with a letter or digit)"
        )
    return key  # type: ignore[return-value]


def check_attributes(attributes: Mapping[str, Any], depth: int = 1) -> dict[str, Any]:
    """Validate a free-form attribute object; returns it unchanged or raises ValueError."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes per object")
    for key, value in attributes.items():
        check_key(key)
        _check_value(value, depth, key)
    return dict(attributes)


def _check_value(value: Any, depth: int, key: str) -> None:
    if value is None or isinstance(value, bool):
        return
    for kind, check in _CHECKS:
        if isinstance(value, kind):
            check(value, depth, key)
            return
    raise ValueError(f"{key}: unsupported value")


def _check_int(value: int, depth: int, key: str) -> None:
    if abs(value) >= 2**53:
        raise ValueError(f"{key}: integer out of range")


def _check_float(value: float, depth: int, key: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{key}: numbers must be finite")


def _check_str(value: str, depth: int, key: str) -> None:
    if len(value) > MAX_STRING:
        raise ValueError(f"{key}: strings are at most {MAX_STRING} characters")
    try:
        check_text(value, multiline=True)
    except ControlCharacters as exc:
        raise ValueError(f"{key}: {exc}") from exc


def _check_list(value: list[Any], depth: int, key: str) -> None:
    if len(value) > MAX_LIST_ITEMS:
        raise ValueError(f"{key}: lists hold at most {MAX_LIST_ITEMS} items")
    for item in value:
        if isinstance(item, dict | list):
            raise ValueError(f"{key}: lists hold plain values only")
        _check_value(item, depth, key)


def _check_dict(value: dict[str, Any], depth: int, key: str) -> None:
    if depth >= MAX_DEPTH:
        raise ValueError(f"{key}: objects nest at most {MAX_DEPTH} levels")
    check_attributes(value, depth + 1)


# What each JSON value type must satisfy (booleans and null always pass).
_CHECKS: tuple[tuple[type, Callable[[Any, int, str], None]], ...] = (
    (int, _check_int),
    (float, _check_float),
    (str, _check_str),
    (list, _check_list),
    (dict, _check_dict),
)


def attribute_words(attributes: Mapping[str, Any]) -> list[str]:
    """Every string or number in ``attributes``, for the search text."""
    words: list[str] = []
    for value in attributes.values():
        if isinstance(value, dict):
            words.extend(attribute_words(value))
        elif isinstance(value, list):
            words.extend(str(item) for item in value if isinstance(item, str | int | float))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            words.append(str(value))
    return words
