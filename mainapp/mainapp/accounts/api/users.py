"""``/api/users/me``: the caller's own profile, password and account."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from mainapp.openapi import DeleteWithBodySchema
from msh_events.contrib.django.outbox import publish

from .. import sessions
from ..serializers import (
    DUPLICATE_EMAIL,
    AccountDeleteSerializer,
    PasswordChangeSerializer,
    UserSerializer,
    mask_email,
)
from ..tasks import queue_email_changed_notice
from ..tokens import SID_CLAIM
from .base import BODY_ERRORS, NOT_AUTHENTICATED, AccountsAPIView


def current_sid(request: Request) -> str | None:
    """The session of the access token this request came with."""
    sid = getattr(request.auth, "payload", {}).get(SID_CLAIM)
    return sid if isinstance(sid, str) else None


class MeView(AccountsAPIView):
    schema = DeleteWithBodySchema()  # DELETE takes a body (current_password)

    @extend_schema(
        tags=["users"],
        summary="The caller's profile",
        description="Who the access token names: id, e-mail, name, roles and when they joined.",
        responses={200: UserSerializer, 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        tags=["users"],
        summary="Change name or e-mail",
        description="Changing `email` needs `current_password`; the old address is told (the "
        "new one masked) and every other session is logged out.",
        request=UserSerializer,
        responses={200: UserSerializer, **BODY_ERRORS, 401: NOT_AUTHENTICATED},
    )
    def patch(self, request: Request) -> Response:
        user = request.user
        old_email = user.email
        serializer = UserSerializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                serializer.save()
                if user.email != old_email:
                    sessions.revoke_all(user, keep_sid=current_sid(request))
                    queue_email_changed_notice(old_email, mask_email(user.email), user.name)
        except IntegrityError as exc:  # the address was taken meanwhile
            raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
        return Response(serializer.data)

    @extend_schema(
        tags=["users"],
        summary="Delete the account (publishes user.deleted)",
        description="Needs the account's password as `current_password` in the JSON body.",
        request=AccountDeleteSerializer,
        responses={204: None, **BODY_ERRORS, 401: NOT_AUTHENTICATED},
    )
    def delete(self, request: Request) -> Response:
        user = request.user
        serializer = AccountDeleteSerializer(data=request.data, context={"user": user})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            sessions.revoke_all(user)
            publish("user.deleted", {"user_id": str(user.pk)})
            user.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(AccountsAPIView):
    @extend_schema(
        tags=["users"],
        summary="Change the password (logs out every session; their access tokens stop)",
        description="Needs `current_password`; the new one must pass the password rules "
        "(length, not common, not like the e-mail). Every session ends, this one too: log in "
        "again with the new password.",
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Password changed."),
            **BODY_ERRORS,
            401: NOT_AUTHENTICATED,
        },
    )
    def post(self, request: Request) -> Response:
        user = request.user
        serializer = PasswordChangeSerializer(data=request.data, context={"user": user})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            user.set_password(serializer.validated_data["new_password"])
            user.save(update_fields=["password"])
            sessions.revoke_all(user)
        return Response(status=status.HTTP_204_NO_CONTENT)
