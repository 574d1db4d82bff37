"""Request bodies as JSON, with their nesting bounded: the one loader every service parses with.

Python's ``json`` parser recurses once per ``[`` or ``{``, so a body of a few thousand brackets
raises ``RecursionError`` (a 500) before any validation runs, and one nested just under the
interpreter's limit still makes every later recursive walk (validators, serialisers) a risk. No
API of the platform takes more than a few levels, so deeper bodies are refused before parsing,
by a scan that does not recurse: :class:`JsonTooDeep`, which each service answers as 400
``bad_request`` like any other body that is not usable JSON. Body *size* stays each
service's own limit (it is checked while the body is read, before this runs).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32

# A JSON string (escapes included), and runs of anything that is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


class JsonTooDeep(ValueError):
    """A JSON document nested deeper than allowed; a ``ValueError`` as any undecodable body."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested too deeply (more than {max_depth} levels).")
        self.max_depth = max_depth


def as_text(data: bytes | bytearray | str) -> str:
    """``data`` decoded as ``json.loads`` would (UTF-8, -16 or -32, detected)."""
    if isinstance(data, str):
        return data
    return bytes(data).decode(json.detect_encoding(data), "surrogatepass")


def check_json_depth(data: bytes | bytearray | str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` if ``data`` nests arrays/objects deeper than ``max_depth``,
    ``json.JSONDecodeError`` if its brackets do not pair up; never recurses.

    Strings are cut out, then every innermost empty pair is removed, once per level: whatever is
    left after ``max_depth`` rounds is nested deeper. Each round is one pass in C.
    """
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", as_text(data)))
    for _ in range(max_depth):
        if not brackets:
            return
        brackets, removed = _EMPTY_PAIR.subn("", brackets)
        if not removed:
            raise json.JSONDecodeError("Unbalanced brackets", brackets, 0)
    if brackets:
        raise JsonTooDeep(max_depth)


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for a request body: :class:`JsonTooDeep` past ``max_depth`` levels,
    another ``ValueError`` for anything that is not JSON."""
    text = as_text(data)
    check_json_depth(text, max_depth)
    return json.loads(text)
