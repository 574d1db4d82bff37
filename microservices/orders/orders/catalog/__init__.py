"""The catalog as orders sees it: an HTTP client for quotes, behind a circuit breaker."""

from .client import CatalogClient, CatalogUnavailable, QuoteSource

__all__ = ["CatalogClient", "CatalogUnavailable", "QuoteSource"]
