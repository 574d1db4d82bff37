"""Per-client rate limits on the endpoints that guess or spam (login, register, reset)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class ClientAddressThrottle(SimpleRateThrottle):
    """Counts per client address: with NUM_PROXIES=1, the X-Forwarded-For hop the gateway adds.

    The rate is read from the settings at each request, not frozen at import as DRF does, so a
    changed ``DEFAULT_THROTTLE_RATES`` applies at once.
    """

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(ClientAddressThrottle):
    scope = "login"


class RegisterThrottle(ClientAddressThrottle):
    scope = "register"


class PasswordResetThrottle(ClientAddressThrottle):
    scope = "password_reset"
