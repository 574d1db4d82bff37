"""The admin's forms for the e-mail-login user model."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm

from .managers import normalize_email
from .models import User


class EmailFormMixin:
    cleaned_data: dict

    def clean_email(self) -> str:
        """Shown and checked for uniqueness as it will be stored: lower-case."""
        return normalize_email(self.cleaned_data.get("email"))


class UserCreationForm(EmailFormMixin, BaseUserCreationForm):
    """E-mail, optional name, and the password twice (Django's validators apply)."""

    class Meta:
        model = User
        fields = ("email", "name")
        field_classes = {"email": forms.EmailField}


class UserChangeForm(EmailFormMixin, BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": forms.EmailField}
