"""What every accounts endpoint shares: the bounded JSON parser, the error responses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from msh_auth import challenge

from ..parsers import BoundedJSONParser
from ..serializers import ErrorResponseSerializer

AUTH_CHALLENGE = challenge()


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorResponseSerializer, description=description)


VALIDATION_ERROR = error("`validation_error`: invalid fields, in `error.fields`.")
# Every operation that reads a JSON body can answer these three.
BODY_ERRORS = {
    400: error("`bad_request`: the body is not JSON, or is nested too deeply."),
    413: error("`payload_too_large`: the body is over the size limit."),
    422: VALIDATION_ERROR,
}
RATE_LIMITED = error("Too many requests from this client; see `Retry-After`.")
NOT_AUTHENTICATED = error("Missing, invalid or expired token.")


class AccountsAPIView(APIView):
    parser_classes = (BoundedJSONParser,)


class PublicAPIView(AccountsAPIView):
    """Anonymous endpoints: no token is read, so a stale one sent along does no harm.

    DRF turns a 401 into a 403 when no authenticator offers a challenge; naming the Bearer
    challenge keeps "bad credentials" a 401 here too.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request: Request) -> str:
        return AUTH_CHALLENGE
