"""The shared error shape: default codes, the body, the OpenAPI components."""

from __future__ import annotations

import json

from msh_common.errors import (
    ERROR_DETAIL,
    ERROR_RESPONSE,
    ERROR_SCHEMA_REF,
    ServiceError,
    code_for_status,
    error_body,
    use_error_schemas,
)


def test_codes_are_the_platforms_for_known_statuses_and_read_from_the_phrase_otherwise():
    assert code_for_status(401) == "not_authenticated"
    assert code_for_status(403) == "permission_denied"
    assert code_for_status(504) == "upstream_timeout"
    assert code_for_status(418) == "im_a_teapot"
    assert code_for_status(599) == "error"


def test_a_service_error_takes_the_statuss_code_unless_given_a_more_precise_one():
    assert ServiceError(404, "No such order.").code == "not_found"
    refused = ServiceError(401, "Expired.", code="invalid_token", headers={"X": "1"})
    assert (refused.status_code, refused.code, refused.headers) == (
        401,
        "invalid_token",
        {"X": "1"},
    )


def test_fields_are_always_lists_of_problems_and_left_out_when_there_are_none():
    body = error_body("validation_error", "Bad.", {"email": "taken", "lines.0": ("a", "b")})
    assert body == {
        "error": {
            "code": "validation_error",
            "message": "Bad.",
            "fields": {"email": ["taken"], "lines.0": ["a", "b"]},
        }
    }
    assert error_body("not_found", "No such order.") == {
        "error": {"code": "not_found", "message": "No such order."}
    }


def test_a_document_gets_the_shared_components_and_its_own_error_is_replaced_everywhere():
    document = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "400": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Problem"}
                                }
                            }
                        }
                    }
                }
            }
        },
        "components": {"schemas": {"Problem": {"type": "object"}, "Thing": {"type": "string"}}},
    }
    use_error_schemas(document, replacing={"Problem": ERROR_RESPONSE})
    assert set(document["components"]["schemas"]) == {"Thing", ERROR_RESPONSE, ERROR_DETAIL}
    assert "#/components/schemas/Problem" not in json.dumps(document)
    response = document["paths"]["/x"]["get"]["responses"]["400"]
    assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_SCHEMA_REF}
    # each document gets its own copy: changing one cannot change another's
    other: dict = {}
    use_error_schemas(other)
    other["components"]["schemas"][ERROR_DETAIL]["properties"]["code"]["type"] = "integer"
    assert document["components"]["schemas"][ERROR_DETAIL]["properties"]["code"]["type"] == "string"
