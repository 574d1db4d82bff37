"""The text rule (:mod:`msh_common.text`) as pydantic types, for the services that validate
with pydantic (catalog, orders): annotate a field ``PlainText`` (one line) or ``MultilineText``
(tab and line breaks allowed), alone or under further constraints::

    Name = Annotated[PlainText, StringConstraints(min_length=1, max_length=200)]

Under a ``pattern``, put the check itself after it instead (``Annotated[str, Field(pattern=...),
SINGLE_LINE]``): pydantic still enforces a pattern placed after a validator, but leaves it out
of the JSON schema. A refused value is an ordinary validation error on its field, with the
rule's message.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from .text import ControlCharacters, check_text


def _checked(multiline: bool) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return check_text(value, multiline=multiline)
        except ControlCharacters as exc:
            raise PydanticCustomError("control_characters", str(exc)) from exc

    return AfterValidator(check)


SINGLE_LINE = _checked(multiline=False)
MULTILINE = _checked(multiline=True)
PlainText = Annotated[str, SINGLE_LINE]
MultilineText = Annotated[str, MULTILINE]
