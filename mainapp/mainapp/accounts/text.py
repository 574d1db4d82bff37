"""The platform's text rule (:mod:`msh_common.text`) for DRF: no control characters in text.

Mix :class:`PlainTextFields` into a serializer and every string field it has refuses C0
control characters and DEL, as a 400 ``validation_error`` on that field. Password fields are
left to DRF's own rule (no NUL): a password may be any text its owner types, and refusing
more at login could lock someone out of a password set earlier.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator as ProhibitNullCharacters
from rest_framework import serializers

from msh_common.text import ControlCharacters, check_text


class NoControlCharacters:
    """A DRF validator for one string field (``multiline`` keeps tab and line breaks)."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        try:
            check_text(value, multiline=self.multiline)
        except ControlCharacters as exc:
            raise serializers.ValidationError(str(exc)) from exc


def _is_password(field: serializers.Field) -> bool:
    return field.style.get("input_type") == "password"


# Serializer mixin: every string field but passwords gets NoControlCharacters, in place of DRF's
# NUL check (which it covers: one problem, one message). A comment, not a docstring: serializers
# without their own would inherit it as their description in the OpenAPI document.
class PlainTextFields:
    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            if isinstance(field, serializers.CharField) and not _is_password(field):
                field.validators = [
                    *(v for v in field.validators if not isinstance(v, ProhibitNullCharacters)),
                    NoControlCharacters(),
                ]
        return fields
