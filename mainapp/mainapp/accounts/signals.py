"""Deactivating or deleting an account, from the API, the admin or a shell, voids its tokens
at every verifier (msh_auth.revocation): a user entry, written before the transaction commits.
A password changed in the admin ends every session, as the API's password change does."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from . import revocations, sessions
from .models import User


@receiver(pre_save, sender=User, dispatch_uid="accounts.revoke_on_deactivation")
def revoke_on_deactivation(sender: type[User], instance: User, **kwargs: Any) -> None:
    """Unticking ``is_active`` (admin or API) revokes every token of the account; a new
    password set by a full save (the admin's password form, a shell) ends every session.

    Saves naming their fields (``update_fields``: the API's own password change, which
    revokes itself; Django re-hashing a password at login) are left alone unless they name
    ``is_active``.
    """
    update_fields = kwargs.get("update_fields")
    if instance._state.adding:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    old = User.objects.filter(pk=instance.pk).values("is_active", "password").first()
    if old is None:
        return
    if old["is_active"] and not instance.is_active:
        revocations.revoke_user(instance.pk)
    if update_fields is None and old["password"] != instance.password:
        sessions.revoke_all(instance)


@receiver(pre_delete, sender=User, dispatch_uid="accounts.revoke_on_deletion")
def revoke_on_deletion(sender: type[User], instance: User, **kwargs: Any) -> None:
    revocations.revoke_user(instance.pk)
