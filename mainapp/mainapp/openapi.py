"""drf-spectacular hooks for mainapp's OpenAPI document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from msh_common.errors import use_error_schemas


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
