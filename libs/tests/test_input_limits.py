"""The shared input rules: JSON nesting depth (msh_common.jsonbody) and control characters in
text (msh_common.text, msh_common.text_types)."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError

from msh_common.jsonbody import MAX_JSON_DEPTH, JsonTooDeep, check_json_depth, loads
from msh_common.text import (
    MULTILINE_MESSAGE,
    SINGLE_LINE_MESSAGE,
    ControlCharacters,
    check_text,
    has_control_characters,
    strip_control_characters,
)
from msh_common.text_types import SINGLE_LINE, MultilineText, PlainText


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def test_bodies_up_to_the_limit_parse_as_json_does():
    body = '{"a": [1, {"b": "x"}], "c": "[[[{{{ \\" ]]"}'
    assert loads(body) == json.loads(body)
    assert loads(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    assert loads(json.dumps({"name": "Mug"}).encode("utf-16")) == {"name": "Mug"}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_deeper_bodies_are_refused_without_recursing(depth):
    with pytest.raises(JsonTooDeep, match=f"more than {MAX_JSON_DEPTH} levels"):
        loads(nested(depth).encode())
    with pytest.raises(JsonTooDeep):
        loads('{"a":' * depth + "1" + "}" * depth)


def test_the_limit_counts_objects_and_arrays_alike_and_is_a_parameter():
    check_json_depth('{"a": [{"b": []}]}', max_depth=4)
    with pytest.raises(JsonTooDeep) as refused:
        check_json_depth('{"a": [{"b": [[]]}]}', max_depth=4)
    assert refused.value.max_depth == 4
    assert isinstance(refused.value, ValueError)  # frameworks treat it as an undecodable body


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"s": "[" * 1000 + '\\"{' * 100})
    assert loads(text) == json.loads(text)


def test_unbalanced_deep_brackets_are_malformed_not_a_recursion():
    with pytest.raises(json.JSONDecodeError, match="Unbalanced brackets"):
        loads("[" * 100_000 + "}" + "]" * 100_000)
    with pytest.raises(json.JSONDecodeError, match="Unbalanced brackets"):
        loads("[" * 10 + "}")


def test_a_large_shallow_body_passes():
    body = "[" + ",".join(["[1, {}]"] * 150_000) + "]"  # about 1 MB, three levels deep
    check_json_depth(body)  # (its speed is a benchmark's business, not a test's)


def test_text_without_control_characters_passes_and_multiline_keeps_line_breaks():
    assert check_text("Ceramic mug, 350 ml — €12") == "Ceramic mug, 350 ml — €12"
    assert check_text("line one\r\n\tline two", multiline=True) == "line one\r\n\tline two"
    assert not has_control_characters("tab\tand\nnewline", multiline=True)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x1f", "\x7f", "\t", "\n", "\r"])
def test_single_line_text_refuses_every_c0_control_and_del(char):
    with pytest.raises(ControlCharacters, match=r"U\+0000-U\+001F, U\+007F"):
        check_text(f"Mug{char}")


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x0c", "\x1b", "\x7f"])
def test_multiline_text_still_refuses_the_other_controls(char):
    with pytest.raises(ControlCharacters) as refused:
        check_text(f"a{char}b", multiline=True)
    assert str(refused.value) == MULTILINE_MESSAGE


def test_text_from_another_service_is_cleaned_not_refused():
    assert strip_control_characters("Mug\x00 red\tbig") == "Mug  red big"
    assert strip_control_characters("a\nb\x00", multiline=True) == "a\nb "


class Product(BaseModel):
    name: Annotated[PlainText, StringConstraints(max_length=20)]
    description: MultilineText = ""


def test_pydantic_types_refuse_on_the_field_with_the_rules_message():
    assert Product(name="Mug", description="Big.\nRed.").description == "Big.\nRed."
    with pytest.raises(ValidationError) as refused:
        Product(name="Mu\x00g", description="a\x00")
    errors = {error["loc"]: error["msg"] for error in refused.value.errors()}
    assert errors == {("name",): SINGLE_LINE_MESSAGE, ("description",): MULTILINE_MESSAGE}


def test_under_a_pattern_the_marker_keeps_the_pattern_in_the_json_schema():
    url = TypeAdapter(Annotated[str, Field(pattern=r"^https://\S+$"), SINGLE_LINE])
    assert url.json_schema() == {"type": "string", "pattern": r"^https://\S+$"}
    with pytest.raises(ValidationError, match="Control characters"):
        url.validate_python("https://x\x00")
