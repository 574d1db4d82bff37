"""Content-coding at the edge: what a request's ``Accept-Encoding`` allows, and gzip for JSON.

A JSON answer over 1 KiB (a product page, an order list) shrinks to a fifth or less with gzip;
on a phone's link that is most of its time. The gateway compresses such an answer when the
client takes gzip, the service did not encode it already, and the whole body is known up front
(its ``Content-Length`` is at most :data:`MAX_BYTES`): streams (Server-Sent Events) pass as they
are. The SPA's files are never compressed here: the build makes their variants (``spa.py``).
"""

from __future__ import annotations

import zlib

MIN_BYTES = 1024
MAX_BYTES = 4 * 1024 * 1024
LEVEL = 5  # zlib's speed/size knee for JSON: ~90 % of level 9's saving at a third of its time
_JSON_TYPES = (b"application/json", b"application/problem+json")


def accepted_codings(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The content-codings ``Accept-Encoding`` allows (``q=0`` refuses one)."""
    codings: set[bytes] = set()
    for name, value in headers:
        if name != b"accept-encoding":
            continue
        for item in value.split(b","):
            coding, _, params = item.strip().partition(b";")
            if not _refused(params):
                codings.add(coding.strip().lower())
    return codings


def _refused(params: bytes) -> bool:
    """``q=0`` among a coding's parameters."""
    for param in params.split(b";"):
        key, _, value = param.strip().partition(b"=")
        if key.strip().lower() == b"q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


def gzip_length(status: int, headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's length when this response is worth gzipping, else None."""
    if status < 200 or status in (204, 206, 304):
        return None
    length: int | None = None
    json = False
    for name, value in headers:
        if name == b"content-encoding":
            return None
        if name == b"content-type":
            json = value.split(b";", 1)[0].strip().lower() in _JSON_TYPES
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    if not json or length is None or not MIN_BYTES <= length <= MAX_BYTES:
        return None
    return length


def gzip(body: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)  # 31: the gzip container
    return compressor.compress(body) + compressor.flush()


def gzipped_headers(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """``headers`` for the gzipped body: its length, ``Content-Encoding``, ``Vary``."""
    out = [(n, v) for n, v in headers if n not in (b"content-length", b"etag")]
    vary = [v for n, v in out if n == b"vary"]
    if not any(b"accept-encoding" in v.lower() for v in vary):
        out.append((b"vary", b"Accept-Encoding"))
    out += [(b"content-encoding", b"gzip"), (b"content-length", b"%d" % length)]
    return out
