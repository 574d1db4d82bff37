"""A JSON parser that enforces DATA_UPLOAD_MAX_MEMORY_SIZE and the platform's nesting limit.

DRF's JSONParser reads the request stream directly and so bypasses Django's body-size check;
this one raises RequestDataTooBig, which the shared error handler answers with a JSON 413. A
body nested deeper than msh_common.jsonbody allows is a 400 ``bad_request`` (ParseError)
instead of a RecursionError (a 500).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from msh_common.jsonbody import JsonTooDeep, check_json_depth


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise RequestDataTooBig(
                    "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."
                )
        else:
            body = stream.read() if stream is not None else b""
        try:
            check_json_depth(body)
        except JsonTooDeep as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:  # not JSON at all (and must not reach a recursive parser)
            raise ParseError(f"JSON parse error - {exc}") from exc
        return super().parse(io.BytesIO(body), media_type, parser_context)
