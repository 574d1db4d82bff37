"""Hostile input answers a 4xx in the error shape: JSON nested too deeply (400
``bad_request``), control characters in text fields (422 ``validation_error``)."""

from __future__ import annotations

import json

import pytest

from msh_common.jsonbody import MAX_JSON_DEPTH
from msh_common.text import SINGLE_LINE_MESSAGE

pytestmark = pytest.mark.django_db

TOO_DEEP = f"more than {MAX_JSON_DEPTH} levels"


def deep_body(depth: int) -> bytes:
    return b'{"email": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.fixture
def me(api, tokens, bearer):
    api.credentials(**bearer(tokens["access"]))
    return api


def test_a_plain_name_is_still_accepted(me):
    response = me.patch("/api/users/me", {"name": "Ann-Marie O'Neil"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Ann-Marie O'Neil"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 50_000])
def test_deeply_nested_login_is_a_400(api, assert_error, depth):
    response = api.post("/api/auth/login", data=deep_body(depth), content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert TOO_DEEP in error["message"]


def test_deeply_nested_profile_patch_is_a_400(me, assert_error):
    response = me.patch("/api/users/me", data=deep_body(1_000), content_type="application/json")
    assert TOO_DEEP in assert_error(response, 400, "bad_request")["message"]


def test_unbalanced_deep_brackets_are_malformed_json(api, assert_error):
    body = b"[" * 50_000 + b"}"
    response = api.post("/api/auth/login", data=body, content_type="application/json")
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("name", ["Ann\x00", "Ann\x01Lee", "\x1b[31mAnn", "Ann\x7f", "A\tB"])
def test_a_name_with_control_characters_is_refused_on_its_field(me, assert_error, user, name):
    response = me.patch("/api/users/me", {"name": name}, format="json")
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"name": [SINGLE_LINE_MESSAGE]}
    user.refresh_from_db()
    assert user.name == "Ann"


def test_registration_refuses_control_characters_in_the_name(api, assert_error):
    body = {"email": "bob@example.com", "password": "a-Long-passphrase-7", "name": "Bob\x07"}
    error = assert_error(api.post("/api/auth/register", body, format="json"), 422)
    assert error["fields"] == {"name": [SINGLE_LINE_MESSAGE]}


def test_login_refuses_control_characters_in_the_email(api, assert_error, user, password):
    body = json.dumps({"email": "ann\x07@example.com", "password": password})
    response = api.post("/api/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"email": [SINGLE_LINE_MESSAGE]}
