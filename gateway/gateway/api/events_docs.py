"""``GET /api/asyncapi.json`` (the event bus as an AsyncAPI 3 document) and
``GET /api/docs/events`` (the same, as a page to read beside the API reference).

The document is made from the code (:mod:`msh_events.asyncapi`) once, on first request: the
event library is not needed for anything else the gateway does. The page is plain HTML made
here, with no script: it loads nothing from anywhere.
"""

from __future__ import annotations

import functools
import json
from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter()

ASYNCAPI_PATH = "/api/asyncapi.json"
EVENTS_PAGE_PATH = "/api/docs/events"


@functools.cache
def document() -> dict[str, Any]:
    from msh_events.asyncapi import asyncapi_document

    return asyncapi_document()


@router.get(ASYNCAPI_PATH, include_in_schema=False)
async def asyncapi() -> JSONResponse:
    return JSONResponse(document(), headers={"Cache-Control": "no-cache"})


@router.get(EVENTS_PAGE_PATH, include_in_schema=False)
async def events_page() -> HTMLResponse:
    return HTMLResponse(render(document()))


_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1e293b}pre{background:#f1f5f9;padding:.75rem;overflow:auto;font-size:13px}"
    "h2{margin-top:2.5rem;border-top:1px solid #cbd5e1;padding-top:1rem}code{color:#0f172a}"
)


def render(doc: dict[str, Any]) -> str:
    """The document as one readable page: each event, who sends it, who handles it, and the
    schema of its data."""
    info = doc["info"]
    sections = [_event_section(doc, key, message) for key, message in _messages(doc)]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(info['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])}</h1>"
        f"<p>AsyncAPI {escape(doc['asyncapi'])} document: "
        f'<a href="{ASYNCAPI_PATH}">{ASYNCAPI_PATH}</a>; the HTTP API: '
        '<a href="/api/docs">/api/docs</a>.</p>'
        + "".join(f"<p>{escape(part)}</p>" for part in info["description"].split("\n\n"))
        + "".join(sections)
        + "</body></html>"
    )


def _messages(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(doc["components"]["messages"].items())


def _event_section(doc: dict[str, Any], key: str, message: dict[str, Any]) -> str:
    specific = message["payload"]["allOf"][1]["properties"]
    sender = specific["producer"]["const"]
    # Its consumers: the queues whose channel carries it.
    receivers = sorted(
        queue for queue, channel in doc["channels"].items() if key in channel["messages"]
    )
    data_ref = specific["data"]["$ref"]
    name = data_ref.rsplit("/", 1)[-1]
    schemas = doc["components"]["schemas"]
    schema = json.dumps(schemas[name], indent=2)
    defs = "".join(
        f"<h4>{escape(ref)}</h4><pre>{escape(json.dumps(schemas[ref], indent=2))}</pre>"
        for ref in sorted(_refs(schemas[name]))
    )
    return (
        f'<h2 id="{escape(key)}"><code>{escape(message["title"])}</code></h2>'
        f"<p>{escape(message['summary'])}</p>"
        f"<p>Sent by <b>{escape(sender)}</b>; handled by "
        f"<b>{escape(', '.join(receivers))}</b>.</p>"
        f"<h3>data: {escape(name)}</h3><pre>{escape(schema)}</pre>{defs}"
    )


def _refs(schema: Any) -> set[str]:
    """The component names ``schema`` refers to (one level: the contract's shapes are flat)."""
    if isinstance(schema, list):
        return set().union(*map(_refs, schema))
    if not isinstance(schema, dict):
        return set()
    own = {str(schema["$ref"]).rsplit("/", 1)[-1]} if "$ref" in schema else set()
    return own.union(*map(_refs, schema.values()))
