"""``/api/users/me``: the caller's own profile, password and account."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from mainapp.eventbus.outbox import publish

from .. import sessions
from ..serializers import DUPLICATE_EMAIL, PasswordChangeSerializer, UserSerializer
from .base import NOT_AUTHENTICATED, VALIDATION_ERROR, AccountsAPIView


class MeView(AccountsAPIView):
    @extend_schema(
        tags=["users"],
        summary="The caller's profile",
        responses={200: UserSerializer, 401: NOT_AUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        tags=["users"],
        summary="Change name or e-mail",
        request=UserSerializer,
        responses={200: UserSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED},
    )
    def patch(self, request: Request) -> Response:
        serializer = UserSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError as exc:  # the address was taken meanwhile
            raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
        return Response(serializer.data)

    @extend_schema(
        tags=["users"],
        summary="Delete the account (publishes user.deleted)",
        responses={204: None, 401: NOT_AUTHENTICATED},
    )
    def delete(self, request: Request) -> Response:
        user = request.user
        with transaction.atomic():
            sessions.revoke_all(user)
            publish("user.deleted", {"user_id": str(user.pk)})
            user.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(AccountsAPIView):
    @extend_schema(
        tags=["users"],
        summary="Change the password (logs out every session; access tokens run out)",
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Password changed."),
            400: VALIDATION_ERROR,
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
