"""What mainapp believes about the request's origin, and what it lets caches keep.

``ForwardedHeadersMiddleware`` goes first: from a ``TRUSTED_PROXIES`` peer (the gateway),
``REMOTE_ADDR`` becomes the client it names in ``X-Forwarded-For``; from anyone else every
``X-Forwarded-*`` header is dropped, so neither the throttles (which count ``REMOTE_ADDR``) nor
Django's host and scheme detection can be steered by a client calling mainapp's port directly.

``NoStoreMiddleware`` marks the responses that carry tokens or personal data ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from msh_common.forwarding import TrustedProxies, client_address

FORWARDED_META = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO")

# Tokens (/api/auth/*) and the user's own data (/api/users/*): never kept by a browser or proxy.
# The public keys are the exception: verifiers are meant to cache them (the view says how long).
NO_STORE_PREFIXES = ("/api/auth/", "/api/users/")
CACHEABLE_PATHS = frozenset({"/api/auth/jwks"})

Handler = Callable[[HttpRequest], HttpResponse]


@lru_cache(maxsize=4)
def _trusted(entries: tuple[str, ...]) -> TrustedProxies:
    return TrustedProxies.parse(entries)


def trusted_proxies() -> TrustedProxies:
    """``settings.TRUSTED_PROXIES``, parsed once per value (tests may change the setting)."""
    return _trusted(tuple(settings.TRUSTED_PROXIES))


class ForwardedHeadersMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trusted = trusted_proxies()
        peer = request.META.get("REMOTE_ADDR")
        if peer in trusted:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
            request.META["REMOTE_ADDR"] = client_address(peer, forwarded, trusted)
        else:
            for name in FORWARDED_META:
                request.META.pop(name, None)
        return self.get_response(request)


class NoStoreMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(NO_STORE_PREFIXES) and request.path not in CACHEABLE_PATHS:
            response["Cache-Control"] = "no-store"
        return response
