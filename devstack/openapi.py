"""``python -m devstack openapi [PATH]``: save the gateway's merged OpenAPI document.

The SPA's API types (``frontend/src/api/schema.d.ts``) are generated from the saved document
(``frontend/openapi.json``), so the frontend builds without a running platform. This starts a
throwaway platform, fetches ``/api/openapi.json`` and writes it without ``x-sources`` (which
says how fresh each service's part was, not what the API is). ``make openapi`` runs this and
then the type generator; a whole-stack test fails when the saved document is stale.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from .config import ROOT, load_env
from .stack import PlatformRun

DEFAULT_PATH = ROOT / "frontend" / "openapi.json"


def merged_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """The API part of a merged document (``x-sources`` left out)."""
    return {key: value for key, value in document.items() if key != "x-sources"}


def fetch_merged_openapi() -> dict[str, Any]:
    with PlatformRun(load_env(), prefix="msh-openapi-") as run:
        url = f"{run.url}/api/openapi.json"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own URL
            document = json.load(response)
    stale = {
        name
        for name, source in document.get("x-sources", {}).items()
        if source["status"] != "fresh"
    }
    if stale:
        raise RuntimeError(f"services missing from the merged document: {', '.join(sorted(stale))}")
    return merged_openapi(document)


def save_openapi(path: Path = DEFAULT_PATH) -> Path:
    document = fetch_merged_openapi()
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
