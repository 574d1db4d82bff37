"""Operation summaries and descriptions from the view functions' docstrings, as people wrote
them: the first paragraph is the summary (one line), the rest the description (Markdown).
flask-openapi3 splits a docstring at its first *line* instead, cutting a wrapped sentence in two
and joining the rest with ``<br/>``."""

from __future__ import annotations

import inspect
from typing import Any

from flask import Flask

_METHODS = frozenset(("get", "put", "post", "delete", "patch"))


def with_docstrings(app: Flask, document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``document``'s summaries and descriptions in place (also returned)."""
    views = {view.__name__: view for view in app.view_functions.values()}
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            view = views.get(operation.get("operationId", "")) if method in _METHODS else None
            doc = inspect.getdoc(view) if view else None
            if not doc:
                continue
            summary, _, rest = doc.partition("\n\n")
            operation["summary"] = " ".join(summary.split())
            description = "\n\n".join(" ".join(p.split()) for p in rest.split("\n\n") if p)
            if description:
                operation["description"] = description
            else:
                operation.pop("description", None)
    return document
