"""The browser app: serves the built SPA (``frontend/dist``) at ``/`` with history fallback.

Only requests the route table and the gateway's own API leave unanswered reach it, and only
GET and HEAD: a path naming a file of the build gets that file, any other path (a deep link
such as ``/orders/42``) gets ``index.html`` so the client-side router can take over. Paths
under ``/api/`` keep their JSON 404. Hashed assets (``/assets/...``) are cached for a year as
immutable; ``index.html`` is ``no-cache`` so a new build is picked up on the next load.
Every file goes out with the SPA's Content-Security-Policy: scripts, styles and connections
only from the gateway's own origin, so an injected ``<script>`` or inline handler never runs.

The build is small, so its files are held in memory; a rebuild (``make dev`` rebuilds on
change) is noticed by ``index.html``'s modification time and the files are read again. The build
writes a brotli (``.br``) and a gzip (``.gz``) variant beside each text file
(``frontend/vite.config.ts``); the variant the request's ``Accept-Encoding`` allows is sent, with
``Vary: Accept-Encoding``, and no compression happens here.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import Send

from gateway.compression import accepted_codings
from gateway.errors import GatewayError

METHODS = frozenset(("GET", "HEAD"))
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
# The app is one bundled script and one stylesheet, fetched from this origin; React sets
# styles through the CSSOM, which CSP allows. The compose frontend image (frontend/nginx.conf)
# sends the same value; tests/test_compose_packaging.py checks they agree.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; img-src 'self' data:"
)
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii"))
_RECHECK_SECONDS = 1.0
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
    ".woff2": "font/woff2",
}


# Preferred first; the build's file suffix for each.
ENCODINGS = ((b"br", ".br"), (b"gzip", ".gz"))
_VARY = (b"vary", b"Accept-Encoding")


@dataclass(frozen=True, slots=True)
class _File:
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    etag: bytes
    # Content-coding -> the same file encoded so (built beside it), with its own ETag.
    encoded: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode("ascii") + b'"'


def _load(path: Path, cache: bytes) -> _File:
    body = path.read_bytes()
    kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    encoded: dict[bytes, tuple[bytes, bytes]] = {}
    for coding, suffix in ENCODINGS:
        variant_path = path.with_name(path.name + suffix)
        if variant_path.is_file():
            variant = variant_path.read_bytes()
            encoded[coding] = (variant, _etag(variant))
    headers: tuple[tuple[bytes, bytes], ...] = (
        (b"content-type", (kind or "application/octet-stream").encode("latin-1")),
        (b"cache-control", cache),
        _CSP,
    )
    if encoded:
        headers += (_VARY,)
    return _File(body, headers, _etag(body), encoded)


class SpaFiles:
    """The files of one SPA build, served from memory."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()
        self.index_path = self.dist / "index.html"
        if not self.index_path.is_file():
            raise ValueError(f"FRONTEND_DIST {dist} has no index.html (run npm run build)")
        self._files: dict[str, _File] = {}
        self._index: _File | None = None
        self._index_mtime = -1
        self._checked = 0.0
        self._reload()

    def _reload(self) -> None:
        files: dict[str, _File] = {}
        for root, _dirs, names in os.walk(self.dist):
            for name in names:
                path = Path(root, name)
                if path.suffix in (".br", ".gz") and path.with_suffix("").is_file():
                    continue  # a variant, served in place of the file beside it
                url = "/" + path.relative_to(self.dist).as_posix()
                cache = IMMUTABLE if url.startswith("/assets/") else NO_CACHE
                files[url] = _load(path, cache)
        self._index_mtime = self.index_path.stat().st_mtime_ns
        self._index = files["/index.html"]
        self._files = files

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < _RECHECK_SECONDS:
            return
        self._checked = now
        try:
            if self.index_path.stat().st_mtime_ns != self._index_mtime:
                self._reload()
        except (OSError, KeyError):  # mid-rebuild: keep serving what was loaded
            pass

    @staticmethod
    def handles(method: str, path: str) -> bool:
        return method in METHODS and not (path == "/api" or path.startswith("/api/"))

    def lookup(self, path: str) -> _File:
        self._maybe_reload()
        found = self._files.get(path)
        if found is not None:
            return found
        if path.startswith("/assets/"):
            # A stale hashed asset (an old build's) is a real 404, not the app's HTML.
            raise GatewayError(404, f"No file {path}.")
        assert self._index is not None
        return self._index

    async def serve(
        self,
        method: str,
        path: str,
        request_headers: list[tuple[bytes, bytes]],
        send: Send,
        decorate_start: object,
    ) -> int:
        """Send the file for ``path``; returns the status. ``decorate_start`` adds the edge's
        headers to the header list (see ResponseHeaders.decorate)."""
        found = self.lookup(path)
        headers = list(found.headers)
        status = 200
        body, etag = found.body, found.etag
        if found.encoded:
            accepted = accepted_codings(request_headers)
            coding = next((c for c, _ in ENCODINGS if c in accepted and c in found.encoded), None)
            if coding is not None:
                body, etag = found.encoded[coding]
                headers.append((b"content-encoding", coding))
        headers.append((b"etag", etag))
        if_none_match = next((v for n, v in request_headers if n == b"if-none-match"), None)
        if if_none_match is not None and etag in if_none_match:
            status, body = 304, b""
        else:
            headers.append((b"content-length", b"%d" % len(body)))
        headers = decorate_start(headers)  # type: ignore[operator]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return status


def from_setting(value: Path | None) -> SpaFiles | None:
    """The SPA named by the FRONTEND_DIST setting, or None when there is none to serve."""
    if value is None or str(value) in ("", "."):
        return None
    return SpaFiles(value)
