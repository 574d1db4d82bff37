"""Request and response bodies of the accounts API; validation lives here, effects in views."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .managers import normalize_email
from .models import User
from .text import PlainTextFields

DUPLICATE_EMAIL = "A user with this e-mail address is already registered."


def _password_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
        **kwargs,
    )


def check_password_strength(password: str, user: User) -> None:
    """Django's AUTH_PASSWORD_VALIDATORS, as a DRF error on the field being validated."""
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from exc


def unique_email(email: str, instance: User | None = None) -> str:
    email = normalize_email(email)
    others = User.objects.filter(email=email)
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if others.exists():
        raise serializers.ValidationError(DUPLICATE_EMAIL)
    return email


WRONG_CURRENT_PASSWORD = "The current password is not correct."  # noqa: S105 - a message
CURRENT_PASSWORD_REQUIRED = "Your current password is required to change this."  # noqa: S105


def check_current_password(user: User, value: str | None) -> None:
    """A stolen access token alone must not take over or delete the account."""
    if not value:
        raise serializers.ValidationError({"current_password": [CURRENT_PASSWORD_REQUIRED]})
    if not user.check_password(value):
        raise serializers.ValidationError({"current_password": [WRONG_CURRENT_PASSWORD]})


def mask_email(address: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class UserSerializer(PlainTextFields, serializers.ModelSerializer):
    """A user as the API shows it; never any password field. Changing ``email`` needs
    ``current_password`` too."""

    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    current_password = _password_field(
        required=False, help_text="Required when `email` changes: the account's password."
    )

    class Meta:
        model = User
        fields = ("id", "email", "name", "roles", "date_joined", "current_password")
        read_only_fields = ("id", "roles", "date_joined")
        # uniqueness: case-insensitive, below
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {"email": {"validators": []}}

    def validate_email(self, value: str) -> str:
        return unique_email(value, self.instance)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        password = attrs.pop("current_password", None)
        user = self.instance
        if user is not None and "email" in attrs and attrs["email"] != user.email:
            check_current_password(user, password)
        return attrs


class AccountDeleteSerializer(PlainTextFields, serializers.Serializer):
    """The body of ``DELETE /api/users/me``."""

    current_password = _password_field(help_text="The account's password.")

    def validate_current_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError(WRONG_CURRENT_PASSWORD)
        return value


class RegisterSerializer(PlainTextFields, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = _password_field()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_email(self, value: str) -> str:
        return unique_email(value)

    def validate_password(self, value: str) -> str:
        # Checked next to the e-mail's errors, against an unsaved user made of the other
        # fields, so the similarity validator can compare the password with them.
        data = self.initial_data
        candidate = User(
            email=data["email"] if isinstance(data.get("email"), str) else "",
            name=data["name"] if isinstance(data.get("name"), str) else "",
        )
        check_password_strength(value, candidate)
        return value


class LoginSerializer(PlainTextFields, serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = _password_field()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="RS256 JWT for `Authorization: Bearer`; short-lived.")
    refresh = serializers.CharField(help_text="Single-use: exchange it at /api/auth/refresh.")


class RefreshSerializer(PlainTextFields, serializers.Serializer):
    refresh = serializers.CharField()


class PasswordResetSerializer(PlainTextFields, serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(PlainTextFields, serializers.Serializer):
    token = serializers.CharField(max_length=512)
    password = _password_field()


class PasswordChangeSerializer(PlainTextFields, serializers.Serializer):
    current_password = _password_field()
    new_password = _password_field()

    def validate_current_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError(WRONG_CURRENT_PASSWORD)
        return value

    def validate_new_password(self, value: str) -> str:
        check_password_strength(value, self.context["user"])
        return value


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class JWKSerializer(serializers.Serializer):
    kty = serializers.CharField()
    kid = serializers.CharField()
    use = serializers.CharField()
    alg = serializers.CharField()
    n = serializers.CharField()
    e = serializers.CharField()


class JWKSSerializer(serializers.Serializer):
    keys = JWKSerializer(many=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorResponseSerializer(serializers.Serializer):
    """The platform's one error shape (documentation only; mainapp.errors renders it, and the
    published schema is the platform's shared one: mainapp.openapi)."""

    error = ErrorDetailSerializer()
