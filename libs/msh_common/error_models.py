"""The error shape as pydantic models, for frameworks that document a response from a model
(FastAPI's ``responses=``, flask-openapi3's). Each framework renders a model its own way, so
the schema a service publishes is :data:`msh_common.errors.ERROR_SCHEMAS` (see
:func:`~msh_common.errors.use_error_schemas`); these models only name it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorResponse(BaseModel):
    """The platform's one error shape."""

    error: ErrorDetail
