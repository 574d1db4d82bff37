"""drf-spectacular hooks for mainapp's OpenAPI document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from msh_common.errors import use_error_schemas

# Every operation's id, chosen once and kept across releases (generated clients name their
# functions after them): snake_case, verb first. A new endpoint adds its own here, or the
# document fails to build.
_OPERATIONS = """
    POST    /api/auth/register                  register
    POST    /api/auth/login                     log_in
    POST    /api/auth/refresh                   refresh_tokens
    POST    /api/auth/logout                    log_out
    POST    /api/auth/password-reset            request_password_reset
    POST    /api/auth/password-reset/confirm    confirm_password_reset
    GET     /api/auth/jwks                      get_jwks
    GET     /.well-known/jwks.json              get_well_known_jwks
    GET     /api/users/me                       get_profile
    PATCH   /api/users/me                       update_profile
    DELETE  /api/users/me                       delete_account
    POST    /api/users/me/password              change_password
"""
OPERATION_IDS: dict[tuple[str, str], str] = {
    (method.lower(), path): operation_id
    for method, path, operation_id in (line.split() for line in _OPERATIONS.strip().splitlines())
}
TAGS = [
    {
        "name": "auth",
        "description": "Accounts, login, token refresh and logout, password reset, "
        "and the public keys that verify the tokens.",
    },
    {"name": "users", "description": "The signed-in user's own profile, password and account."},
]


def name_operations(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Give each operation its id from :data:`OPERATION_IDS`, and declare the tags."""
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            key = (method, path)
            if key not in OPERATION_IDS:
                raise KeyError(f"name the operation {method.upper()} {path} in OPERATION_IDS")
            operation["operationId"] = OPERATION_IDS[key]
    result["tags"] = TAGS
    return result


def use_platform_error_schemas(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Publish the error shape as the platform's shared ``ErrorResponse``/``ErrorDetail``
    components (the serializers' rendering differs in detail), so the gateway's merged
    document has one error type for every service."""
    use_error_schemas(result)
    return result


class DeleteWithBodySchema(AutoSchema):
    """drf-spectacular documents request bodies of PUT, PATCH and POST only; a view whose DELETE
    takes one (``DELETE /api/users/me``: ``current_password``) documents it with this."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"
