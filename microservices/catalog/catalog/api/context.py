"""What request handlers share: settings, the store and the key cache, kept on the app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from catalog.settings import Settings
from catalog.store import Store
from msh_auth import JWKSCache

EXTENSION = "catalog"


@dataclass(frozen=True)
class CatalogContext:
    settings: Settings
    store: Store
    jwks: JWKSCache


def init_context(app: Flask, ctx: CatalogContext) -> None:
    app.extensions[EXTENSION] = ctx


def context() -> CatalogContext:
    return current_app.extensions[EXTENSION]
