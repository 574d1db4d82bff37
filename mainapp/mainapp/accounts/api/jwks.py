"""``GET /api/auth/jwks`` and ``/.well-known/jwks.json``: the keys that verify our tokens."""

from __future__ import annotations

from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ..keys import keyring
from ..serializers import JWKSSerializer
from .base import PublicAPIView

MAX_AGE = 300


class JWKSView(PublicAPIView):
    """Public keys of every key in the keyring, so tokens signed before a rotation verify."""

    @extend_schema(
        tags=["auth"],
        summary="Public keys (JWKS) that verify access tokens",
        responses={200: JWKSSerializer},
    )
    def get(self, request: Request) -> Response:
        response = Response(keyring().jwks())
        patch_cache_control(response, public=True, max_age=MAX_AGE)
        return response
