"""``/api/auth/*``: register, log in, refresh, log out, reset a forgotten password.

None of these needs an access token; the ones that can be abused are throttled per client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from msh_events.contrib.django.outbox import publish

from .. import sessions
from ..exceptions import InvalidCredentials
from ..managers import normalize_email
from ..models import User
from ..password_reset import user_for_token
from ..serializers import (
    DUPLICATE_EMAIL,
    DetailSerializer,
    LoginSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
    check_password_strength,
)
from ..tasks import queue_password_reset_email
from ..throttles import LoginThrottle, PasswordResetThrottle, RegisterThrottle
from .base import BODY_ERRORS, NOT_AUTHENTICATED, RATE_LIMITED, PublicAPIView, error

FOREIGN_ORIGIN_ERROR = error("`permission_denied`: a cookie-based call from a foreign page.")
RESET_REQUESTED = "If an account exists for this address, a reset link has been sent."
INVALID_RESET_TOKEN = "This reset link is invalid or has expired."  # noqa: S105 - a message

# The browser app keeps the refresh token out of scripts' reach: login and refresh also set it
# as this HttpOnly cookie, sent back only to /api/auth/ (refresh, logout) and only same-site.
REFRESH_COOKIE = "msh_refresh"
REFRESH_COOKIE_PATH = "/api/auth/"
# Beside the HttpOnly refresh cookie, for the browser app to read: "a session may be restored",
# so a visitor who never logged in does not send a refresh doomed to fail. No secret in it.
SESSION_HINT_COOKIE = "msh_session"


def set_refresh_cookie(response: Response, refresh: str) -> Response:
    lifetime = int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds())
    secure = settings.PUBLIC_URL.startswith("https://")
    response.set_cookie(
        REFRESH_COOKIE,
        refresh,
        max_age=lifetime,
        path=REFRESH_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Strict",
    )
    response.set_cookie(
        SESSION_HINT_COOKIE, "1", max_age=lifetime, path="/", secure=secure, samesite="Strict"
    )
    return response


def clear_refresh_cookie(response: Response) -> Response:
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
    response.delete_cookie(SESSION_HINT_COOKIE, path="/", samesite="Strict")
    return response


FOREIGN_ORIGIN = "This request must come from the shop's own pages."


def request_origin(request: Request) -> str | None:
    """``scheme://host[:port]`` the browser says the request comes from: ``Origin``, else the
    ``Referer``'s; None when neither is there (or Origin is ``null``)."""
    origin = request.headers.get("Origin")
    if origin is None:
        referer = urlsplit(request.headers.get("Referer", ""))
        if not referer.scheme or not referer.netloc:
            return None
        origin = f"{referer.scheme}://{referer.netloc}"
    origin = origin.strip().rstrip("/").lower()
    return origin if origin and origin != "null" else None


def check_cookie_origin(request: Request) -> None:
    """A cookie is sent whoever made the page: refuse cookie-based calls not made by our own
    pages (PUBLIC_URL or CORS_ALLOWED_ORIGINS), with a 403."""
    allowed = {settings.PUBLIC_URL.lower(), *(o.lower() for o in settings.CORS_ALLOWED_ORIGINS)}
    if request_origin(request) not in allowed:
        raise PermissionDenied(FOREIGN_ORIGIN)


def refresh_input(request: Request) -> tuple[Any, bool]:
    """The request's data, with the refresh token taken from the cookie when the JSON body has
    none (then only from our own pages, see :func:`check_cookie_origin`); and whether it came
    from the cookie."""
    data = request.data
    if isinstance(data, Mapping) and not data.get("refresh"):
        cookie = request.COOKIES.get(REFRESH_COOKIE)
        if cookie:
            check_cookie_origin(request)
            return {"refresh": cookie}, True
    return data, False


class RegisterView(PublicAPIView):
    throttle_classes = (RegisterThrottle,)

    @extend_schema(
        tags=["auth"],
        summary="Create a customer account",
        request=RegisterSerializer,
        responses={201: UserSerializer, **BODY_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with transaction.atomic():
                user = User.objects.create_user(data["email"], data["password"], name=data["name"])
                publish(
                    "user.registered",
                    {"user_id": str(user.pk), "email": user.email, "name": user.name},
                )
        except IntegrityError as exc:  # a concurrent registration of the address won
            raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicAPIView):
    throttle_classes = (LoginThrottle,)

    @extend_schema(
        tags=["auth"],
        summary="Exchange e-mail and password for an access and a refresh token",
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            **BODY_ERRORS,
            401: error("`invalid_credentials`: wrong e-mail or password, or inactive account."),
            429: RATE_LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None:  # the backend also refuses inactive users, after checking the password
            raise InvalidCredentials()
        pair = sessions.issue(user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)  # last_login
        return set_refresh_cookie(Response(asdict(pair)), pair.refresh)


class RefreshView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Rotate a refresh token: a new pair; the one sent can never be used again",
        description="The token comes from the JSON body or, when the body has none, from the "
        "HttpOnly `msh_refresh` cookie that login and refresh set (then `Origin`, or `Referer`, "
        "must be the shop's own: else 403).",
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            **BODY_ERRORS,
            401: NOT_AUTHENTICATED,
            403: FOREIGN_ORIGIN_ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data, _ = refresh_input(request)
        serializer = RefreshSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        pair = sessions.rotate(serializer.validated_data["refresh"])
        return set_refresh_cookie(Response(asdict(pair)), pair.refresh)


class LogoutView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Revoke a refresh token",
        description="The token comes from the JSON body or, when the body has none, from the "
        "`msh_refresh` cookie, which is cleared (a cookie already revoked or expired is still "
        "cleared, with 204; `Origin`, or `Referer`, must be the shop's own: else 403).",
        request=RefreshSerializer,
        responses={
            204: None,
            **BODY_ERRORS,
            401: NOT_AUTHENTICATED,
            403: FOREIGN_ORIGIN_ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        data, from_cookie = refresh_input(request)
        serializer = RefreshSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            sessions.revoke(serializer.validated_data["refresh"])
        except APIException:
            if not from_cookie:
                raise
        return clear_refresh_cookie(Response(status=status.HTTP_204_NO_CONTENT))


class PasswordResetView(PublicAPIView):
    throttle_classes = (PasswordResetThrottle,)

    @extend_schema(
        tags=["auth"],
        summary="E-mail a password-reset link (the same answer whether the account exists)",
        request=PasswordResetSerializer,
        responses={202: DetailSerializer, **BODY_ERRORS, 429: RATE_LIMITED},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = normalize_email(serializer.validated_data["email"])
        user = User.objects.filter(email=email, is_active=True).first()
        if user is not None:
            queue_password_reset_email(user)
        return Response({"detail": RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAPIView):
    @extend_schema(
        tags=["auth"],
        summary="Set a new password with the token from the reset e-mail",
        request=PasswordResetConfirmSerializer,
        responses={
            204: OpenApiResponse(description="Password set; every session was logged out."),
            **BODY_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password = serializer.validated_data["password"]
        with transaction.atomic():
            user = user_for_token(serializer.validated_data["token"], for_update=True)
            if user is None:
                raise ValidationError({"token": [INVALID_RESET_TOKEN]})
            try:
                check_password_strength(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.detail}) from exc
            user.set_password(password)
            user.save(update_fields=["password"])
            sessions.revoke_all(user)
        return Response(status=status.HTTP_204_NO_CONTENT)
