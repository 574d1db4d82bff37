"""The Django admin's login, throttled like the API's (``LoginThrottle``: per address and per
account, ``LOGIN_THROTTLE_RATE``). Over the limit, the login page comes back with status 429, a
``Retry-After`` and the reason, and the password is not even checked."""

from __future__ import annotations

import math

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from .throttles import LoginThrottle

LOCKED_OUT = "Too many login attempts. Try again in {seconds} seconds."


class LockedOutForm(AdminAuthenticationForm):
    """The login form, refusing without authenticating: its only error is the lockout."""

    seconds = 60

    def clean(self) -> dict:
        raise ValidationError(LOCKED_OUT.format(seconds=self.seconds), code="throttled")


def locked_out(request: HttpRequest, wait: float | None) -> HttpResponse:
    seconds = max(1, math.ceil(wait or 60))
    form = LockedOutForm(request, data=request.POST)
    form.seconds = seconds
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": form,
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
    }
    response = TemplateResponse(request, "admin/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


@sensitive_post_parameters()
@csrf_protect
@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    """``/admin/login/``: each POST is counted before the admin checks the password."""
    if request.method == "POST":
        throttle = LoginThrottle()
        if not throttle.allow_request(request, None):
            return locked_out(request, throttle.wait())
    return admin.site.login(request)
