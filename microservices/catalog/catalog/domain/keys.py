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
from collections.abc import Mapping
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
    if value is None or isinstance(value, bool | int):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
            raise ValueError(f"{key}: integer out of range")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: numbers must be finite")
        return
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ValueError(f"{key}: strings are at most {MAX_STRING} characters")
        try:
            check_text(value, multiline=True)
        except ControlCharacters as exc:
            raise ValueError(f"{key}: {exc}") from exc
        return
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise ValueError(f"{key}: lists hold at most {MAX_LIST_ITEMS} items")
        for item in value:
            if isinstance(item, dict | list):
                raise ValueError(f"{key}: lists hold plain values only")
            _check_value(item, depth, key)
        return
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{key}: objects nest at most {MAX_DEPTH} levels")
        check_attributes(value, depth + 1)
        return
    raise ValueError(f"{key}: unsupported value")


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
