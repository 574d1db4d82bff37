"""Per-client rate limits on the endpoints that guess or spam (login, register, reset).

The client is ``REMOTE_ADDR`` as ``mainapp.edge.ForwardedHeadersMiddleware`` left it: the
address the gateway forwarded, or the peer itself when it is not a trusted proxy.

Logging in, through the API or the Django admin, is limited twice with the same rate
(``LOGIN_THROTTLE_RATE``): per client address, against one machine trying many accounts, and per
account, against many machines trying one. Every attempt counts, right or wrong, so a correct
password after the limit is refused too until the window has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeAlias

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from .managers import normalize_email

logger = logging.getLogger(__name__)

AnyRequest: TypeAlias = Request | HttpRequest


class ClientAddressThrottle(SimpleRateThrottle):
    """Counts per client address (``REMOTE_ADDR``, never a header a client could rotate).

    The rate is read from the settings at each request, not frozen at import as DRF does, so a
    changed ``DEFAULT_THROTTLE_RATES`` applies at once.
    """

    per = "address"

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_ident(self, request: AnyRequest) -> str:
        return request.META.get("REMOTE_ADDR") or "unknown"

    def get_cache_key(self, request: AnyRequest, view: APIView | None) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def spent(self, request: AnyRequest, view: APIView | None) -> bool:
        """Whether the window is full, without counting this request (see ``count``)."""
        self.key = self.get_cache_key(request, view) if self.rate else None
        if self.key is None:
            return False
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def count(self) -> None:
        """Record the request ``spent`` just looked at."""
        if self.key is not None:
            self.throttle_success()


class LoginAddressThrottle(ClientAddressThrottle):
    scope = "login"


def account_hint(email: str) -> str:
    """A keyed, non-reversible stand-in for an address: for cache keys and logs."""
    return salted_hmac("mainapp.accounts.throttles", normalize_email(email)).hexdigest()[:16]


def submitted_account(request: AnyRequest) -> str | None:
    """The account a login names: the API's ``email`` or the admin form's ``username``."""
    data = request.data if isinstance(request, Request) else request.POST
    if not isinstance(data, Mapping):
        return None
    value = data.get("email", data.get("username"))
    return value if isinstance(value, str) and value.strip() else None


class LoginAccountThrottle(ClientAddressThrottle):
    scope = "login"
    per = "account"
    cache_format = "throttle_%(scope)s_account_%(ident)s"

    def get_cache_key(self, request: AnyRequest, view: APIView | None) -> str | None:
        account = submitted_account(request)
        if account is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": account_hint(account)}


class LoginThrottle(BaseThrottle):
    """Refuses a login when its address or its account has used up the window; logs it."""

    scope = "login"

    def __init__(self) -> None:
        self.parts = (LoginAddressThrottle(), LoginAccountThrottle())
        self.spent_parts: list[ClientAddressThrottle] = []

    def allow_request(self, request: AnyRequest, view: APIView | None) -> bool:
        self.spent_parts = [part for part in self.parts if part.spent(request, view)]
        if self.spent_parts:
            account = submitted_account(request)
            logger.warning(
                "login refused: too many attempts (client %s, account %s, per %s)",
                request.META.get("REMOTE_ADDR"),
                account_hint(account) if account else "-",
                "+".join(part.per for part in self.spent_parts),
            )
            return False
        for part in self.parts:
            part.count()
        return True

    def wait(self) -> float | None:
        waits = [part.wait() for part in self.spent_parts]
        return max((w for w in waits if w is not None), default=None)


class RegisterThrottle(ClientAddressThrottle):
    scope = "register"


class PasswordResetThrottle(ClientAddressThrottle):
    scope = "password_reset"
