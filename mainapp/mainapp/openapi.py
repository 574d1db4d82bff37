"""drf-spectacular hooks for mainapp's OpenAPI document."""

from __future__ import annotations

from typing import Any

from msh_common.errors import use_error_schemas


def use_platform_error_schemas(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Publish the error shape as the platform's shared ``ErrorResponse``/``ErrorDetail``
    components (the serializers' rendering differs in detail), so the gateway's merged
    document has one error type for every service."""
    use_error_schemas(result)
    return result
