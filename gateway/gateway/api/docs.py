"""``GET /api/openapi.json`` (the merged reference) and ``GET /api/docs`` (Swagger UI).

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package and are served by the
gateway itself: the docs work offline and load nothing from a CDN.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

router = APIRouter()

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>MicroServiceHub API</title>
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""

# A separate file rather than an inline script, so the page works under a strict CSP.
_INIT = f"""window.ui = SwaggerUIBundle({{
  url: "{OPENAPI_PATH}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
}});
"""


@router.get(OPENAPI_PATH, include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    document = await request.app.state.openapi.document()
    return JSONResponse(document, headers={"Cache-Control": "no-cache"})


@router.get(DOCS_PATH, include_in_schema=False)
async def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get(DOCS_PATH + "/init.js", include_in_schema=False)
async def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript")


def assets() -> StaticFiles:
    return StaticFiles(directory=swagger_ui_path)
