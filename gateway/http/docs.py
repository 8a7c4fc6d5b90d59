"""``/docs``: the API's reference in Swagger UI, served from the installed package.

Place in the flow: outside the message flow; static. The page, Swagger UI's files (the
``fastapi-offline`` package ships Swagger UI 5, which reads OpenAPI 3.1; the
``swagger-ui-bundle`` package's 4.x cannot) and our one-line initializer all come from this
server, so the console's CSP (``script-src 'self'``, no inline script) holds and nothing is
loaded from a CDN. The document it shows, ``/api/openapi.json``, is public: it describes the
endpoints, which stay behind their bearer tokens (try them with "Authorize").
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)
ASSETS = "/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ticketgate API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body></html>
"""


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)


def assets() -> StaticFiles:
    """Swagger UI's own files, to mount at ``ASSETS``."""
    return StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")
