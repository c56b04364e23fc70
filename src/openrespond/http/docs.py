"""The interactive API docs at ``/docs``, served entirely by this server: Swagger UI's own
files come from the ``swagger-ui-py`` package (no CDN), so the page works offline and on an
air-gapped install."""

from __future__ import annotations

import importlib.util
import mimetypes
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import PathParameter
from litestar.response import Response

from openrespond.errors import NotFound
from openrespond.http.openapi import RefinedSwaggerPlugin

__all__ = ["ASSETS", "ROUTES", "swagger_plugin"]

ASSETS = "/docs/assets"
# What the page loads; nothing else of the package is served.
_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
)


@cache
def _static() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package (the server extra) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@cache
def _asset(name: str) -> tuple[bytes, str]:
    data = (_static() / name).read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return data, kind if not kind.startswith("text/") else f"{kind}; charset=utf-8"


@get(f"{ASSETS}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(
    request: Request[Any, Any, Any], name: Annotated[str, PathParameter(max_length=64)]
) -> Response[bytes]:
    """One of Swagger UI's files, cached by browsers for a day."""
    if name not in _FILES:
        raise NotFound(f"no docs asset {name[:64]!r}")
    data, kind = _asset(name)
    return Response(data, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


def swagger_plugin() -> RefinedSwaggerPlugin:
    """Swagger UI at ``/docs``, loading its files from this server."""
    return RefinedSwaggerPlugin(
        path="/docs",
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )


ROUTES = [docs_asset]
