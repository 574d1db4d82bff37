"""The user model: e-mail login, case-insensitive uniqueness, roles from is_staff."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError

from mainapp.accounts.models import User

pytestmark = pytest.mark.django_db


def test_email_is_stored_lower_case(make_user):
    assert make_user("  Mixed.Case@Example.COM ").email == "mixed.case@example.com"


def test_email_is_unique_whatever_the_case(make_user):
    make_user("one@example.com")
    with pytest.raises(IntegrityError):
        make_user("ONE@example.com")


def test_the_database_refuses_an_upper_case_email_written_around_save(make_user):
    user = make_user("low@example.com")
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(email="LOW@example.com")


def test_authenticate_by_email_in_any_case(make_user, password):
    user = make_user("case@example.com")
    assert authenticate(email="CASE@example.com", password=password) == user
    assert authenticate(email="case@example.com", password="wrong") is None


def test_roles_follow_is_staff(make_user):
    user = make_user("r@example.com")
    assert user.roles == ["customer"]
    user.is_staff = True
    assert user.roles == ["staff"]


def test_superuser_creation_sets_both_flags():
    admin = User.objects.create_superuser("root@example.com", "pw-Long-enough-1")
    assert admin.is_staff and admin.is_superuser
    with pytest.raises(ValueError, match="superuser"):
        User.objects.create_superuser("x@example.com", "pw", is_staff=False)


def test_passwords_are_hashed_with_argon2(make_user):
    assert make_user("h@example.com").password.startswith("argon2")


def test_primary_key_is_a_uuid(make_user):
    user = make_user("u@example.com")
    assert len(str(user.pk)) == 36 and str(user) == "u@example.com"
