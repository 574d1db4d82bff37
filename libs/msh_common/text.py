"""Which characters text from a client may hold: the one rule for every string field.

C0 control characters (U+0000-U+001F) and DEL (U+007F) are never meant as text. NUL in
particular is refused by PostgreSQL (``psycopg.DataError``): a product name holding one was
stored by the catalog and then broke every checkout that named it. So every service refuses
them in every string it accepts; text that may span lines (descriptions, addresses, notes)
keeps tab, line feed and carriage return. Each framework has a thin adapter over
:func:`check_text`: pydantic types in :mod:`msh_common.text_types`, a DRF validator in mainapp.
Data that arrives from another service is cleaned with :func:`strip_control_characters`.
"""

from __future__ import annotations

import re

_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")
_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

SINGLE_LINE_MESSAGE = "Control characters (U+0000-U+001F, U+007F) are not allowed."
MULTILINE_MESSAGE = (
    "Control characters (U+0000-U+001F, U+007F) other than tab and line breaks are not allowed."
)


class ControlCharacters(ValueError):
    """Text holding a control character it may not hold; the message says which are allowed."""


def _pattern(multiline: bool) -> re.Pattern[str]:
    return _MULTILINE if multiline else _SINGLE_LINE


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a refused control character (tab, CR, LF pass if ``multiline``)."""
    return _pattern(multiline).search(value) is not None


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or :class:`ControlCharacters` if it holds a refused character."""
    if has_control_characters(value, multiline=multiline):
        raise ControlCharacters(MULTILINE_MESSAGE if multiline else SINGLE_LINE_MESSAGE)
    return value


def strip_control_characters(value: str, *, multiline: bool = False) -> str:
    """``value`` with each refused control character replaced by a space: for text another
    service sent, which is shown and stored rather than refused."""
    return _pattern(multiline).sub(" ", value)
